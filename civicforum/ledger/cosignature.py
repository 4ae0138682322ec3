"""C2SP tlog-cosignature, Ed25519 ``cosignature/v1`` (signature type 0x04).

A cosignature is a note signature line over a checkpoint whose blob is
``key ID || uint64 big-endian timestamp || Ed25519 signature`` and whose signed message is
``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint body. It states that, at that
time, this was the largest consistent tree head the witness had seen for the origin.
"""

from __future__ import annotations

from dataclasses import dataclass

from civicforum.ledger.checkpoint import Checkpoint
from civicforum.ledger.note import (
    SIG_COSIGNATURE_V1,
    NoteError,
    NoteSignature,
    Signer,
    Verifier,
    generate_key,
    parse_signature_line,
)


class CosignatureError(NoteError):
    """A cosignature is malformed or does not verify."""


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A verified witness cosignature on one checkpoint."""

    witness: str
    timestamp: int
    signature: NoteSignature

    @property
    def line(self) -> str:
        return self.signature.line


def generate_witness_key(name: str) -> tuple[bytes, bytes]:
    """A fresh cosigner key pair ``(signer key, verifier key)`` (type 0x04); keep the first 0600."""
    return generate_key(name, SIG_COSIGNATURE_V1)


def cosign(checkpoint: Checkpoint, witness: Signer, timestamp: int) -> Cosignature:
    """Cosign ``checkpoint`` at POSIX ``timestamp``; the caller has checked consistency."""
    if witness.sig_type != SIG_COSIGNATURE_V1:
        raise CosignatureError("a witness key has signature type 0x04")
    blob = witness.sign(checkpoint.body().encode(), timestamp=timestamp)
    return Cosignature(witness.name, timestamp, NoteSignature(witness.name, blob[:4], blob[4:]))


def verify_cosignature(checkpoint: Checkpoint, line: str, witness: Verifier) -> Cosignature:
    """Check one signature line (with or without newline) against a witness key."""
    if witness.sig_type != SIG_COSIGNATURE_V1:
        raise CosignatureError("a witness key has signature type 0x04")
    sig = parse_signature_line(line.rstrip("\n"))
    if (sig.name, sig.key_id) != (witness.name, witness.key_id):
        raise CosignatureError(f"cosignature is not from witness {witness.name}")
    if not witness.verify(checkpoint.body().encode(), sig.signature):
        raise CosignatureError(f"invalid cosignature by {witness.name}")
    return Cosignature(witness.name, int.from_bytes(sig.signature[:8], "big"), sig)
