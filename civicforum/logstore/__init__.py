"""logstore: the database-backed transparency logs (votes and civic record), their
checkpoints, receipts, proofs, tiles, witnesses, exports and the auditor dashboard."""

from __future__ import annotations

from flask import Flask

from civicforum.logstore import keys, models  # noqa: F401  (models: append-only guards)


def init_app(app: Flask) -> None:
    keys.init_app(app)
