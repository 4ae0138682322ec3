"""Reading the stored logs: entries, RFC 9162 proofs from stored subtree hashes, tlog-tiles.

Every function takes the caller's session, only reads, and raises `LedgerCorruptError` when a
stored hash or entry the log's size promises is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from civicforum.ledger import merkle
from civicforum.ledger.tiles import TILE_HEIGHT, TILE_WIDTH, entry_bundle
from civicforum.logstore.errors import LedgerCorruptError, NoSuchEntryError, ProofRangeError
from civicforum.logstore.storage import CHECKPOINTS, ENTRIES, HASH, NODES, check_log, log_size


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
    session: Session, *, log: str, upto: int, chunk: int = 5000, first: int = 0
) -> Iterator[tuple[int, bytes, bytes]]:
    """`(index, data, stored leaf hash)` for `first` <= index < `upto`, in bounded memory."""
    start = first
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


def index_of_leaf(session: Session, *, log: str, leaf_hash: bytes) -> int | None:
    """The index of the appended entry with this leaf hash (a promise's), or None."""
    found = session.scalar(
        select(ENTRIES.c.idx).where(
            ENTRIES.c.log == check_log(log), ENTRIES.c.leaf_hash == leaf_hash
        )
    )
    return None if found is None else int(found)


def iter_verified(
    session: Session, *, log: str, start: int, stop: int | None = None
) -> Iterator[tuple[int, bytes]]:
    """`(index, data)` of every entry from `start` up to `stop` (default: the end of the log),
    each checked as it is read: its bytes against its stored leaf hash, and the tree they
    rebuild (from the stored subtrees before `start`) against every signed checkpoint in the
    range. So a reader counts what was signed, not what a table holds now; an entry edited
    after signing raises `LedgerCorruptError` naming it (or the narrowest range the
    signatures allow)."""

    size = log_size(session, log=log)
    signed = dict(
        session.execute(
            select(CHECKPOINTS.c.size, CHECKPOINTS.c.root).where(
                CHECKPOINTS.c.log == log, CHECKPOINTS.c.size > start, CHECKPOINTS.c.size <= size
            )
        ).all()
    )
    frontier = (
        with_stored_hashes(session, log, lambda s: merkle.CompactRange.from_source(s, start))
        if start
        else merkle.CompactRange()
    )
    good = start
    for index, data, stored in iter_entries(session, log=log, upto=size, first=start):
        if stop is not None and index >= stop:
            return
        leaf = merkle.leaf_hash(data)
        if leaf != stored:
            raise LedgerCorruptError(
                _(
                    "Entry %(index)d of the %(log)s log does not match its leaf hash.",
                    index=index,
                    log=log,
                )
            )
        frontier.append_fast(leaf)
        root = signed.get(index + 1)
        if root is not None:
            if frontier.root() != bytes(root):
                raise LedgerCorruptError(
                    _(
                        "Entries %(first)d to %(last)d of the %(log)s log do not match their "
                        "signed checkpoint: one was changed after signing.",
                        first=good,
                        last=index,
                        log=log,
                    )
                )
            good = index + 1
        yield index, data
