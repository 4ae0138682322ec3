"""The stored logs' tables and head: what every other logstore module reads.

Every function takes the caller's session and never commits. On SQLite the write lock is taken
at BEGIN: `civicforum.web.sqlite_lock` begins every unsafe request with `BEGIN IMMEDIATE`, and
`begin_write` does the same for work outside a request (CLI, second transactions); a deferred
SQLite transaction that read first could not wait for the lock (SQLITE_BUSY_SNAPSHOT).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from flask_babel import lazy_gettext as _
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from civicforum.db import real_session
from civicforum.ledger import merkle
from civicforum.ledger.entry import LOGS, decode_entry, encode_entry
from civicforum.logstore.errors import LedgerCorruptError, UnknownLogError
from civicforum.logstore.models import (
    LedgerCheckpoint,
    LedgerCosignature,
    LedgerEntry,
    LedgerHead,
    LedgerNode,
    LedgerPending,
)

HEADS = LedgerHead.__table__
ENTRIES = LedgerEntry.__table__
NODES = LedgerNode.__table__
CHECKPOINTS = LedgerCheckpoint.__table__
COSIGNATURES = LedgerCosignature.__table__
PENDING = LedgerPending.__table__
HASH = merkle.HASH_SIZE


class CheckpointInfo(NamedTuple):
    """A stored signed checkpoint: the note (log signature only), its size and root."""

    note: str
    size: int
    root: bytes


def check_log(log: str) -> str:
    if log not in LOGS:
        raise UnknownLogError(_("There is no such log."))
    return log


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def begin_write(session: Session) -> None:
    # SQLite: a transaction that starts here starts as a writer (BEGIN IMMEDIATE), so it
    # queues on busy_timeout instead of failing with SQLITE_BUSY when it first writes.
    # Inside a request, civicforum.web.sqlite_lock has already done this for unsafe methods.
    if dialect(session) == "sqlite" and not real_session(session).in_transaction():
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def insert_ignore(session: Session, table: Any, key: list[str]) -> Any:
    """INSERT ... ON CONFLICT (key) DO NOTHING on both backends."""
    flavour = postgresql if dialect(session) == "postgresql" else sqlite
    return flavour.insert(table).on_conflict_do_nothing(index_elements=key)


def frontier_of(size: int, frontier: bytes) -> merkle.CompactRange:
    """The compact range cached in a head row (32-byte hashes, largest subtree first)."""
    try:
        return merkle.CompactRange(
            size, [frontier[i : i + HASH] for i in range(0, len(frontier), HASH)]
        )
    except ValueError as exc:
        raise LedgerCorruptError(_("The stored log head is inconsistent.")) from exc


def head(session: Session, log: str, *, lock: bool = False) -> tuple[int, bytes]:
    """(size, frontier) of a log's head, optionally locked until the transaction ends."""
    query = select(HEADS.c.size, HEADS.c.frontier).where(HEADS.c.log == log)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).one_or_none()
    if row is None:
        # The migration creates both heads; this only covers a schema built without it.
        session.execute(
            insert_ignore(session, HEADS, ["log"]).values(log=log, size=0, frontier=b"")
        )
        row = session.execute(query).one()
    return int(row.size), bytes(row.frontier)


def log_size(session: Session, *, log: str) -> int:
    """The number of committed entries in `log` (visible to this transaction)."""
    return head(session, check_log(log))[0]


def encode(entry: Mapping[str, Any] | bytes, log: str) -> tuple[bytes, dict[str, Any]]:
    """Canonical bytes and decoded value of an entry given as a dict or as leaf bytes."""
    if isinstance(entry, bytes):
        return entry, decode_entry(entry, log)
    data = encode_entry(entry, log)
    return data, decode_entry(data, log)
