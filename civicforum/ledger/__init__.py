"""Pure transparency-log core: entries, Merkle proofs, signed notes, checkpoints, exports.

Standard library plus ``cryptography`` only; no Flask, SQLAlchemy or network. The storage layer
(``ballots``/``audit``) builds on these modules; ``docs/ledger.md`` is the contract.
"""
