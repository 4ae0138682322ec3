"""PostgreSQL's side of the sequencer: the statements every cast runs, on the driver.

A cast runs two or three of these, and a batch runs them while it holds the log head, so
they go straight to psycopg (prepared on the server after a few uses) on the session's own
connection, inside the caller's transaction. SQLAlchemy's statement layer would cost more
CPU than PostgreSQL's own work for them, on cores the web workers and the database share.
(They also skip SQLAlchemy's cursor events: no listener watches the ledger tables.)
Only `services` calls this module; it never commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from civicforum.db import driver_connection, driver_rows


class Taken(NamedTuple):
    """The head, locked by this transaction, and the committed pending bundles it took."""

    size: int
    frontier: bytes
    bundles: list[bytes]


def _one(session: Session | Connection, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    rows = driver_rows(driver_connection(session), sql, params)
    return rows[0] if rows else None


# Try the head lock and, only if it was free, take every committed pending row; if it was
# busy, queue `bundle` (when given) as a pending row instead: one round trip either way.
# The uncorrelated EXISTS runs (and locks the head) once, before the DELETE or INSERT scans.
# No wait can happen inside (SKIP LOCKED), so the snapshot is current: rows committed after
# the statement began wait for the next batch, and no row is taken twice (only a head lock
# holder deletes pending rows).
_TRY_TAKE = """
WITH head AS (
    SELECT size, frontier FROM ledger_heads WHERE log = %(log)s FOR UPDATE SKIP LOCKED
), taken AS (
    DELETE FROM ledger_pending
    WHERE log = %(log)s AND EXISTS (SELECT 1 FROM head)
    RETURNING id, data
), queued AS (
    INSERT INTO ledger_pending (log, data)
    SELECT %(log)s, CAST(%(bundle)s AS bytea)
    WHERE CAST(%(bundle)s AS bytea) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM head)
    RETURNING id
)
SELECT (SELECT size FROM head), (SELECT frontier FROM head),
       (SELECT array_agg(taken.data ORDER BY taken.id) FROM taken),
       (SELECT id FROM queued),
       (SELECT set_config('synchronous_commit', 'off', true) FROM queued)
"""


def try_take(session: Session, log: str, bundle: bytes | None = None) -> Taken | int | None:
    """The locked head and swept bundles; else the id of the pending row `bundle` went to;
    else (no bundle and the head busy) None.

    A transaction that queued commits without waiting for its WAL flush (SET LOCAL
    synchronous_commit off, in the same statement): its caller reports nothing to the voter
    before `await_sequenced` saw the row appended by a batch, whose own commit waits for the
    flush and so makes everything before it in the WAL durable, this vote included
    (docs/ledger.md §2.2)."""
    row = _one(session, _TRY_TAKE, {"log": log, "bundle": bundle})
    assert row is not None
    size, frontier, bundles, queued, _async = row
    if size is None:
        return None if queued is None else int(queued)
    return Taken(int(size), bytes(frontier), [bytes(b) for b in bundles or []])


# The same, waiting for the head. The wait happens inside the statement, so its snapshot
# predates the wait: pending rows committed meanwhile are left for the next batch, and rows
# the previous batch deleted meanwhile are skipped by the DELETE (it re-checks each row it
# finds changed by a committed transaction), so none is taken twice.
_TAKE = """
WITH head AS (
    SELECT size, frontier FROM ledger_heads WHERE log = %(log)s FOR UPDATE
), taken AS (
    DELETE FROM ledger_pending
    WHERE log = %(log)s AND EXISTS (SELECT 1 FROM head)
    RETURNING id, data
)
SELECT (SELECT size FROM head), (SELECT frontier FROM head),
       (SELECT array_agg(taken.data ORDER BY taken.id) FROM taken)
"""


def take(session: Session, log: str) -> Taken:
    """Wait for the head, lock it and take every committed pending bundle."""
    row = _one(session, _TAKE, {"log": log})
    assert row is not None and row[0] is not None, f"no head row for log {log!r}"
    return Taken(int(row[0]), bytes(row[1]), [bytes(b) for b in row[2] or []])


# The head lock is held from the try-take until the caller commits, so every round trip in
# between costs every waiting voter: the entries, their new nodes, the checkpoint and the
# head update go in one statement (data-modifying CTEs).
_APPEND = """
WITH entries AS (
    INSERT INTO ledger_entries (log, idx, data, leaf_hash)
    SELECT %(log)s, t.idx, t.data, t.leaf
    FROM unnest(CAST(%(eidxs)s AS bigint[]), CAST(%(datas)s AS bytea[]),
                CAST(%(leaves)s AS bytea[])) AS t(idx, data, leaf)
), nodes AS (
    INSERT INTO ledger_nodes (log, level, idx, hash)
    SELECT %(log)s, t.level, t.idx, t.hash
    FROM unnest(CAST(%(levels)s AS integer[]), CAST(%(idxs)s AS bigint[]),
                CAST(%(hashes)s AS bytea[])) AS t(level, idx, hash)
), checkpoint AS (
    INSERT INTO ledger_checkpoints (log, size, root, note, signed_at)
    SELECT %(log)s, %(size)s, CAST(%(root)s AS bytea), CAST(%(note)s AS text), %(signed_at)s
    WHERE CAST(%(sign)s AS boolean)
    ON CONFLICT (log, size) DO NOTHING
)
UPDATE ledger_heads SET size = %(size)s, frontier = %(frontier)s WHERE log = %(log)s
"""


def append(
    session: Session,
    *,
    log: str,
    first: int,
    entries: list[bytes],
    leaves: list[bytes],
    nodes: list[tuple[int, int, bytes]],  # (level, index, hash) above level 0
    frontier: bytes,
    checkpoint: tuple[bytes, str] | None,  # (root, signed note)
    signed_at: datetime,
) -> None:
    size = first + len(entries)
    _one(
        session,
        _APPEND,
        {
            "log": log,
            "eidxs": list(range(first, size)),
            "datas": entries,
            "leaves": leaves,
            "levels": [n[0] for n in nodes],
            "idxs": [n[1] for n in nodes],
            "hashes": [n[2] for n in nodes],
            "size": size,
            "frontier": frontier,
            "sign": checkpoint is not None,
            "root": checkpoint[0] if checkpoint else None,
            "note": checkpoint[1] if checkpoint else None,
            "signed_at": signed_at,
        },
    )


def wait_for_batch(session: Session | Connection, log: str) -> None:
    """Wait until the transaction holding the head (a running batch) ends. Autocommit only:
    the shared lock must end with the statement, or the next batch could not start."""
    _one(session, "SELECT 1 FROM ledger_heads WHERE log = %(log)s FOR SHARE", {"log": log})


def still_pending(session: Session | Connection, pending_id: int, *, wait: bool) -> bool:
    """Whether pending row `pending_id` is still queued. `wait` (autocommit only): if a batch
    is taking the row right now, wait for that batch to end (then the row is gone)."""
    lock = " FOR SHARE" if wait else ""
    sql = f"SELECT 1 FROM ledger_pending WHERE id = %(id)s{lock}"
    return _one(session, sql, {"id": pending_id}) is not None
