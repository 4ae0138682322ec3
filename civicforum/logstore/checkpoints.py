"""Signed checkpoints of the stored logs (docs/ledger.md §3): store, find, sign on demand.

A sequencer batch signs the checkpoint covering it in its own transaction (`sequencer`). Other
signers (`sign_checkpoint`) read the committed head, sign its size and root, and insert with
ON CONFLICT DO NOTHING: Ed25519 is deterministic, so two workers signing the same size store
the same note. Checkpoints carry no time: the order of batches is public, their times are not.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicforum.ledger import merkle
from civicforum.ledger.checkpoint import Checkpoint
from civicforum.ledger.checkpoint import sign_checkpoint as sign_checkpoint_note
from civicforum.logstore.keys import current_keys
from civicforum.logstore.storage import (
    CHECKPOINTS,
    CheckpointInfo,
    begin_write,
    check_log,
    frontier_of,
    head,
    insert_ignore,
    log_size,
)


def signed(log: str, size: int, root: bytes) -> CheckpointInfo:
    """A checkpoint of `log` at `size` and `root`, signed with the log key (not stored)."""
    signer = current_keys().checkpoint_signer(log)
    note = sign_checkpoint_note(Checkpoint(signer.name, size, root), signer)
    return CheckpointInfo(note, size, root)


def store(session: Session, log: str, checkpoint: CheckpointInfo) -> None:
    session.execute(
        insert_ignore(session, CHECKPOINTS, ["log", "size"]).values(
            log=log, size=checkpoint.size, root=checkpoint.root, note=checkpoint.note
        )
    )


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

    Returns the checkpoint covering every appended entry (entries still pooled are not
    appended, so signing never hurries a batch). An empty log gets one of size 0 (the root of
    the empty tree): tlog-tiles serves a checkpoint from the start.
    """
    check_log(log)
    begin_write(session)
    size, stored = head(session, log)
    latest = latest_checkpoint(session, log=log)
    if latest is not None and latest.size >= size:
        return latest
    root = frontier_of(size, stored).root() if size else merkle.EMPTY_ROOT
    checkpoint = signed(log, size, root)
    store(session, log, checkpoint)
    return checkpoint


def covering_checkpoint(session: Session, *, log: str) -> CheckpointInfo | None:
    """The latest checkpoint if it covers every appended entry; None if one must be signed."""
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
