"""The database-backed logs: append, checkpoints, proofs, receipts, tiles, witnesses.

Every function takes the caller's session and never commits. Writes happen in the caller's
transaction, so a vote and its log entry commit or roll back together.

Serialisation (why the log cannot fork): every append locks the log's head row
(`SELECT ... FOR UPDATE`, or `... SKIP LOCKED` to try) before reading the size and frontier,
and the lock is held until the transaction ends. On SQLite the write lock is taken at BEGIN:
`civicforum.web.sqlite_lock` begins every unsafe request with `BEGIN IMMEDIATE`, and
`_begin_write` does the same for work outside a request (CLI, second transactions). A deferred
SQLite transaction that read first could not wait for the lock (SQLITE_BUSY_SNAPSHOT).

Batching (see "append" below and docs/ledger.md §2.2): casts that find the head locked are
committed as pending rows with their vote, and the next lock holder appends all of them in
one transaction, so N votes cost one fsync under the lock instead of N.

Checkpoints: a sequencer batch from `submit_entries`/`sequence_pending` signs one covering
the batch in the same transaction, so a cast's receipt needs no second transaction. Other
signers (`sign_checkpoint`, `receipt_for` for an entry appended without one) read the
committed head, sign its size and root, and insert with ON CONFLICT DO NOTHING — Ed25519 is
deterministic, so two workers signing the same size store the same note. The `ballot.closed`
checkpoint is signed under the lock, inside the closing transaction (docs/ledger.md §1.3
rule 5).

Receipts (docs/ledger.md §4) never name an uncommitted entry: the cast view commits, waits
for its pending entry to be sequenced if it was queued (`await_sequenced`), and the receipt
is then built from stored rows against the batch's checkpoint.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from flask_babel import lazy_gettext as _
from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from civicforum.db import engine_of, real_session, utcnow
from civicforum.ledger import merkle
from civicforum.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    parse_checkpoint_body,
)
from civicforum.ledger.checkpoint import (
    sign_checkpoint as sign_checkpoint_note,
)
from civicforum.ledger.cosignature import CosignatureError, verify_cosignature
from civicforum.ledger.entry import LOGS, VOTE_LOG, decode_entry, encode_entry
from civicforum.ledger.note import (
    SIG_COSIGNATURE_V1,
    NoteError,
    Verifier,
    parse_note,
    parse_verifier_key,
)
from civicforum.ledger.proof_file import TlogProof, format_proof
from civicforum.ledger.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    TileError,
    entry_bundle,
    parse_entry_bundle,
)
from civicforum.logstore import pg
from civicforum.logstore.errors import (
    CheckpointMismatchError,
    InvalidWitnessKeyError,
    LedgerCorruptError,
    NoSuchEntryError,
    ProofRangeError,
    UnknownLogError,
    WitnessError,
)
from civicforum.logstore.keys import current_keys
from civicforum.logstore.models import (
    LedgerCheckpoint,
    LedgerCosignature,
    LedgerEntry,
    LedgerHead,
    LedgerNode,
    LedgerPending,
    LedgerVerification,
    LedgerWitness,
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


@dataclass(frozen=True, slots=True)
class AppendedEntry:
    """Where an entry landed. `checkpoint` is set when the append signed one (ballot.closed)."""

    log: str
    index: int
    leaf_hash: bytes
    data: bytes
    checkpoint: CheckpointInfo | None = None


# --------------------------------------------------------------------------- helpers


def check_log(log: str) -> str:
    if log not in LOGS:
        raise UnknownLogError(_("There is no such log."))
    return log


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _begin_write(session: Session) -> None:
    # SQLite: a transaction that starts here starts as a writer (BEGIN IMMEDIATE), so it
    # queues on busy_timeout instead of failing with SQLITE_BUSY when it first writes.
    # Inside a request, civicforum.web.sqlite_lock has already done this for unsafe methods.
    if _dialect(session) == "sqlite" and not real_session(session).in_transaction():
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def _insert_ignore(session: Session, table: Any, key: list[str]) -> Any:
    """INSERT ... ON CONFLICT (key) DO NOTHING on both backends."""
    dialect = postgresql if _dialect(session) == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=key)


def _split(frontier: bytes) -> list[bytes]:
    return [frontier[i : i + HASH] for i in range(0, len(frontier), HASH)]


def _frontier(size: int, frontier: bytes) -> merkle.CompactRange:
    try:
        return merkle.CompactRange(size, _split(frontier))
    except ValueError as exc:
        raise LedgerCorruptError(_("The stored log head is inconsistent.")) from exc


def _head(session: Session, log: str, *, lock: bool = False) -> tuple[int, bytes]:
    query = select(HEADS.c.size, HEADS.c.frontier).where(HEADS.c.log == log)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).one_or_none()
    if row is None:
        # The migration creates both heads; this only covers a schema built without it.
        session.execute(
            _insert_ignore(session, HEADS, ["log"]).values(log=log, size=0, frontier=b"")
        )
        row = session.execute(query).one()
    return int(row.size), bytes(row.frontier)


def log_size(session: Session, *, log: str) -> int:
    """The number of committed entries in `log` (visible to this transaction)."""
    return _head(session, check_log(log))[0]


def _encode(entry: Mapping[str, Any] | bytes, log: str) -> tuple[bytes, dict[str, Any]]:
    if isinstance(entry, bytes):
        return entry, decode_entry(entry, log)
    data = encode_entry(entry, log)
    return data, decode_entry(data, log)


# --------------------------------------------------------------------------- append
#
# Two ways in, one sequencer (docs/ledger.md §2.2):
#
# * `append_entry` waits for the head lock and appends in the caller's transaction; the lock
#   is held until the caller commits. For rare entries whose position matters (ballot opened,
#   closed, result) and for the civic log.
# * `submit_entries` (ballot casts) never waits for the lock. If the head is free it takes
#   it and the caller's transaction becomes the sequencer; if another transaction holds it,
#   the entries are written as ONE pending row (a bundle: a vote change's superseded + cast
#   stay adjacent) in the caller's transaction, so the vote and its entry still commit or
#   roll back together. After committing, the caller calls `await_sequenced`.
#
# Whoever holds the head lock first appends every COMMITTED pending row, in id order, then
# its own entries, in one transaction and one statement: one fsync for the whole batch
# instead of one per vote, with the lock held through that single commit. Pending rows
# committed by a request that died before waiting are appended by the next holder (any
# cast, a close, `civicforum ledger sequence`/`sign`/`export`/`verify`, a receipt download).
# Why this is safe:
# * Order: a pending row is only ever taken after its transaction committed (READ COMMITTED,
#   a fresh statement after the lock), so anything it depends on (the cast a later vote
#   change supersedes, the ballot.opened before any cast) was committed earlier and is
#   sequenced earlier or in the same batch, ahead of it.
# * Closing: close_ballot holds the ballot row exclusively (every cast holds it shared), so
#   all of that ballot's casts have committed; its `append_entry` sweeps their pending rows
#   before ballot.closed, and later casts see the ballot closed.
# * Forks: every path still locks the head row (FOR UPDATE, or FOR UPDATE SKIP LOCKED for
#   the try), so older code running during a rolling deploy serialises with this code.

SequencedHook = Callable[[Session, list[tuple[int, bytes]]], None]
_HOOKS: dict[str, list[SequencedHook]] = {}


def on_sequenced(log: str, hook: SequencedHook) -> None:
    """Call `hook(session, [(index, data), ...])` for the committed pending entries that a
    transaction appends to `log` (never for the appender's own entries: their indices are
    returned to it).

    Features use it to store the index of an entry they committed as pending (e.g. a cast's
    log index); the hook runs under the head lock, so it must be a few statements at most.
    """
    hooks = _HOOKS.setdefault(check_log(log), [])
    if hook not in hooks:
        hooks.append(hook)


@dataclass(frozen=True, slots=True)
class Submitted:
    """What `submit_entries` did: sequenced at once (`indices`, `checkpoint` covering them)
    or queued as pending row `pending_id` (pass it to `await_sequenced` after committing)."""

    log: str
    indices: tuple[int, ...] | None
    pending_id: int | None
    checkpoint: CheckpointInfo | None = None


def append_entry(
    session: Session,
    *,
    log: str,
    entry: Mapping[str, Any] | bytes,
    durable_after_receipt: bool = False,
) -> AppendedEntry:
    """Append one entry (a dict, or canonical bytes from `ledger.entry`) in the caller's
    transaction, after every committed pending entry; the caller commits. Raises
    `ledger.entry.EntryError` on a schema violation.

    The head row stays locked until the caller's transaction ends: call this as late as
    possible in the transaction (after the vote's own checks and writes) and commit soon.
    Appending a `ballot.closed` entry also signs the checkpoint right after it (the lot seed,
    docs/ledger.md §1.3 rule 5), returned as `.checkpoint`.

    `durable_after_receipt=True` (PostgreSQL; opt-in): the caller's transaction commits
    without waiting for its WAL flush, so the head lock is released before the fsync instead
    of after it (early lock release; see bench/ledger_http for what it buys). The
    caller MUST then get `receipt_for` (or `ensure_durable`) for the entry before telling
    anyone the entry is recorded: that step commits synchronously a checkpoint covering the
    entry, which PostgreSQL cannot make durable or visible without everything before it in
    the WAL, the entry included. A database crash before that step may lose the entry
    together with the rest of its transaction (never half of it); a killed web worker loses
    nothing. Not for `ballot.closed` (its checkpoint is the lot seed: always durable).
    """
    check_log(log)
    data, value = _encode(entry, log)
    closed = value["type"] == "ballot.closed"
    _begin_write(session)
    if durable_after_receipt and not closed and _dialect(session) == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        _mark_async(session)
    indices, checkpoint, _count = _sequence(
        session, log, _lock_and_take(session, log), [data], sign=closed
    )
    return AppendedEntry(log, indices[0], merkle.leaf_hash(data), data, checkpoint)


def submit_entries(
    session: Session, *, log: str, entries: Sequence[Mapping[str, Any] | bytes]
) -> Submitted:
    """Append `entries` (contiguously) if the log head is free, else queue them as pending;
    either way in the caller's transaction, which commits. Never waits for the head lock.

    Sequenced at once: a checkpoint covering them is signed in the same transaction (the
    receipt needs no second one). Pending: after committing, call `await_sequenced`.
    Not for `ballot.closed`, whose position and checkpoint are rules (use `append_entry`).
    """
    check_log(log)
    datas: list[bytes] = []
    for item in entries:
        data, value = _encode(item, log)
        if value["type"] == "ballot.closed":
            raise ValueError("ballot.closed is appended with append_entry (docs/ledger.md §1.3)")
        datas.append(data)
    if not datas:
        raise ValueError("nothing to submit")
    _begin_write(session)
    taken = _try_lock_and_take(session, log, entry_bundle(datas))
    if isinstance(taken, int):  # a sequencer is running: it or the next one appends these
        if _dialect(session) == "postgresql":
            _mark_async(session)  # pg.try_take turned synchronous_commit off for this commit
        return Submitted(log, None, taken)
    assert taken is not None  # given a bundle, a busy head queues it
    indices, checkpoint, _count = _sequence(session, log, taken, datas, sign=True)
    return Submitted(log, tuple(indices), None, checkpoint)


def sequence_pending(session: Session, *, log: str) -> int:
    """Append every committed pending entry of `log` (waiting for the head lock) and sign a
    checkpoint covering them; returns how many were appended. The caller commits."""
    check_log(log)
    _begin_write(session)
    _indices, _checkpoint, count = _sequence(
        session, log, _lock_and_take(session, log), [], sign=True
    )
    if not count and _dialect(session) == "postgresql":
        # Only the head row lock was written: its commit need not wait for a WAL flush.
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        _mark_async(session)
    return count


def await_sequenced(session: Session, *, log: str, pending_id: int) -> None:
    """Return once pending row `pending_id` (committed) is in the log; the caller commits.

    Usually a batch already took it (one read); otherwise this waits for the running
    sequencer and, if the row is still pending then, appends it with everything else.
    Called outside a transaction (the cast view, right after its commit), the reads and the
    wait are single autocommitted statements: no BEGIN, COMMIT or savepoint round trips.
    """
    if _dialect(session) != "postgresql":
        if _pending(session, pending_id):
            sequence_pending(session, log=log)
        return
    # PostgreSQL. Usually a batch is taking the row or took it already: one statement (it
    # waits for that batch). Else wait for the running batch (a shared lock on the head, so
    # every waiter wakes at once instead of queueing for the lock one after another), then
    # check again. Still pending: try the head; whoever gets it appends every committed
    # pending row (a batch as large as the queue). A waiter that finds the head taken again
    # knows that batch took its row (committed before the batch began), so it waits for it.
    if real_session(session).in_transaction():
        _await_in_transaction(session, log, pending_id)
        return
    # Right after the caller's commit: wait on a connection in autocommit mode (no BEGIN or
    # COMMIT round trips, and each lock ends with its statement).
    with engine_of(session).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for _round in range(3):
            if not pg.still_pending(conn, pending_id, wait=True):
                return
            pg.wait_for_batch(conn, log)
            if not pg.still_pending(conn, pending_id, wait=True) or _sequence_if_free(session, log):
                return
    # Three batches went by without it (a very busy head): queue for the head itself.
    if pg.still_pending(session, pending_id, wait=False):
        sequence_pending(session, log=log)


def _await_in_transaction(session: Session, log: str, pending_id: int) -> None:
    # Inside the caller's transaction no lock may outlive its statement: a savepoint.
    if not pg.still_pending(session, pending_id, wait=False):
        return
    savepoint = session.begin_nested()
    pg.wait_for_batch(session, log)
    savepoint.rollback()
    if not pg.still_pending(session, pending_id, wait=False):
        return
    if not _sequence_if_free(session, log) and pg.still_pending(session, pending_id, wait=False):
        sequence_pending(session, log=log)  # busy again: queue for the head


def _sequence_if_free(session: Session, log: str) -> bool:
    """Append every committed pending entry now if the head is free; False if it is not."""
    taken = _try_lock_and_take(session, log)
    if taken is None:
        return False
    assert not isinstance(taken, int)  # nothing to queue without a bundle
    _sequence(session, log, taken, [], sign=True)
    return True


def _pending(session: Session, pending_id: int) -> bool:
    return session.scalar(select(PENDING.c.id).where(PENDING.c.id == pending_id)) is not None


def pending_count(session: Session, *, log: str) -> int:
    """How many committed pending rows `log` has (0 when every committed vote is in the log)."""
    return int(
        session.scalar(select(func.count()).select_from(PENDING).where(PENDING.c.log == log)) or 0
    )


# session.info key: this transaction turned synchronous_commit off (SET LOCAL), so a
# checkpoint stored later in it must turn it back on. A flag left over from an earlier
# transaction only costs one redundant SET (never a missing one).
_ASYNC_COMMIT = "civicforum_logstore_async_commit"


def _mark_async(session: Session) -> None:
    session.info[_ASYNC_COMMIT] = True


def _try_lock_and_take(
    session: Session, log: str, bundle: bytes | None = None
) -> tuple[int, bytes, list[bytes]] | int | None:
    """(size, frontier, committed pending entries) with the head locked; or, when another
    transaction holds it, the id of the pending row `bundle` was queued as (None without a
    bundle). PostgreSQL does either in one round trip; on SQLite we hold the database write
    lock already, so the head is always ours."""
    if _dialect(session) == "postgresql":
        taken = pg.try_take(session, log, bundle)
        if not isinstance(taken, pg.Taken):
            return taken
        return taken.size, taken.frontier, _unbundle(taken.bundles)
    return _lock_and_take(session, log)  # SQLite: BEGIN IMMEDIATE made us the only writer


def _lock_and_take(session: Session, log: str) -> tuple[int, bytes, list[bytes]]:
    """Wait for the head, lock it and take every committed pending entry, in id order."""
    if _dialect(session) == "postgresql":  # one statement
        taken = pg.take(session, log)
        return taken.size, taken.frontier, _unbundle(taken.bundles)
    size, stored = _head(session, log, lock=True)
    return size, stored, _take_pending(session, log)


def _unbundle(bundles: Iterable[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for bundle in bundles:
        try:
            out.extend(parse_entry_bundle(bytes(bundle)))
        except TileError as exc:
            raise LedgerCorruptError(_("A pending entry is malformed.")) from exc
    return out


def _take_pending(session: Session, log: str) -> list[bytes]:
    """Delete and return every committed pending entry of `log`, in id order (head locked)."""
    rows = session.execute(
        delete(PENDING).where(PENDING.c.log == log).returning(PENDING.c.id, PENDING.c.data)
    ).all()
    return _unbundle(bundle for _id, bundle in sorted(rows, key=lambda r: int(r[0])))


def _sequence(
    session: Session,
    log: str,
    taken: tuple[int, bytes, list[bytes]],
    own: list[bytes],
    *,
    sign: bool,
) -> tuple[list[int], CheckpointInfo | None, int]:
    """Under the head lock (`taken`: size, stored frontier and the committed pending entries
    swept from the queue): append the swept entries, then `own`; returns the indices of
    `own`, the checkpoint signed for the new size (when `sign` and anything was appended)
    and how many were appended in all."""
    size, stored, swept = taken
    entries = swept + own
    if not entries:
        return [], None, 0
    frontier = _frontier(size, stored)
    leaves: list[bytes] = []
    nodes: list[merkle.Node] = []
    for data in entries:
        leaf = merkle.leaf_hash(data)
        leaves.append(leaf)
        nodes.extend(frontier.append(leaf)[1:])  # level 0 is the entry's own leaf_hash
    new_size = size + len(entries)
    checkpoint = None
    if sign:
        signer = current_keys().checkpoint_signer(log)
        root = frontier.root()
        note = sign_checkpoint_note(Checkpoint(signer.name, new_size, root), signer)
        checkpoint = CheckpointInfo(note, new_size, root)
    _write_batch(session, log, size, entries, leaves, nodes, b"".join(frontier.hashes), checkpoint)
    swept_count = len(entries) - len(own)
    if swept_count:
        for hook in _HOOKS.get(log, ()):
            hook(session, [(size + i, data) for i, data in enumerate(entries[:swept_count])])
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
    size = first + len(entries)
    if _dialect(session) == "postgresql":
        if checkpoint is not None and session.info.pop(_ASYNC_COMMIT, False):
            # A stored checkpoint is the durability barrier of `durable_after_receipt`
            # appends, so its commit always waits for the flush.
            session.execute(text("SET LOCAL synchronous_commit TO ON"))
        pg.append(
            session,
            log=log,
            first=first,
            entries=entries,
            leaves=leaves,
            nodes=[(n.level, n.index, n.hash) for n in nodes],
            frontier=frontier,
            checkpoint=None if checkpoint is None else (checkpoint.root, checkpoint.note),
            signed_at=_now(),
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
    session.execute(update(HEADS).where(HEADS.c.log == log).values(size=size, frontier=frontier))
    if checkpoint is not None:
        session.execute(
            _insert_ignore(session, CHECKPOINTS, ["log", "size"]).values(
                log=log, size=size, root=checkpoint.root, note=checkpoint.note, signed_at=_now()
            )
        )


# --------------------------------------------------------------------------- checkpoints


def _store_checkpoint(session: Session, log: str, size: int, root: bytes) -> CheckpointInfo:
    if _dialect(session) == "postgresql" and session.info.pop(_ASYNC_COMMIT, False):
        # A stored checkpoint is the durability barrier of `durable_after_receipt` appends,
        # so its own commit always waits for the flush, whatever the transaction set before.
        session.execute(text("SET LOCAL synchronous_commit TO ON"))
    signer = current_keys().checkpoint_signer(log)
    note = sign_checkpoint_note(Checkpoint(signer.name, size, root), signer)
    session.execute(
        _insert_ignore(session, CHECKPOINTS, ["log", "size"]).values(
            log=log, size=size, root=root, note=note, signed_at=_now()
        )
    )
    return CheckpointInfo(note, size, root)


def _now() -> datetime:
    return utcnow()


def latest_checkpoint(session: Session, *, log: str) -> CheckpointInfo | None:
    """The largest signed checkpoint of `log`, or None while none has been signed."""
    row = session.execute(
        select(CHECKPOINTS.c.note, CHECKPOINTS.c.size, CHECKPOINTS.c.root)
        .where(CHECKPOINTS.c.log == check_log(log))
        .order_by(CHECKPOINTS.c.size.desc())
        .limit(1)
    ).one_or_none()
    return None if row is None else CheckpointInfo(row.note, int(row.size), bytes(row.root))


def checkpoint_at(session: Session, *, log: str, size: int) -> CheckpointInfo | None:
    """The signed checkpoint of exactly `size`, if one was signed."""
    row = session.execute(
        select(CHECKPOINTS.c.note, CHECKPOINTS.c.size, CHECKPOINTS.c.root).where(
            CHECKPOINTS.c.log == check_log(log), CHECKPOINTS.c.size == size
        )
    ).one_or_none()
    return None if row is None else CheckpointInfo(row.note, int(row.size), bytes(row.root))


def sign_checkpoint(session: Session, *, log: str) -> CheckpointInfo:
    """Sign and store a checkpoint of the current size unless one exists; the caller commits.

    Returns the checkpoint covering every committed entry. An empty log gets one of size 0
    (the root of the empty tree): tlog-tiles serves a checkpoint from the start.
    """
    check_log(log)
    _begin_write(session)
    size, stored = _head(session, log)
    latest = latest_checkpoint(session, log=log)
    if latest is not None and latest.size >= size:
        return latest
    root = _frontier(size, stored).root() if size else merkle.EMPTY_ROOT
    return _store_checkpoint(session, log, size, root)


def sequence_and_sign(session: Session, *, log: str) -> CheckpointInfo:
    """Append `log`'s committed pending entries, then make sure a signed checkpoint covers
    every entry; returns it. The caller commits, once per log (this holds the log's head).

    Run before exporting: the auditor checks entries against signed roots, so entries after
    the last checkpoint would go out unprotected.
    """
    sequence_pending(session, log=log)  # signs when it appended anything
    return sign_checkpoint(session, log=log)  # the log may have grown by unsigned appends


def covering_checkpoint(session: Session, *, log: str) -> CheckpointInfo | None:
    """The latest checkpoint if it covers every committed entry; None if one must be signed."""
    latest = latest_checkpoint(session, log=log)
    return latest if latest is not None and latest.size >= log_size(session, log=log) else None


def iter_checkpoints(session: Session, *, log: str, upto: int | None = None) -> Iterator[str]:
    """Every signed checkpoint note of `log` in increasing size (at most `upto`)."""
    query = select(CHECKPOINTS.c.note).where(CHECKPOINTS.c.log == check_log(log))
    if upto is not None:
        query = query.where(CHECKPOINTS.c.size <= upto)
    for (note,) in session.execute(query.order_by(CHECKPOINTS.c.size)):
        yield note


def checkpoint_count(session: Session, *, log: str) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(CHECKPOINTS).where(CHECKPOINTS.c.log == log)
        )
        or 0
    )


# --------------------------------------------------------------------------- proofs


class _Recorder:
    """A hash source that records which stored hashes a proof needs (values are dummies)."""

    def __init__(self) -> None:
        self.keys: set[tuple[int, int]] = set()

    def subtree_hash(self, level: int, index: int) -> bytes:
        self.keys.add((level, index))
        return bytes(HASH)


class _Fetched:
    def __init__(self, hashes: dict[tuple[int, int], bytes]) -> None:
        self.hashes = hashes

    def subtree_hash(self, level: int, index: int) -> bytes:
        return self.hashes[(level, index)]


def fetch_hashes(
    session: Session, log: str, keys: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """Stored subtree hashes by (level, index), in at most two queries; raises if any is missing."""
    by_level: dict[int, list[int]] = {}
    for level, index in keys:
        by_level.setdefault(level, []).append(index)
    found: dict[tuple[int, int], bytes] = {}
    if by_level.get(0):
        for idx, leaf in session.execute(
            select(ENTRIES.c.idx, ENTRIES.c.leaf_hash).where(
                ENTRIES.c.log == log, ENTRIES.c.idx.in_(by_level[0])
            )
        ):
            found[(0, int(idx))] = bytes(leaf)
    upper = [and_(NODES.c.level == lv, NODES.c.idx.in_(ix)) for lv, ix in by_level.items() if lv]
    if upper:
        for level, idx, value in session.execute(
            select(NODES.c.level, NODES.c.idx, NODES.c.hash).where(NODES.c.log == log, or_(*upper))
        ):
            found[(int(level), int(idx))] = bytes(value)
    missing = {(lv, i) for lv, ix in by_level.items() for i in ix} - found.keys()
    if missing:
        raise LedgerCorruptError(_("A stored tree node is missing; the log needs an audit."))
    return found


def with_stored_hashes[T](session: Session, log: str, compute: Callable[[Any], T]) -> T:
    # The proof algorithms never branch on hash values, so a dry run with dummies names every
    # hash needed; one batched read then serves the real run (O(log n) rows, ≤ 2 queries).
    recorder = _Recorder()
    compute(recorder)
    return compute(_Fetched(fetch_hashes(session, log, recorder.keys)))


def inclusion_proof(session: Session, *, log: str, index: int, size: int) -> list[bytes]:
    """RFC 9162 inclusion proof of entry `index` in the tree of `size` (O(log n) reads)."""
    current = log_size(session, log=log)
    if not 0 <= index < size <= current:
        raise ProofRangeError(
            _("Need 0 ≤ index < size ≤ %(current)d (the log's size).", current=current)
        )
    return with_stored_hashes(session, log, lambda s: merkle.inclusion_proof(s, index, size))


def consistency_proof(session: Session, *, log: str, old: int, new: int) -> list[bytes]:
    """RFC 9162 consistency proof from tree size `old` to `new` (O(log n) reads)."""
    current = log_size(session, log=log)
    if not 0 < old <= new <= current:
        raise ProofRangeError(
            _("Need 0 < from ≤ to ≤ %(current)d (the log's size).", current=current)
        )
    return with_stored_hashes(session, log, lambda s: merkle.consistency_proof(s, old, new))


def tree_root(session: Session, *, log: str, size: int) -> bytes:
    """The root of the first `size` entries, from stored subtrees."""
    return with_stored_hashes(session, log, lambda s: merkle.tree_root(s, size))


def entry_data(session: Session, *, log: str, index: int) -> bytes:
    """The canonical bytes of entry `index`."""
    data = session.scalar(
        select(ENTRIES.c.data).where(ENTRIES.c.log == check_log(log), ENTRIES.c.idx == index)
    )
    if data is None:
        raise NoSuchEntryError(_("There is no entry %(index)d in this log.", index=index))
    return bytes(data)


# --------------------------------------------------------------------------- receipts


def receipt_for(session: Session, *, log: str, index: int, extra: bytes | str | None = None) -> str:
    """The `.tlog-proof` receipt of entry `index` against a checkpoint that includes it.

    Signs a new checkpoint when the latest one does not cover the entry yet; the caller
    commits (the entry's own transaction must already be committed). `extra` is the entry's
    canonical bytes (docs/ledger.md §4) and may be omitted; anything else is refused, since
    the receipt's holder rebuilds the leaf from it.
    """
    data = entry_data(session, log=log, index=index)
    if extra is not None and (extra.encode() if isinstance(extra, str) else extra) != data:
        raise ValueError("a receipt's extra data is the entry's canonical bytes (ledger.md §4)")
    checkpoint = ensure_durable(session, log=log, index=index)
    proof = inclusion_proof(session, log=log, index=index, size=checkpoint.size)
    note = with_cosignatures(session, log=log, checkpoint=checkpoint)
    return format_proof(TlogProof(index, tuple(proof), note, data))


def ensure_durable(session: Session, *, log: str, index: int) -> CheckpointInfo:
    """Make sure a stored checkpoint covers entry `index` (signing one if needed); the caller
    commits. Once that commit returns, the entry is durable (see `append_entry`)."""
    checkpoint = latest_checkpoint(session, log=log)
    if checkpoint is None or checkpoint.size <= index:
        checkpoint = sign_checkpoint(session, log=log)
    if checkpoint.size <= index:
        raise NoSuchEntryError(_("There is no entry %(index)d in this log.", index=index))
    return checkpoint


# --------------------------------------------------------------------------- tiles


def tile_data(session: Session, *, log: str, level: int, index: int, width: int) -> bytes | None:
    """A C2SP tlog-tiles hash tile, or None when the log is not that large yet."""
    height = TILE_HEIGHT * level
    start = index * TILE_WIDTH
    if (log_size(session, log=log) >> height) < start + width:
        return None
    if height == 0:
        query = (
            select(ENTRIES.c.leaf_hash)
            .where(ENTRIES.c.log == log, ENTRIES.c.idx >= start, ENTRIES.c.idx < start + width)
            .order_by(ENTRIES.c.idx)
        )
    else:
        query = (
            select(NODES.c.hash)
            .where(
                NODES.c.log == log,
                NODES.c.level == height,
                NODES.c.idx >= start,
                NODES.c.idx < start + width,
            )
            .order_by(NODES.c.idx)
        )
    hashes = [bytes(h) for h in session.scalars(query)]
    if len(hashes) != width:
        raise LedgerCorruptError(_("A stored tree node is missing; the log needs an audit."))
    return b"".join(hashes)


def entries_bundle(session: Session, *, log: str, index: int, width: int) -> bytes | None:
    """A C2SP tlog-tiles entry bundle, or None when the log is not that large yet."""
    start = index * TILE_WIDTH
    if log_size(session, log=log) < start + width:
        return None
    rows = session.scalars(
        select(ENTRIES.c.data)
        .where(ENTRIES.c.log == log, ENTRIES.c.idx >= start, ENTRIES.c.idx < start + width)
        .order_by(ENTRIES.c.idx)
    ).all()
    if len(rows) != width:
        raise LedgerCorruptError(_("A stored entry is missing; the log needs an audit."))
    return entry_bundle(bytes(r) for r in rows)


def iter_entries(
    session: Session, *, log: str, upto: int, chunk: int = 5000
) -> Iterator[tuple[int, bytes, bytes]]:
    """`(index, data, stored leaf hash)` for indices < `upto`, streamed in bounded memory."""
    start = 0
    while start < upto:
        rows = session.execute(
            select(ENTRIES.c.idx, ENTRIES.c.data, ENTRIES.c.leaf_hash)
            .where(
                ENTRIES.c.log == log,
                ENTRIES.c.idx >= start,
                ENTRIES.c.idx < min(upto, start + chunk),
            )
            .order_by(ENTRIES.c.idx)
        ).all()
        for idx, data, leaf in rows:
            yield int(idx), bytes(data), bytes(leaf)
        start += chunk


# --------------------------------------------------------------------------- witnesses


def witnesses(session: Session, *, active_only: bool = False) -> list[LedgerWitness]:
    query = select(LedgerWitness).order_by(LedgerWitness.name)
    if active_only:
        query = query.where(LedgerWitness.active.is_(True))
    return list(session.scalars(query))


def witness_verifiers(session: Session) -> list[Verifier]:
    return [parse_verifier_key(w.vkey) for w in witnesses(session, active_only=True)]


def add_witness(session: Session, *, vkey: str, actor: Any = None) -> LedgerWitness:
    """Trust a witness's cosignature key (`name+keyid+base64(0x04||key)`); the caller commits."""
    from civicforum.audit.services import record_event

    try:
        verifier = parse_verifier_key(vkey.strip())
    except NoteError as exc:
        raise InvalidWitnessKeyError(_("That is not a valid witness verifier key.")) from exc
    if verifier.sig_type != SIG_COSIGNATURE_V1:
        raise InvalidWitnessKeyError(
            _("A witness key has type 0x04 (cosignature/v1), not a log key.")
        )
    witness = session.scalar(select(LedgerWitness).where(LedgerWitness.vkey == verifier.text))
    if witness is None:
        witness = LedgerWitness(
            name=verifier.name, vkey=verifier.text, added_by_id=getattr(actor, "id", None)
        )
        session.add(witness)
    witness.active = True
    session.flush()  # need the id for the audit event
    record_event(session, "logstore:witness:add", actor=actor, subject=witness)
    return witness


def remove_witness(session: Session, *, witness: LedgerWitness, actor: Any = None) -> None:
    """Stop accepting a witness's cosignatures (stored ones are kept); the caller commits."""
    from civicforum.audit.services import record_event

    witness.active = False
    record_event(session, "logstore:witness:remove", actor=actor, subject=witness)


def submit_cosignatures(session: Session, *, log: str, text: str | bytes) -> int:
    """Verify and store witness cosignatures of one of our checkpoints; the caller commits.

    `text` is the checkpoint body, a blank line and cosignature lines (docs/ledger.md §7).
    Returns how many lines were verified (already stored ones included).
    """
    check_log(log)
    try:
        note = parse_note(text)
        body = parse_checkpoint_body(note.text)
    except (NoteError, CheckpointError) as exc:
        raise CheckpointMismatchError(_("That is not a checkpoint of this log.")) from exc
    ours = checkpoint_at(session, log=log, size=body.size)
    origin = current_keys().origin(log)
    if ours is None or body.origin != origin or body.root != ours.root or body.extensions:
        raise CheckpointMismatchError(
            _("This log never signed a checkpoint with that size and root.")
        )
    checkpoint_id = session.scalar(
        select(CHECKPOINTS.c.id).where(CHECKPOINTS.c.log == log, CHECKPOINTS.c.size == body.size)
    )
    known = {
        (v.name, v.key_id): (w, v)
        for w in witnesses(session, active_only=True)
        for v in [parse_verifier_key(w.vkey)]
    }
    accepted = 0
    for signature in note.signatures:
        match = known.get((signature.name, signature.key_id))
        if match is None:
            continue
        witness, verifier = match
        try:
            cosig = verify_cosignature(body, signature.line, verifier)
        except (CosignatureError, NoteError) as exc:
            raise WitnessError(_("A cosignature does not verify.")) from exc
        session.execute(
            _insert_ignore(session, COSIGNATURES, ["checkpoint_id", "witness_id"]).values(
                checkpoint_id=checkpoint_id,
                witness_id=witness.id,
                line=cosig.line,
                timestamp=cosig.timestamp,
                received_at=_now(),
            )
        )
        accepted += 1
    if not accepted:
        raise WitnessError(_("No cosignature from a configured witness."))
    return accepted


def with_cosignatures(session: Session, *, log: str, checkpoint: CheckpointInfo) -> str:
    """The checkpoint note with every stored witness cosignature line appended."""
    lines = session.scalars(
        select(COSIGNATURES.c.line)
        .join(CHECKPOINTS, CHECKPOINTS.c.id == COSIGNATURES.c.checkpoint_id)
        .where(CHECKPOINTS.c.log == log, CHECKPOINTS.c.size == checkpoint.size)
        .order_by(COSIGNATURES.c.id)
    ).all()
    return checkpoint.note + "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def iter_cosignatures(
    session: Session, *, log: str, upto: int | None = None
) -> Iterator[tuple[int, str, str]]:
    """`(checkpoint size, witness verifier key, signature line)` in checkpoint order."""
    query = (
        select(CHECKPOINTS.c.size, LedgerWitness.vkey, COSIGNATURES.c.line)
        .select_from(COSIGNATURES)
        .join(CHECKPOINTS, CHECKPOINTS.c.id == COSIGNATURES.c.checkpoint_id)
        .join(LedgerWitness, LedgerWitness.id == COSIGNATURES.c.witness_id)
        .where(CHECKPOINTS.c.log == log)
        .order_by(CHECKPOINTS.c.size, COSIGNATURES.c.id)
    )
    if upto is not None:
        query = query.where(CHECKPOINTS.c.size <= upto)
    for size, vkey, line in session.execute(query):
        yield int(size), vkey, line


def witness_activity(session: Session) -> dict[int, datetime]:
    """When each witness last cosigned (by witness id)."""
    rows = session.execute(
        select(COSIGNATURES.c.witness_id, func.max(COSIGNATURES.c.received_at)).group_by(
            COSIGNATURES.c.witness_id
        )
    )
    # max() keeps the column type, so the values come back as aware UTC datetimes.
    return {int(w): at for w, at in rows if at is not None}


# --------------------------------------------------------------------------- verification runs


def record_verification(
    session: Session, *, ok: bool, sizes: Mapping[str, int], report: str
) -> LedgerVerification:
    """Store the outcome of a `civicforum ledger verify` run; the caller commits."""
    run = LedgerVerification(
        ok=ok, sizes=" ".join(f"{k}={v}" for k, v in sizes.items()), report=report[:20000]
    )
    session.add(run)
    session.flush()  # need the id for the caller's message
    return run


def last_verification(session: Session) -> LedgerVerification | None:
    return session.scalar(
        select(LedgerVerification).order_by(LedgerVerification.id.desc()).limit(1)
    )


def supporter_pseudonym(key: bytes, *, user_id: int, proposal: str) -> str:
    """Per-proposal supporter handle: HMAC-SHA256(key, "<user>:<proposal>")[:32 hex]."""
    return hmac.new(key, f"{user_id}:{proposal}".encode(), "sha256").hexdigest()[:32]


# --------------------------------------------------------------------------- /verify


@dataclass(frozen=True, slots=True)
class ReceiptCheck:
    """What checking a receipt against the live log established (every step passed)."""

    log: str
    origin: str
    index: int
    entry: dict[str, Any]  # decoded from the receipt's extra data
    recorded_matches: bool  # the stored entry at `index` is byte for byte the receipt's
    receipt_size: int
    receipt_root: bytes
    latest_size: int
    latest_root: bytes
    latest_note: str
    inclusion: list[bytes]  # entry -> latest root
    consistency: list[bytes]  # receipt checkpoint -> latest checkpoint
    witnesses: list[str]  # names of witnesses that cosigned the receipt's checkpoint
    # Index of the ballot.superseded entry (within the latest checkpoint) that replaced this
    # ballot.cast: the receipt still verifies, but the vote is no longer counted.
    superseded_by: int | None = None


class ReceiptRejected(ValueError):
    """The receipt failed a step; `step` names it for the page."""

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"{step}: {detail}")
        self.step = step
        self.detail = detail


def verify_receipt(session: Session, *, text: str | bytes) -> ReceiptCheck:
    """Check a `.tlog-proof` receipt offline-style, then against this server's latest
    checkpoint (inclusion) and for consistency from the receipt's checkpoint to it."""
    from civicforum.ledger.note import verified_signers
    from civicforum.ledger.proof_file import ProofFileError, parse_proof, verify_proof

    try:
        proof = parse_proof(text)
        origin = parse_checkpoint_body(parse_note(proof.checkpoint).text).origin
    except (ProofFileError, NoteError) as exc:
        raise ReceiptRejected("format", str(exc)) from exc
    keys = current_keys()
    log = next((name for name in LOGS if keys.origin(name) == origin), None)
    if log is None:
        raise ReceiptRejected("log", f"the receipt is for {origin!r}, not a log of this server")
    try:
        verified = verify_proof(proof, keys.verifier(log))
        entry = decode_entry(verified.entry, log)
        # A line from a configured witness that fails to verify was altered: reject the
        # receipt (lines from keys we do not know are ignored, as signed-note allows).
        witnesses = witness_verifiers(session)
        cosigners = [v.name for v in verified_signers(parse_note(proof.checkpoint), witnesses)]
    except (ProofFileError, ValueError) as exc:
        raise ReceiptRejected("signature", str(exc)) from exc
    mine = verified.checkpoint
    latest = latest_checkpoint(session, log=log)
    if latest is None or latest.size < mine.size:
        raise ReceiptRejected(
            "consistency",
            "the receipt's checkpoint is larger than anything this log has published: "
            "a rollback or a forked view",
        )
    consistency: list[bytes] = []
    try:
        if latest.size > mine.size:
            consistency = consistency_proof(session, log=log, old=mine.size, new=latest.size)
        merkle.verify_consistency(mine.size, latest.size, mine.root, latest.root, consistency)
    except (merkle.ProofError, LedgerCorruptError) as exc:
        raise ReceiptRejected(
            "consistency",
            f"the log's latest checkpoint does not extend the receipt's: {exc} "
            "(keep this receipt and the latest checkpoint: together they prove a fork)",
        ) from exc
    try:
        inclusion = inclusion_proof(session, log=log, index=proof.index, size=latest.size)
        merkle.verify_inclusion(
            proof.index, latest.size, merkle.leaf_hash(verified.entry), inclusion, latest.root
        )
    except (merkle.ProofError, LedgerCorruptError) as exc:
        raise ReceiptRejected("inclusion", str(exc)) from exc
    recorded = session.scalar(
        select(ENTRIES.c.data).where(ENTRIES.c.log == log, ENTRIES.c.idx == proof.index)
    )
    return ReceiptCheck(
        log=log,
        origin=origin,
        index=proof.index,
        entry=entry,
        recorded_matches=recorded is not None and bytes(recorded) == verified.entry,
        receipt_size=mine.size,
        receipt_root=mine.root,
        latest_size=latest.size,
        latest_root=latest.root,
        latest_note=with_cosignatures(session, log=log, checkpoint=latest),
        inclusion=inclusion,
        consistency=consistency,
        witnesses=cosigners,
        superseded_by=_superseded_by(session, log, proof.index, entry, latest.size),
    )


def _superseded_by(
    session: Session, log: str, index: int, entry: Mapping[str, Any], size: int
) -> int | None:
    """The index below `size` of the `ballot.superseded` entry naming this cast's tracker.

    Read from the log itself, not from the ballots feature's copy of the casts: the page
    tells the holder only what the public log shows, up to the checkpoint it proved (a change
    still pending or not yet checkpointed is not reported). A vote change appends the
    superseded entry after the cast it replaces, so only later entries are scanned: one
    primary-key range filtered in SQL, which costs less than the export anyone may download.
    """
    if log != VOTE_LOG or entry.get("type") != "ballot.cast":
        return None
    # Canonical JSON sorts the keys, so a superseded entry reads `..."tracker":"<t>","type":
    # "ballot.superseded",...`; the tracker is validated lowercase hex (no LIKE wildcards).
    needle = f'"tracker":"{entry["tracker"]}","type":"ballot.superseded",'.encode()
    if _dialect(session) == "postgresql":  # bytea LIKE bytea (.like() is for strings only)
        contains = ENTRIES.c.data.op("LIKE", is_comparison=True)(b"%" + needle + b"%")
    else:  # SQLite's LIKE never matches a BLOB; instr() compares bytes
        contains = func.instr(ENTRIES.c.data, needle) > 0
    rows = session.execute(
        select(ENTRIES.c.idx, ENTRIES.c.data)
        .where(ENTRIES.c.log == log, ENTRIES.c.idx > index, ENTRIES.c.idx < size, contains)
        .order_by(ENTRIES.c.idx)
    )
    for idx, data in rows:
        value = decode_entry(bytes(data), log)
        if (
            value["type"] == "ballot.superseded"
            and value["ballot"] == entry["ballot"]
            and value["tracker"] == entry["tracker"]
        ):
            return int(idx)
    return None
