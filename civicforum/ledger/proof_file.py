"""C2SP tlog-proof (``.tlog-proof``): an offline-verifiable receipt for one log entry.

civicforum puts the entry's canonical bytes in ``extra``, so the holder can rebuild the leaf.
``extra`` is not authenticated by itself: it is trusted only because its leaf hash is proven.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from civicforum.ledger.checkpoint import Checkpoint, SignedCheckpoint, open_checkpoint
from civicforum.ledger.merkle import HASH_SIZE, ProofError, leaf_hash, verify_inclusion
from civicforum.ledger.note import NoteError, Verifier, b64decode, b64encode

HEADER = "c2sp.org/tlog-proof@v1"
_INDEX = re.compile(r"index (0|[1-9][0-9]{0,19})")


class ProofFileError(ValueError):
    """A .tlog-proof is malformed or does not verify."""


@dataclass(frozen=True, slots=True)
class TlogProof:
    """Index, inclusion hashes (leaf sibling first), the signed checkpoint text, optional extra."""

    index: int
    hashes: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None


@dataclass(frozen=True, slots=True)
class VerifiedReceipt:
    """What a verified proof establishes: ``entry`` is leaf ``index`` of ``checkpoint``."""

    index: int
    entry: bytes
    checkpoint: Checkpoint


def build_proof(
    entry: bytes, index: int, proof: Sequence[bytes], signed: SignedCheckpoint
) -> TlogProof:
    """Assemble a receipt for ``entry`` from an inclusion proof against ``signed``."""
    return TlogProof(index, tuple(proof), signed.text, entry)


def format_proof(proof: TlogProof) -> str:
    """Serialise to the ``.tlog-proof`` text."""
    lines = [HEADER]
    if proof.extra is not None:
        lines.append(f"extra {b64encode(proof.extra)}")
    lines.append(f"index {proof.index}")
    lines += [b64encode(h) for h in proof.hashes]
    return "\n".join(lines) + "\n\n" + proof.checkpoint


def parse_proof(text: str | bytes) -> TlogProof:
    """Parse a ``.tlog-proof``; the checkpoint is kept verbatim and not yet verified."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProofFileError("proof is not UTF-8") from exc
    head, sep, checkpoint = text.partition("\n\n")
    if not sep or not checkpoint:
        raise ProofFileError("proof has no checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise ProofFileError("not a c2sp.org/tlog-proof@v1 file")
    pos = 1
    extra = None
    try:
        if pos < len(lines) and lines[pos].startswith("extra "):
            extra = b64decode(lines[pos][6:], "extra data")
            pos += 1
        match = _INDEX.fullmatch(lines[pos]) if pos < len(lines) else None
        if match is None:
            raise ProofFileError("missing or malformed index line")
        hashes = tuple(b64decode(line, "proof hash") for line in lines[pos + 1 :])
    except NoteError as exc:
        raise ProofFileError(str(exc)) from exc
    if any(len(h) != HASH_SIZE for h in hashes):
        raise ProofFileError("proof hash is not 32 bytes")
    return TlogProof(int(match.group(1)), hashes, checkpoint, extra)


def verify_proof(
    proof: TlogProof, log_key: Verifier, entry: bytes | None = None
) -> VerifiedReceipt:
    """Check the checkpoint signature and the inclusion of ``entry`` (default: ``extra``)."""
    data = proof.extra if entry is None else entry
    if data is None:
        raise ProofFileError("no entry: the proof has no extra data and none was given")
    try:
        signed = open_checkpoint(proof.checkpoint, log_key)
        cp = signed.checkpoint
        verify_inclusion(proof.index, cp.size, leaf_hash(data), proof.hashes, cp.root)
    except (NoteError, ProofError) as exc:
        raise ProofFileError(str(exc)) from exc
    return VerifiedReceipt(proof.index, data, cp)
