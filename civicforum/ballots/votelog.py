"""The ballots feature's only door into the vote log (civicforum.logstore).

Entries are built and schema-checked by the pure ``civicforum.ledger.entry`` constructors and
handed to ``logstore.services.append_entry``, which appends them in the caller's transaction,
serialised with every other append.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from civicforum.ledger import entry as ledger_entry

LOG = ledger_entry.VOTE_LOG


@dataclass(frozen=True, slots=True)
class Seed:
    """A signed checkpoint of the vote log: tree size and 32-byte root (a lot seed)."""

    size: int
    root: bytes


@dataclass(frozen=True, slots=True)
class Appended:
    index: int
    leaf_hash: bytes
    checkpoint: Seed | None  # set for ballot.closed: the checkpoint signed right after it


def day_of(moment: datetime) -> str:
    """Entries carry only the UTC day (docs/ledger.md §1.2)."""
    return moment.date().isoformat()


def append(session: Session, leaf: bytes) -> Appended:
    """Append canonical entry bytes to the vote log in the caller's transaction."""
    from civicforum.logstore import services as logstore

    appended = logstore.append_entry(session, log=LOG, entry=leaf)
    cp = appended.checkpoint
    seed = None if cp is None else Seed(size=cp.size, root=bytes(cp.root))
    return Appended(index=appended.index, leaf_hash=appended.leaf_hash, checkpoint=seed)


def receipt(session: Session, *, index: int) -> str:
    """The ``.tlog-proof`` text for the committed entry at ``index``.

    May sign a checkpoint covering the entry: the caller commits afterwards.
    """
    from civicforum.logstore import services as logstore

    data = logstore.entry_data(session, log=LOG, index=index)
    return logstore.receipt_for(session, log=LOG, index=index, extra=data)
