"""Signed promises: the receipt a voter gets before their ballot is sequenced.

Casts wait in a pool and are appended in shuffled batches (docs/ledger.md §2.2), so a voter
cannot get an inclusion proof at once. What they get is the log's signed promise, in the spirit
of RFC 6962's signed certificate timestamp (§3.2): the log key signs the entry's leaf hash and
the time by which the entry will be in the log under a signed checkpoint (`merge-by`). Once the
batch is sequenced the promise upgrades to a full ``.tlog-proof`` (`proof_file`); a promise
whose entry is missing after its `merge-by` is signed evidence of misbehaviour.

Unlike an SCT, a promise carries **no time of issue**: a ballot's promises all name its closing
time (every cast is sequenced by then, at the latest by the closing itself), which every voter
of that ballot shares, so holding a promise says nothing about when it was given.

Promise note text (signed with the log key, key name = origin), each line ending in a newline::

    civicforum.org/tlog-promise/v1
    <origin>
    <base64 leaf hash>
    merge-by <YYYY-MM-DDThh:mm:ssZ>

The first line can never be an origin (origins end in ``/ledger/<log>``) and the second is not a
decimal size, so a promise can never be read as a checkpoint signed by the same key.

Promise file (``.tlog-promise``), like a tlog-proof with the signed note in place of the proof::

    civicforum.org/tlog-promise@v1
    extra <base64 of the entry's canonical bytes>

    <signed promise note>
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from civicforum.ledger.merkle import HASH_SIZE, leaf_hash
from civicforum.ledger.note import (
    NoteError,
    Signer,
    Verifier,
    b64decode,
    b64encode,
    open_note,
    sign_note,
)

NOTE_HEADER = "civicforum.org/tlog-promise/v1"
FILE_HEADER = "civicforum.org/tlog-promise@v1"
_MERGE_BY = re.compile(r"merge-by ([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)")


class PromiseError(NoteError):
    """A promise or promise file is malformed or does not verify."""


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Promise:
    """The log named ``origin`` promises leaf ``leaf_hash`` under a checkpoint by ``merge_by``."""

    origin: str
    leaf_hash: bytes
    merge_by: datetime  # aware UTC, whole seconds

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or self.origin == NOTE_HEADER:
            raise PromiseError("promise origin must be one non-empty line")
        if len(self.leaf_hash) != HASH_SIZE:
            raise PromiseError("promised leaf hash is not 32 bytes")
        if self.merge_by.tzinfo is None:
            raise PromiseError("merge-by must be an aware UTC time")

    def body(self) -> str:
        lines = [
            NOTE_HEADER,
            self.origin,
            b64encode(self.leaf_hash),
            f"merge-by {_utc_text(self.merge_by)}",
        ]
        return "".join(line + "\n" for line in lines)


def parse_promise_body(text: str) -> Promise:
    """Parse a promise note text (signatures already split off)."""
    lines = text.split("\n")
    if len(lines) != 5 or lines[4] != "" or lines[0] != NOTE_HEADER:
        raise PromiseError(f"not a {NOTE_HEADER} note")
    origin, leaf, merge = lines[1], lines[2], lines[3]
    match = _MERGE_BY.fullmatch(merge)
    if match is None:
        raise PromiseError("malformed merge-by line")
    try:
        moment = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise PromiseError("malformed merge-by time") from exc
    return Promise(origin, b64decode(leaf, "promised leaf hash"), moment)


def sign_promise(promise: Promise, signer: Signer) -> str:
    """The signed promise note; the log key's name must be the promise's origin."""
    if signer.name != promise.origin:
        raise PromiseError("the log key name must equal the promise origin")
    return sign_note(promise.body(), [signer])


def open_promise(msg: str | bytes, log_key: Verifier) -> Promise:
    """Verify the log key's signature on a promise note and parse it."""
    note = open_note(msg, [log_key])
    promise = parse_promise_body(note.text)
    if promise.origin != log_key.name:
        raise PromiseError(f"promise origin {promise.origin!r} is not the log {log_key.name!r}")
    return promise


@dataclass(frozen=True, slots=True)
class PromiseFile:
    """A ``.tlog-promise``: the entry's canonical bytes and the signed promise note (verbatim)."""

    entry: bytes
    note: str


def format_promise_file(entry: bytes, note: str) -> str:
    return f"{FILE_HEADER}\nextra {b64encode(entry)}\n\n{note}"


def is_promise_file(text: str | bytes) -> bool:
    head = text[: len(FILE_HEADER) + 1]
    return (head.decode("utf-8", "replace") if isinstance(head, bytes) else head) == (
        FILE_HEADER + "\n"
    )


def parse_promise_file(text: str | bytes) -> PromiseFile:
    """Parse a ``.tlog-promise``; the note is kept verbatim and not yet verified."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PromiseError("promise file is not UTF-8") from exc
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or not note or len(lines) != 2 or lines[0] != FILE_HEADER:
        raise PromiseError(f"not a {FILE_HEADER} file")
    if not lines[1].startswith("extra "):
        raise PromiseError("promise file has no extra line")
    return PromiseFile(b64decode(lines[1][6:], "extra data"), note)


@dataclass(frozen=True, slots=True)
class VerifiedPromise:
    """A promise whose signature and entry check out: ``entry`` is what the log promised."""

    entry: bytes
    promise: Promise

    @property
    def leaf_hash(self) -> bytes:
        return self.promise.leaf_hash

    def overdue(self, now: datetime) -> bool:
        """Past merge-by: from now on a missing entry is evidence of misbehaviour."""
        return now > self.promise.merge_by


def verify_promise_file(promise_file: PromiseFile, log_key: Verifier) -> VerifiedPromise:
    """Check the log's signature and that the file's entry is the promised leaf."""
    promise = open_promise(promise_file.note, log_key)
    if leaf_hash(promise_file.entry) != promise.leaf_hash:
        raise PromiseError("the entry in the file is not the leaf the log promised")
    return VerifiedPromise(promise_file.entry, promise)
