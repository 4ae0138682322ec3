"""C2SP tlog-checkpoint: origin, tree size, base64 root, optional extension lines."""

from __future__ import annotations

import re
from dataclasses import dataclass

from civicforum.ledger.merkle import HASH_SIZE
from civicforum.ledger.note import (
    Note,
    NoteError,
    Signer,
    Verifier,
    b64decode,
    b64encode,
    open_note,
    sign_note,
)

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
MAX_TREE_SIZE = (1 << 63) - 1


class CheckpointError(NoteError):
    """A checkpoint body is malformed, or its signature does not verify."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head: ``origin`` names the log, ``root`` is the RFC 6962 root at ``size``."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("checkpoint origin must be one non-empty line")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError("checkpoint size out of range")
        if len(self.root) != HASH_SIZE:
            raise CheckpointError("checkpoint root is not 32 bytes")
        if any(not line or "\n" in line for line in self.extensions):
            raise CheckpointError("extension lines must be non-empty single lines")

    def body(self) -> str:
        """The note text: each line newline-terminated."""
        lines = [self.origin, str(self.size), b64encode(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Parse a checkpoint note text (signatures already split off)."""
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint body must end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint body needs origin, size and root lines")
    origin, size, root, *ext = lines
    if not _DECIMAL.fullmatch(size):
        raise CheckpointError("checkpoint size is not a canonical decimal")
    try:
        raw_root = b64decode(root, "checkpoint root")
    except NoteError as exc:
        raise CheckpointError(str(exc)) from exc
    return Checkpoint(origin, int(size), raw_root, tuple(ext))


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    """The signed note for ``checkpoint``; the log key's name must be the origin."""
    if signer.name != checkpoint.origin:
        raise CheckpointError("the log key name must equal the checkpoint origin")
    return sign_note(checkpoint.body(), [signer])


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A verified checkpoint with its note (which may carry witness cosignatures)."""

    checkpoint: Checkpoint
    note: Note

    @property
    def text(self) -> str:
        return self.note.format()


def open_checkpoint(msg: str | bytes, log_key: Verifier) -> SignedCheckpoint:
    """Verify the log's signature and parse; the origin must be the log key's name."""
    note = open_note(msg, [log_key])
    checkpoint = parse_checkpoint_body(note.text)
    if checkpoint.origin != log_key.name:
        raise CheckpointError(
            f"checkpoint origin {checkpoint.origin!r} is not the log {log_key.name!r}"
        )
    return SignedCheckpoint(checkpoint, note)
