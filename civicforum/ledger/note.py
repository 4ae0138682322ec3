"""C2SP signed-note with Ed25519 (type 0x01) and tlog-cosignature/v1 (type 0x04) keys.

A note is UTF-8 text ending in a newline, a blank line, then signature lines
``— <key name> base64(key ID || signature)``. Key IDs are
``SHA-256(name || 0x0A || type || public key)[:4]``. Keys are written in the sumdb/note text
forms: verifier ``<name>+<hex key ID>+base64(type || public key)`` and signer
``PRIVATE+KEY+<name>+<hex key ID>+base64(type || 32-byte seed)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
SIGNATURE_TYPES = (SIG_ED25519, SIG_COSIGNATURE_V1)
MAX_SIGNATURES = 64  # the spec asks verifiers to accept at least 16
MAX_NOTE_BYTES = 1 << 20
_DASH = "\u2014 "
_KEY_ID = re.compile(r"[0-9a-fA-F]{8}")  # written in lower case; read in either, as Go's note does


class NoteError(ValueError):
    """A note, key or signature is malformed or does not verify."""


def b64decode(text: str | bytes, what: str = "base64") -> bytes:
    """Strict standard base64 (RFC 4648 §4, padded, no whitespace)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"invalid {what}") from exc
    if base64.b64encode(raw) != (text.encode() if isinstance(text, str) else text):
        raise NoteError(f"non-canonical {what}")
    return raw


def b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def check_key_name(name: str) -> str:
    """Key names are non-empty and contain neither Unicode spaces nor '+'."""
    if not name or "+" in name or any(c.isspace() for c in name) or not name.isprintable():
        raise NoteError(f"invalid key name {name!r}")
    return name


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || type || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


def cosignature_message(text: bytes, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: header, time line, then the checkpoint body."""
    return b"cosignature/v1\ntime %d\n" % timestamp + text


MAX_TIMESTAMP = (1 << 63) - 1


@dataclass(frozen=True, slots=True)
class Verifier:
    """A trusted public key: name, key ID, signature type and 32-byte Ed25519 key."""

    name: str
    key_id: bytes
    sig_type: int
    public_key: bytes

    @property
    def text(self) -> str:
        """The verifier key text ``name+keyid+base64(type||key)``."""
        blob = b64encode(bytes([self.sig_type]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Check the signature part of a line (after the key ID) over the note text."""
        if self.sig_type == SIG_COSIGNATURE_V1:
            if len(signature) != 8 + 64:
                return False
            timestamp = int.from_bytes(signature[:8], "big")
            if timestamp > MAX_TIMESTAMP:
                return False
            text, signature = cosignature_message(text, timestamp), signature[8:]
        elif len(signature) != 64:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True, slots=True, repr=False)
class Signer:
    """A private key. ``repr`` is hidden so the seed never lands in a log line or traceback."""

    name: str
    key_id: bytes
    sig_type: int
    seed: bytes

    def __repr__(self) -> str:
        return f"Signer({self.name!r}, {self.key_id.hex()}, type={self.sig_type})"

    @property
    def text(self) -> str:
        """The signer key text ``PRIVATE+KEY+name+keyid+base64(type||seed)``; keep it secret."""
        blob = b64encode(bytes([self.sig_type]) + self.seed)
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{blob}"

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.key_id, self.sig_type, _public_key(self.seed))

    def sign(self, text: bytes, *, timestamp: int | None = None) -> bytes:
        """Key ID || signature over ``text`` (cosigners need a POSIX ``timestamp``)."""
        key = Ed25519PrivateKey.from_private_bytes(self.seed)
        if self.sig_type == SIG_COSIGNATURE_V1:
            if timestamp is None or not 0 <= timestamp <= MAX_TIMESTAMP:
                raise NoteError("a cosignature needs a timestamp")
            sig = key.sign(cosignature_message(text, timestamp))
            return self.key_id + timestamp.to_bytes(8, "big") + sig
        return self.key_id + key.sign(text)


def _public_key(seed: bytes) -> bytes:
    return (
        Ed25519PrivateKey.from_private_bytes(seed)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )


def signer_from_seed(name: str, seed: bytes, sig_type: int = SIG_ED25519) -> Signer:
    """Build a signer from a 32-byte Ed25519 seed."""
    check_key_name(name)
    if sig_type not in SIGNATURE_TYPES:
        raise NoteError(f"unsupported signature type {sig_type:#x}")
    if len(seed) != 32:
        raise NoteError("an Ed25519 seed is 32 bytes")
    return Signer(name, key_id(name, sig_type, _public_key(seed)), sig_type, seed)


def generate_key(name: str, sig_type: int = SIG_ED25519) -> tuple[bytes, bytes]:
    """A fresh key pair as ASCII texts ``(signer key, verifier key)``; store the first 0600."""
    signer = signer_from_seed(name, os.urandom(32), sig_type)
    return signer.text.encode(), signer.verifier.text.encode()


