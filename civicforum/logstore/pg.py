"""PostgreSQL's side of the sequencer: the statements every cast and batch run, on the driver.

They go straight to psycopg (prepared on the server after a few uses) on the session's own
connection, inside the caller's transaction: SQLAlchemy's statement layer would cost more CPU
than PostgreSQL's own work for them, on cores the web workers and the database share. (They
also skip SQLAlchemy's cursor events: no listener watches the ledger tables.) Only
`sequencer` calls this module; it never commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from civicforum.db import driver_connection, driver_rows


class Taken(NamedTuple):
    """The head, locked by this transaction, and the pending bundles it took from the pool."""

    size: int
    frontier: bytes
    bundles: list[bytes]


class PoolGroup(NamedTuple):
    group: str
    count: int
    oldest: datetime | None  # None: rows queued before pools kept times (an upgrade)


def _rows(session: Session, sql: str, params: dict[str, Any]) -> list[Any]:
    return driver_rows(driver_connection(session), sql, params)


# Queue one bundle and read the pool's groups in the same round trip. The INSERT's row is not
# visible to the SELECTs of its own statement: the caller counts it in itself.
_QUEUE = """
WITH queued AS (
    INSERT INTO ledger_pending (log, grp, queued_at, data)
    VALUES (%(log)s, %(grp)s, %(at)s, %(bundle)s)
    RETURNING id
)
SELECT (SELECT id FROM queued), NULL, NULL, NULL
UNION ALL
SELECT NULL, grp, count(*), min(queued_at) FROM ledger_pending
WHERE log = %(log)s GROUP BY grp
"""


def queue(
    session: Session, *, log: str, group: str, at: datetime, bundle: bytes
) -> tuple[int, list[PoolGroup]]:
    """Queue `bundle` in the pool; its row id and the pool's groups as they were before it."""
    rows = _rows(session, _QUEUE, {"log": log, "grp": group, "at": at, "bundle": bundle})
    pending_id = next(int(r[0]) for r in rows if r[0] is not None)
    groups = [PoolGroup(str(r[1]), int(r[2]), r[3]) for r in rows if r[0] is None]
    return pending_id, groups


# Take the head lock and the pooled bundles of the given groups, in one statement. With
# `SKIP LOCKED` (a cast that found a batch due) nothing waits: a busy head means a batch is
# running, and this caller leaves the pool to it or to the next. Without it (closing, the
# scheduled job) the wait happens inside the statement: once the running batch commits, the
# head row is re-read at its new size, and the DELETE skips the rows that batch took.
_TAKE = """
WITH head AS (
    SELECT size, frontier FROM ledger_heads WHERE log = %(log)s FOR UPDATE{skip}
), taken AS (
    DELETE FROM ledger_pending
    WHERE log = %(log)s AND grp = ANY(%(groups)s) AND EXISTS (SELECT 1 FROM head)
    RETURNING data
)
SELECT (SELECT size FROM head), (SELECT frontier FROM head),
       (SELECT array_agg(taken.data) FROM taken)
"""
_TRY_TAKE = _TAKE.format(skip=" SKIP LOCKED")
_WAIT_TAKE = _TAKE.format(skip="")


def take(session: Session, log: str, groups: list[str], *, wait: bool) -> Taken | None:
    """Lock the head and take the bundles of `groups`; None if `wait` is False and another
    transaction holds the head."""
    rows = _rows(session, _WAIT_TAKE if wait else _TRY_TAKE, {"log": log, "groups": groups})
    size, frontier, bundles = rows[0]
    if size is None:
        assert not wait, f"no head row for log {log!r}"
        return None
    return Taken(int(size), bytes(frontier), [bytes(b) for b in bundles or []])


def pool(session: Session, log: str) -> list[PoolGroup]:
    rows = _rows(
        session,
        "SELECT grp, count(*), min(queued_at) FROM ledger_pending WHERE log = %(log)s GROUP BY grp",
        {"log": log},
    )
    return [PoolGroup(str(g), int(n), at) for g, n, at in rows]


# The head lock is held from the take until the caller commits, so every round trip in
# between costs every waiting writer: the entries, their new nodes, the checkpoint and the
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
    INSERT INTO ledger_checkpoints (log, size, root, note)
    SELECT %(log)s, %(size)s, CAST(%(root)s AS bytea), CAST(%(note)s AS text)
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
) -> None:
    size = first + len(entries)
    _rows(
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
        },
    )
