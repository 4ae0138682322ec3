"""Receipts: signed promises at casting time, inclusion proofs once sequenced, and /verify.

A cast is pooled, not appended (`sequencer`), so the voter's first receipt is the log's signed
promise (`ledger.promise`, a ``.tlog-promise``); once its batch is sequenced the same promise
upgrades to a ``.tlog-proof`` (docs/ledger.md §4), looked up by the promised leaf hash. The
upgrade is asked for with the promise in a request body, never by entry index in a URL: an
index in an access log next to the voter's address would say which entry is theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicforum.db import utcnow
from civicforum.ledger import merkle
from civicforum.ledger.checkpoint import parse_checkpoint_body
from civicforum.ledger.entry import LOGS, decode_entry
from civicforum.ledger.note import NoteError, parse_note, verified_signers
from civicforum.ledger.promise import (
    Promise,
    PromiseError,
    format_promise_file,
    is_promise_file,
    parse_promise_body,
    parse_promise_file,
    sign_promise,
    verify_promise_file,
)
from civicforum.ledger.proof_file import (
    ProofFileError,
    TlogProof,
    format_proof,
    parse_proof,
    verify_proof,
)
from civicforum.logstore.checkpoints import latest_checkpoint, sign_checkpoint
from civicforum.logstore.errors import LedgerCorruptError, NoSuchEntryError
from civicforum.logstore.keys import current_keys
from civicforum.logstore.proofs import consistency_proof, entry_data, inclusion_proof, index_of_leaf
from civicforum.logstore.storage import ENTRIES, CheckpointInfo
from civicforum.logstore.witnesses import with_cosignatures, witness_verifiers

# --------------------------------------------------------------------------- issuing


def promise_for(log: str, entry: bytes, *, merge_by: datetime) -> str:
    """The ``.tlog-promise`` text for a pooled entry: the log key's promise to include it
    under a signed checkpoint by `merge_by` (a time every voter of the ballot shares)."""
    signer = current_keys().checkpoint_signer(log)
    promise = Promise(signer.name, merkle.leaf_hash(entry), merge_by.replace(microsecond=0))
    return format_promise_file(entry, sign_promise(promise, signer))


def receipt_for(session: Session, *, log: str, index: int, extra: bytes | str | None = None) -> str:
    """The ``.tlog-proof`` receipt of appended entry `index` against a checkpoint covering it.

    Signs a new checkpoint when the latest one does not cover the entry yet; the caller
    commits. `extra` is the entry's canonical bytes (docs/ledger.md §4) and may be omitted;
    anything else is refused, since the receipt's holder rebuilds the leaf from it.
    """
    data = entry_data(session, log=log, index=index)
    if extra is not None and (extra.encode() if isinstance(extra, str) else extra) != data:
        raise ValueError("a receipt's extra data is the entry's canonical bytes (ledger.md §4)")
    checkpoint = _covering(session, log, index)
    proof = inclusion_proof(session, log=log, index=index, size=checkpoint.size)
    note = with_cosignatures(session, log=log, checkpoint=checkpoint)
    return format_proof(TlogProof(index, tuple(proof), note, data))


def _covering(session: Session, log: str, index: int) -> CheckpointInfo:
    checkpoint = latest_checkpoint(session, log=log)
    if checkpoint is None or checkpoint.size <= index:
        checkpoint = sign_checkpoint(session, log=log)
    if checkpoint.size <= index:
        raise NoSuchEntryError()
    return checkpoint


def upgrade(session: Session, *, log: str, entry: bytes) -> str | None:
    """The ``.tlog-proof`` for a promised entry once its batch is in the log; None while it is
    still pooled. May sign a checkpoint: the caller commits."""
    index = index_of_leaf(session, log=log, leaf_hash=merkle.leaf_hash(entry))
    return None if index is None else receipt_for(session, log=log, index=index, extra=entry)


# --------------------------------------------------------------------------- /verify

# A feature that knows more about an entry than the log's bytes registers how to find the
# later entry that retired it (ballots: the `ballot.superseded` mark of a replaced vote, which
# it appends when the ballot closes), at init_app. The log store imports no feature.
RetiredBy = Callable[[Session, str, Mapping[str, Any], int], int | None]
_RETIRED_BY: list[RetiredBy] = []


def register_retired_by(hook: RetiredBy) -> None:
    if hook not in _RETIRED_BY:
        _RETIRED_BY.append(hook)


def _retired_by(session: Session, log: str, entry: Mapping[str, Any], size: int) -> int | None:
    for hook in _RETIRED_BY:
        found = hook(session, log, entry, size)
        if found is not None:
            return found
    return None


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
    # Index (within the latest checkpoint) of the entry that retired this one: for a vote,
    # the `ballot.superseded` mark saying a later vote of the same voter replaced it.
    superseded_by: int | None = None
    # Set when the receipt given was a promise, upgraded here: the full proof, to download.
    upgraded: str | None = None


@dataclass(frozen=True, slots=True)
class PromiseCheck:
    """A valid promise whose entry is not in the log (yet)."""

    log: str
    origin: str
    entry: dict[str, Any]
    merge_by: datetime
    latest_size: int
    # Past its merge-by, or its ballot closed without it: the signed promise is evidence.
    broken: bool


class ReceiptRejected(ValueError):
    """The receipt failed a step; `step` names it for the page."""

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"{step}: {detail}")
        self.step = step
        self.detail = detail


def _log_of(origin: str) -> str:
    keys = current_keys()
    log = next((name for name in LOGS if keys.origin(name) == origin), None)
    if log is None:
        raise ReceiptRejected("log", f"the receipt is for {origin!r}, not a log of this server")
    return log


# A feature registers how to tell that an entry's whole context closed in the log (ballots:
# the entry's ballot has a `ballot.closed`): a promise of such an entry that is not in the
# log was broken whatever the time.
Closed = Callable[[Session, str, Mapping[str, Any]], bool]
_CLOSED: list[Closed] = []


def register_closed(hook: Closed) -> None:
    if hook not in _CLOSED:
        _CLOSED.append(hook)


def verify_receipt(
    session: Session, *, text: str | bytes, now: datetime | None = None
) -> ReceiptCheck | PromiseCheck:
    """Check a receipt: a ``.tlog-proof`` offline-style, then against this server's latest
    checkpoint (inclusion) and for consistency from the receipt's checkpoint to it; or a
    ``.tlog-promise``: its signature, then whether the promised entry is in the log (checked
    as the proof it upgrades to) or, if not, whether the promise is already broken."""
    if is_promise_file(text):
        return _verify_promise(session, text, now or utcnow())
    return _verify_proof(session, text)


def _verify_promise(
    session: Session, text: str | bytes, now: datetime
) -> ReceiptCheck | PromiseCheck:
    parsed, origin, log = _read(
        text, lambda t: (p := parse_promise_file(t), parse_promise_body(parse_note(p.note).text))
    )
    try:
        verified = verify_promise_file(parsed, current_keys().verifier(log))
        entry = decode_entry(verified.entry, log)
    except ValueError as exc:
        raise ReceiptRejected("signature", str(exc)) from exc
    proof = upgrade(session, log=log, entry=verified.entry)
    if proof is not None:
        check = _verify_proof(session, proof)
        return ReceiptCheck(**{**_fields(check), "upgraded": proof})
    latest = latest_checkpoint(session, log=log)
    broken = verified.overdue(now) or any(hook(session, log, entry) for hook in _CLOSED)
    return PromiseCheck(
        log=log,
        origin=origin,
        entry=entry,
        merge_by=verified.promise.merge_by,
        latest_size=0 if latest is None else latest.size,
        broken=broken,
    )


def _fields(check: ReceiptCheck) -> dict[str, Any]:
    return {name: getattr(check, name) for name in ReceiptCheck.__dataclass_fields__}


def _read[T](
    text: str | bytes, parse: Callable[[str | bytes], tuple[T, Any]]
) -> tuple[T, str, str]:
    """Parse a receipt file: (its parsed form, the origin its note names, our log of it)."""
    try:
        parsed, body = parse(text)
    except (ProofFileError, PromiseError, NoteError) as exc:
        raise ReceiptRejected("format", str(exc)) from exc
    return parsed, body.origin, _log_of(body.origin)


def _verify_proof(session: Session, text: str | bytes) -> ReceiptCheck:
    proof, origin, log = _read(
        text, lambda t: (p := parse_proof(t), parse_checkpoint_body(parse_note(p.checkpoint).text))
    )
    try:
        verified = verify_proof(proof, current_keys().verifier(log))
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
        superseded_by=_retired_by(session, log, entry, latest.size),
    )