def _key_text(text: str | bytes) -> str:
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError as exc:
            raise NoteError("key text is not ASCII") from exc
    return text.strip()


def parse_verifier_key(text: str | bytes) -> Verifier:
    """Parse ``name+keyid+base64(type||key)`` and check the key ID."""
    parts = _key_text(text).split("+", 2)
    if len(parts) != 3 or not _KEY_ID.fullmatch(parts[1]):
        raise NoteError("malformed verifier key")
    name, hex_id, blob = parts
    check_key_name(name)
    raw = b64decode(blob, "verifier key")
    if len(raw) != 33 or raw[0] not in SIGNATURE_TYPES:
        raise NoteError("verifier key is not a supported Ed25519 key")
    verifier = Verifier(name, key_id(name, raw[0], raw[1:]), raw[0], raw[1:])
    if verifier.key_id.hex() != hex_id.lower():
        raise NoteError("verifier key ID does not match the key")
    return verifier


def parse_signer_key(text: str | bytes) -> Signer:
    """Parse ``PRIVATE+KEY+name+keyid+base64(type||seed)`` and check the key ID."""
    parts = _key_text(text).split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or not _KEY_ID.fullmatch(parts[3]):
        raise NoteError("malformed signer key")
    raw = b64decode(parts[4], "signer key")
    if len(raw) != 33 or raw[0] not in SIGNATURE_TYPES:
        raise NoteError("signer key is not a supported Ed25519 key")
    signer = signer_from_seed(parts[2], raw[1:], raw[0])
    if signer.key_id.hex() != parts[3].lower():
        raise NoteError("signer key ID does not match the key")
    return signer


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: key name, 4-byte key ID and the signature proper."""

    name: str
    key_id: bytes
    signature: bytes

    @property
    def line(self) -> str:
        return f"{_DASH}{self.name} {b64encode(self.key_id + self.signature)}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A parsed note: ``text`` includes its final newline; signatures in file order."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def format(self) -> str:
        return self.text + "\n" + "".join(s.line for s in self.signatures)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end in a newline")
    if any(c < " " and c != "\n" for c in text):
        raise NoteError("note contains a control character")


def parse_signature_line(line: str) -> NoteSignature:
    """Parse ``— <name> <base64>`` (without its newline)."""
    if not line.startswith(_DASH):
        raise NoteError("malformed signature line")
    name, sep, blob = line[len(_DASH) :].rpartition(" ")
    if not sep:
        raise NoteError("malformed signature line")
    check_key_name(name)
    raw = b64decode(blob, "signature")
    if len(raw) < 5:
        raise NoteError("signature too short")
    return NoteSignature(name, raw[:4], raw[4:])


def parse_note(msg: str | bytes) -> Note:
    """Split a signed note into text and signature lines; nothing is verified here."""
    if isinstance(msg, bytes):
        if len(msg) > MAX_NOTE_BYTES:
            raise NoteError("note too large")
        try:
            msg = msg.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("note is not UTF-8") from exc
    if len(msg) > MAX_NOTE_BYTES:
        raise NoteError("note too large")
    _check_text(msg)
    # The text is separated from the signatures by the LAST blank line.
    split = msg.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no signature block")
    text, block = msg[: split + 1], msg[split + 2 :]
    lines = block.split("\n")[:-1]
    if not lines:
        raise NoteError("note has no signatures")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError("too many signatures")
    return Note(text, tuple(parse_signature_line(line) for line in lines))


def sign_note(text: str, signers: Sequence[Signer], *, timestamp: int | None = None) -> str:
    """Sign ``text`` with every signer and return the whole note."""
    _check_text(text)
    if not signers:
        raise NoteError("no signers")
    raw = text.encode("utf-8")
    sigs = []
    for signer in signers:
        blob = signer.sign(raw, timestamp=timestamp)
        sigs.append(NoteSignature(signer.name, blob[:4], blob[4:]))
    return Note(text, tuple(sigs)).format()


def verified_signers(note: Note, verifiers: Iterable[Verifier]) -> list[Verifier]:
    """The trusted keys that signed ``note``.

    Lines from unknown keys are ignored (another name or ID: that is how witnesses cosign and keys
    rotate). A line from a known key that fails is an attack or corruption: reject the note.
    """
    known = {(v.name, v.key_id): v for v in verifiers}
    raw = note.text.encode("utf-8")
    good: list[Verifier] = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        if not verifier.verify(raw, sig.signature):
            raise NoteError(f"invalid signature by {sig.name}")
        if verifier not in good:
            good.append(verifier)
    return good


def open_note(msg: str | bytes, verifiers: Iterable[Verifier]) -> Note:
    """Parse and verify; raise NoteError unless at least one trusted key signed it."""
    note = parse_note(msg)
    if not verified_signers(note, verifiers):
        raise NoteError("note is not signed by a trusted key")
    return note
