"""Witnesses (C2SP tlog-cosignature): the keys the server accepts cosignatures from, and the
cosignatures themselves, verified against checkpoints this log signed before they are stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicforum.db import utcnow
from civicforum.ledger.checkpoint import CheckpointError, parse_checkpoint_body
from civicforum.ledger.cosignature import CosignatureError, verify_cosignature
from civicforum.ledger.note import (
    SIG_COSIGNATURE_V1,
    NoteError,
    Verifier,
    parse_note,
    parse_verifier_key,
)
from civicforum.logstore.checkpoints import checkpoint_at
from civicforum.logstore.errors import (
    CheckpointMismatchError,
    InvalidWitnessKeyError,
    WitnessError,
)
from civicforum.logstore.keys import current_keys
from civicforum.logstore.models import LedgerWitness
from civicforum.logstore.storage import (
    CHECKPOINTS,
    COSIGNATURES,
    CheckpointInfo,
    check_log,
    insert_ignore,
)


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
            insert_ignore(session, COSIGNATURES, ["checkpoint_id", "witness_id"]).values(
                checkpoint_id=checkpoint_id,
                witness_id=witness.id,
                line=cosig.line,
                timestamp=cosig.timestamp,
                received_at=utcnow(),
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
