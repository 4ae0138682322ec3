"""Appending to the stored logs, and the mixing pool that keeps votes from being timed.

Two ways in (docs/ledger.md §2.2):

* `append_entry` waits for the log head and appends in the caller's transaction; the head
  lock is held until the caller commits. For entries whose position matters (ballot opened,
  closed, result) and for the civic record.
* `submit_entries` (ballot casts) never waits and never appends in arrival order: the entry is
  queued in the **pool** (a pending row, committed with the vote) under its **mix group** (its
  ballot). A group is sequenced as one batch, in a random order, once it holds at least
  `LEDGER_MIX_MIN` entries, once its oldest entry has waited `LEDGER_MIX_MAX_WAIT`, or when an
  `append_entry` sweeps it (its ballot closes). Whoever finds a group due in its own transaction
  (a cast, the scheduled `civicforum ledger sequence`) becomes the sequencer if the head is free.

Why batches in a random order: the order of a log's entries is public, and without mixing the
k-th ballot in the log is the k-th cast to arrive, which anyone holding a timestamp of the
voters' activity (session records, access logs, a database copy) can line up with them. In a
batch, every entry gets the same checkpoint and the same transaction, and its position is drawn
with `secrets`: the log says which batch a ballot went into, never which voter of that batch
cast it. A batch is one statement and one commit however large, and signs one checkpoint.

Safety: every path locks the head row (FOR UPDATE, or SKIP LOCKED to try), so indices are dense
and the log never forks; pooled rows are only taken by the head holder, and only once they are
committed (or are the holder's own); a closing holds its ballot's row exclusively, so every cast
of that ballot has committed and its group is swept before `ballot.closed`. Pending rows carry
the entry bytes, the group and a minute-rounded queueing time (for the maximum wait), never a
voter, and are deleted in the batch that appends them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from civicforum.db import utcnow
from civicforum.ledger import merkle
from civicforum.ledger.tiles import TileError, entry_bundle, parse_entry_bundle
from civicforum.logstore import checkpoints, pg
from civicforum.logstore.errors import LedgerCorruptError
from civicforum.logstore.storage import (
    ENTRIES,
    HEADS,
    NODES,
    PENDING,
    CheckpointInfo,
    begin_write,
    check_log,
    dialect,
    encode,
    frontier_of,
    head,
)


@dataclass(frozen=True, slots=True)
class MixPolicy:
    """When a pooled group is due: enough entries to hide in, or waited long enough."""

    min_batch: int = 16
    max_wait: timedelta = timedelta(minutes=10)

    @classmethod
    def configured(cls) -> MixPolicy:
        config = current_app.config
        return cls(
            min_batch=max(1, int(config.get("LEDGER_MIX_MIN", cls.min_batch))),
            max_wait=timedelta(seconds=float(config.get("LEDGER_MIX_MAX_WAIT", 600))),
        )

    def due(self, groups: Iterable[pg.PoolGroup], now: datetime) -> list[str]:
        # A row queued before pools had times (an upgrade) is overdue: it waited long enough.
        return sorted(
            g.group
            for g in groups
            if g.count >= self.min_batch or g.oldest is None or now - g.oldest >= self.max_wait
        )


@dataclass(frozen=True, slots=True)
class AppendedEntry:
    """Where an entry landed; `checkpoint` is set when the append signed one."""

    log: str
    index: int
    leaf_hash: bytes
    data: bytes
    checkpoint: CheckpointInfo | None = None


@dataclass(frozen=True, slots=True)
class Submitted:
    """A pooled submission: its pending row, and whether this transaction sequenced a batch
    (which may or may not have held this very entry)."""

    pending_id: int
    batch: int  # entries this transaction appended (0: it sequenced nothing)


def _shuffle(bundles: list[bytes]) -> None:
    """Put a batch in a random order (module-level so a test can make it reproducible)."""
    secrets.SystemRandom().shuffle(bundles)


def queued_minute(now: datetime) -> datetime:
    """The pool keeps when a row was queued to the minute: enough for the maximum wait."""
    return now.replace(second=0, microsecond=0)


# --------------------------------------------------------------------------- the two ways in


def append_entry(
    session: Session,
    *,
    log: str,
    entry: Mapping[str, Any] | bytes,
    sweep: Sequence[str] = (),
    now: datetime | None = None,
) -> AppendedEntry:
    """Append one entry (a dict, or canonical bytes from `ledger.entry`) in the caller's
    transaction; the caller commits. Raises `ledger.entry.EntryError` on a schema violation.

    First appends, as one shuffled batch, the pooled entries of the groups in `sweep` (a
    closing ballot's) and of every group that is due. The head row stays locked until the
    caller's transaction ends: call this late in the transaction and commit soon. A
    `ballot.closed` entry, or one appended after a batch, gets a checkpoint signed right after
    it (for `ballot.closed`: the lot seed, docs/ledger.md §1.3 rule 5), returned as
    `.checkpoint`.
    """
    return append_entries(session, log=log, entries=[entry], sweep=sweep, now=now)[0]


def append_entries(
    session: Session,
    *,
    log: str,
    entries: Sequence[Mapping[str, Any] | bytes],
    sweep: Sequence[str] = (),
    now: datetime | None = None,
) -> list[AppendedEntry]:
    """`append_entry` for several entries kept together, in order (one statement)."""
    check_log(log)
    encoded = [encode(entry, log) for entry in entries]
    begin_write(session)
    now = now or utcnow()
    groups = sorted(set(sweep) | set(MixPolicy.configured().due(_pool(session, log), now)))
    taken = _take(session, log, groups, wait=True)
    assert taken is not None
    closed = any(value["type"] == "ballot.closed" for _data, value in encoded)
    datas = [data for data, _value in encoded]
    indices, checkpoint, _count = _sequence(
        session, log, taken, datas, sign=closed or bool(taken[2])
    )
    return [
        AppendedEntry(log, index, merkle.leaf_hash(data), data, checkpoint)
        for index, data in zip(indices, datas, strict=True)
    ]


def submit_entries(
    session: Session,
    *,
    log: str,
    entries: Sequence[Mapping[str, Any] | bytes],
    group: str,
    now: datetime | None = None,
) -> Submitted:
    """Queue `entries` (kept together) in the pool under mix `group`, in the caller's
    transaction, which commits; never waits for the head lock. If that makes a group due and
    the head is free, this transaction also sequences the due groups as a batch.

    Not for `ballot.closed`, whose position and checkpoint are rules (use `append_entry`).
    """
    check_log(log)
    datas: list[bytes] = []
    for item in entries:
        data, value = encode(item, log)
        if value["type"] == "ballot.closed":
            raise ValueError("ballot.closed is appended with append_entry (docs/ledger.md §1.3)")
        datas.append(data)
    if not datas:
        raise ValueError("nothing to submit")
    begin_write(session)
    now = now or utcnow()
    bundle = entry_bundle(datas)
    at = queued_minute(now)
    if dialect(session) == "postgresql":  # one round trip: queue and read the pool
        pending_id, before = pg.queue(session, log=log, group=group, at=at, bundle=bundle)
        pool = _with_own(before, group, at)
    else:
        pending_id = session.execute(
            insert(PENDING)
            .values(log=log, grp=group, queued_at=at, data=bundle)
            .returning(PENDING.c.id)
        ).scalar_one()
        pool = _pool(session, log)
    due = MixPolicy.configured().due(pool, now)
    if not due:
        return Submitted(pending_id, 0)
    taken = _take(session, log, due, wait=False)
    if taken is None:  # a batch is running; it or the next cast takes the due groups
        return Submitted(pending_id, 0)
    _indices, _checkpoint, count = _sequence(session, log, taken, [], sign=True)
    return Submitted(pending_id, count)


def sequence_due(
    session: Session,
    *,
    log: str,
    everything: bool = False,
    sweep: Sequence[str] = (),
    now: datetime | None = None,
) -> int:
    """Append the pool's due groups and the groups in `sweep` (every group with `everything`)
    as one batch, waiting for the head, and sign a checkpoint covering it; returns how many
    entries were appended. The caller commits. What `civicforum ledger sequence` runs on a
    schedule, and what a closing ballot runs first (`sweep`: its own group)."""
    check_log(log)
    begin_write(session)
    groups = _pool(session, log)
    now = now or utcnow()
    policy = MixPolicy.configured()
    due = {g.group for g in groups} if everything else set(policy.due(groups, now))
    names = sorted(due | set(sweep))
    if not names:
        return 0
    taken = _take(session, log, names, wait=True)
    assert taken is not None
    _indices, _checkpoint, count = _sequence(session, log, taken, [], sign=True)
    return count


def pool_sizes(session: Session, *, log: str) -> dict[str, int]:
    """Pooled entries per mix group (0 groups when every committed cast is in the log)."""
    return {g.group: g.count for g in _pool(session, log)}


def pending_count(session: Session, *, log: str) -> int:
    """How many pooled rows `log` has."""
    return sum(pool_sizes(session, log=log).values())


def is_pooled(session: Session, *, pending_id: int) -> bool:
    return session.scalar(select(PENDING.c.id).where(PENDING.c.id == pending_id)) is not None


# --------------------------------------------------------------------------- internals


def _with_own(before: list[pg.PoolGroup], group: str, at: datetime) -> list[pg.PoolGroup]:
    out = [g for g in before if g.group != group]
    mine = next((g for g in before if g.group == group), None)
    if mine is None:
        out.append(pg.PoolGroup(group, 1, at))
    else:
        oldest = at if mine.oldest is None else min(mine.oldest, at)
        out.append(pg.PoolGroup(group, mine.count + 1, oldest))
    return out


def _pool(session: Session, log: str) -> list[pg.PoolGroup]:
    if dialect(session) == "postgresql":
        return pg.pool(session, log)
    rows = session.execute(
        select(PENDING.c.grp, func.count(), func.min(PENDING.c.queued_at))
        .where(PENDING.c.log == log)
        .group_by(PENDING.c.grp)
    )
    return [pg.PoolGroup(str(g), int(n), _aware(at)) for g, n, at in rows]


def _aware(value: Any) -> datetime | None:
    # min() over SQLite's naive text loses the column type's processing.
    from datetime import UTC

    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _take(
    session: Session, log: str, groups: list[str], *, wait: bool
) -> tuple[int, bytes, list[bytes]] | None:
    """(size, frontier, the groups' pooled entries in a random order) with the head locked;
    None when not waiting and the head is busy."""
    if dialect(session) == "postgresql":
        taken = pg.take(session, log, groups, wait=wait)
        if taken is None:
            return None
        size, stored, bundles = taken
    else:  # SQLite: BEGIN IMMEDIATE made us the only writer, so the head is ours
        size, stored = head(session, log, lock=True)
        bundles = []
        if groups:
            bundles = [
                bytes(b)
                for b in session.scalars(
                    delete(PENDING)
                    .where(PENDING.c.log == log, PENDING.c.grp.in_(groups))
                    .returning(PENDING.c.data)
                )
            ]
    _shuffle(bundles)
    return size, stored, _unbundle(bundles)


def _unbundle(bundles: Iterable[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for bundle in bundles:
        try:
            out.extend(parse_entry_bundle(bytes(bundle)))
        except TileError as exc:
            raise LedgerCorruptError(_("A pending entry is malformed.")) from exc
    return out


def _sequence(
    session: Session,
    log: str,
    taken: tuple[int, bytes, list[bytes]],
    own: list[bytes],
    *,
    sign: bool,
) -> tuple[list[int], CheckpointInfo | None, int]:
    """Under the head lock (`taken`: size, stored frontier and the pooled entries taken, already
    shuffled): append them, then `own`; returns the indices of `own`, the checkpoint signed for
    the new size (when `sign` and anything was appended) and how many were appended in all."""
    size, stored, swept = taken
    entries = swept + own
    if not entries:
        return [], None, 0
    frontier = frontier_of(size, stored)
    leaves: list[bytes] = []
    nodes: list[merkle.Node] = []
    for data in entries:
        leaf = merkle.leaf_hash(data)
        leaves.append(leaf)
        nodes.extend(frontier.append(leaf)[1:])  # level 0 is the entry's own leaf_hash
    new_size = size + len(entries)
    checkpoint = checkpoints.signed(log, new_size, frontier.root()) if sign else None
    _write_batch(session, log, size, entries, leaves, nodes, b"".join(frontier.hashes), checkpoint)
    first = new_size - len(own)
    return list(range(first, new_size)), checkpoint, len(entries)


def _write_batch(
    session: Session,
    log: str,
    first: int,
    entries: list[bytes],
    leaves: list[bytes],
    nodes: list[merkle.Node],  # above level 0: level 0 is the entry's own leaf_hash
    frontier: bytes,
    checkpoint: CheckpointInfo | None,
) -> None:
    if dialect(session) == "postgresql":
        pg.append(
            session,
            log=log,
            first=first,
            entries=entries,
            leaves=leaves,
            nodes=[(n.level, n.index, n.hash) for n in nodes],
            frontier=frontier,
            checkpoint=None if checkpoint is None else (checkpoint.root, checkpoint.note),
        )
        return
    session.execute(
        insert(ENTRIES),
        [
            {"log": log, "idx": first + i, "data": data, "leaf_hash": leaf}
            for i, (data, leaf) in enumerate(zip(entries, leaves, strict=True))
        ],
    )
    if nodes:
        session.execute(
            insert(NODES),
            [{"log": log, "level": n.level, "idx": n.index, "hash": n.hash} for n in nodes],
        )
    size = first + len(entries)
    session.execute(update(HEADS).where(HEADS.c.log == log).values(size=size, frontier=frontier))
    if checkpoint is not None:
        checkpoints.store(session, log, checkpoint)
