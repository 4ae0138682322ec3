"""The export format: a directory (or a .zip of it) that auditors verify offline.

This is the ledger's only file-I/O module: a streaming writer for the storage layer and a streaming
reader for the auditor. Layout (``docs/ledger.md`` §6)::

    manifest.json
    <log>/log.vkey  <log>/entries.jsonl  <log>/checkpoints.jsonl  <log>/cosignatures.jsonl
    results/<ballot>.json
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from civicforum.ledger.entry import LOGS, EntryError, canonical_json, parse_canonical
from civicforum.ledger.merkle import leaf_hash

FORMAT = "civicforum-ledger-export/1"
MANIFEST = "manifest.json"
ENTRIES = "entries.jsonl"
CHECKPOINTS = "checkpoints.jsonl"
COSIGNATURES = "cosignatures.jsonl"
VKEY = "log.vkey"


class ExportError(ValueError):
    """The export is malformed (not a verification failure of its contents)."""


@dataclass(slots=True)
class ExportedEntry:
    """One ``entries.jsonl`` line (not frozen: frozen __init__ is slow and there are millions)."""

    index: int
    entry: bytes
    leaf_hash: bytes


@dataclass(frozen=True, slots=True)
class ExportedCheckpoint:
    size: int
    note: str


@dataclass(frozen=True, slots=True)
class ExportedCosignature:
    size: int
    witness: str
    line: str


def _line(value: dict[str, Any]) -> str:
    return canonical_json(value).decode("utf-8") + "\n"


_ENTRY_HEAD = b'{"entry":'
_INDEX_KEY = b',"index":'
_HASH_KEY = b',"leaf_hash":"'


def entry_line(index: int, entry: bytes) -> str:
    """One ``entries.jsonl`` line: ``{"entry":<leaf bytes>,"index":i,"leaf_hash":"<hex>"}``.

    The leaf bytes (canonical JSON) are embedded verbatim, so the line is itself canonical JSON
    and the reader takes the exact bytes between ``{"entry":`` and the last ``,"index":``.
    """
    try:
        parse_canonical(entry)
    except EntryError as exc:
        raise ExportError(f"entry {index} is not canonical JSON: {exc}") from exc
    text = entry.decode("utf-8")
    return f'{{"entry":{text},"index":{index},"leaf_hash":"{leaf_hash(entry).hex()}"}}\n'


def parse_entry_line(line: bytes) -> ExportedEntry:
    """Split an ``entries.jsonl`` line without a JSON parser (the entry is parsed once, later)."""
    cut = line.rfind(_INDEX_KEY)
    tail = line[cut + len(_INDEX_KEY) :].rstrip(b"\r\n")
    index, sep, digest = tail.partition(_HASH_KEY)
    if (
        cut <= 0
        or not line.startswith(_ENTRY_HEAD)
        or not sep
        or not (index.isdigit() and (index == b"0" or index[0] != 0x30) and len(index) < 17)
        or len(digest) != 66
        or not digest.endswith(b'"}')
    ):
        raise ExportError("malformed entry line")
    try:
        leaf = bytes.fromhex(digest[:64].decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ExportError("malformed leaf hash") from exc
    if len(leaf) != 32:
        raise ExportError("malformed leaf hash")
    return ExportedEntry(int(index), line[len(_ENTRY_HEAD) : cut], leaf)


def write_entries(fp: IO[str], entries: Iterable[bytes], start: int = 0) -> int:
    """Stream ``entries`` (leaf bytes, in index order from ``start``); return how many."""
    n = 0
    for n, data in enumerate(entries, 1):
        fp.write(entry_line(start + n - 1, data))
    return n


def write_checkpoints(fp: IO[str], notes: Iterable[str]) -> int:
    """Stream signed checkpoint notes (increasing sizes); the size is read from each body."""
    n = 0
    last = -1
    for note in notes:
        size = _note_size(note)
        if size <= last:
            raise ExportError("checkpoints must have strictly increasing sizes")
        last = size
        fp.write(_line({"size": size, "note": note}))
        n += 1
    return n


def write_cosignatures(fp: IO[str], cosignatures: Iterable[tuple[int, str, str]]) -> int:
    """Stream ``(checkpoint size, witness verifier key, signature line)`` triples."""
    n = 0
    for size, witness, line in cosignatures:
        fp.write(_line({"size": size, "witness": witness, "line": line.rstrip("\n")}))
        n += 1
    return n


def _note_size(note: str) -> int:
    lines = note.split("\n", 2)
    if len(lines) < 3 or not lines[1].isdigit():
        raise ExportError("not a checkpoint note")
    return int(lines[1])


class ExportWriter(AbstractContextManager["ExportWriter"]):
    """Writes an export directory; ``close()`` (or leaving the ``with``) writes the manifest."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.logs: dict[str, dict[str, Any]] = {}

    def write_log(
        self,
        log: str,
        *,
        origin: str,
        verifier_key: str,
        entries: Iterable[bytes],
        checkpoints: Iterable[str],
        cosignatures: Iterable[tuple[int, str, str]] = (),
    ) -> int:
        """Write one log's four files from iterables; returns the number of entries."""
        if log not in LOGS:
            raise ExportError(f"unknown log {log!r}")
        folder = self.directory / log
        folder.mkdir(exist_ok=True)
        (folder / VKEY).write_text(verifier_key.strip() + "\n", encoding="utf-8")
        with (folder / ENTRIES).open("w", encoding="utf-8", newline="\n") as fp:
            size = write_entries(fp, entries)
        with (folder / CHECKPOINTS).open("w", encoding="utf-8", newline="\n") as fp:
            write_checkpoints(fp, checkpoints)
        with (folder / COSIGNATURES).open("w", encoding="utf-8", newline="\n") as fp:
            write_cosignatures(fp, cosignatures)
        self.logs[log] = {"origin": origin, "size": size}
        return size

    def write_result(self, ballot: str, result_json: bytes) -> None:
        """``results/<ballot>.json``: the exact bytes whose SHA-256 ``result.published`` holds."""
        folder = self.directory / "results"
        folder.mkdir(exist_ok=True)
        (folder / f"{_safe_name(ballot)}.json").write_bytes(result_json)

    def close(self) -> None:
        manifest = {"format": FORMAT, "logs": self.logs}
        (self.directory / MANIFEST).write_bytes(canonical_json(manifest) + b"\n")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()


def _safe_name(ballot: str) -> str:
    if not ballot or not all(c.isascii() and (c.isalnum() or c in "-_") for c in ballot):
        raise ExportError(f"unsafe ballot id {ballot!r}")
    return ballot


def zip_export(directory: Path, target: Path) -> None:
    """Zip an export directory (members at the archive root)."""
    directory = Path(directory)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(directory).as_posix())


# --------------------------------------------------------------------------- reader


class ExportReader:
    """Streams an export directory or zip; open it with :func:`open_export`."""

    def __init__(self, root: Path | None, archive: zipfile.ZipFile | None, prefix: str) -> None:
        self._root = root
        self._zip = archive
        self._prefix = prefix
        try:
            manifest = json.loads(self.read_bytes(MANIFEST))
        except (KeyError, FileNotFoundError, ValueError) as exc:
            raise ExportError("missing or unreadable manifest.json") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ExportError(f"not a {FORMAT} export")
        logs = manifest.get("logs")
        if not isinstance(logs, dict) or not set(logs) <= set(LOGS):
            raise ExportError("manifest lists unknown logs")
        self.manifest: dict[str, Any] = manifest

    @property
    def logs(self) -> list[str]:
        return [log for log in LOGS if log in self.manifest["logs"]]

    def origin(self, log: str) -> str:
        return str(self.manifest["logs"][log]["origin"])

    def size(self, log: str) -> int:
        return int(self.manifest["logs"][log]["size"])

    def exists(self, name: str) -> bool:
        if self._zip is not None:
            return self._prefix + name in self._zip.NameToInfo
        assert self._root is not None
        return (self._root / name).is_file()

    def open_binary(self, name: str) -> IO[bytes]:
        if self._zip is not None:
            return self._zip.open(self._prefix + name)
        assert self._root is not None
        return (self._root / name).open("rb")

    def read_bytes(self, name: str) -> bytes:
        with self.open_binary(name) as fp:
            return fp.read()

    def verifier_key(self, log: str) -> str:
        return self.read_bytes(f"{log}/{VKEY}").decode("utf-8").strip()

    def result(self, ballot: str) -> bytes | None:
        name = f"results/{_safe_name(ballot)}.json"
        return self.read_bytes(name) if self.exists(name) else None

    def _lines(self, name: str) -> Iterator[tuple[int, Any]]:
        if not self.exists(name):
            return
        with io.TextIOWrapper(self.open_binary(name), encoding="utf-8") as fp:
            for number, line in enumerate(fp, 1):
                try:
                    yield number, json.loads(line)
                except ValueError as exc:
                    raise ExportError(f"{name} line {number}: not JSON") from exc

    def iter_entries(self, log: str) -> Iterator[ExportedEntry]:
        """Entries in file order (the auditor checks the indices)."""
        name = f"{log}/{ENTRIES}"
        if not self.exists(name):
            return
        with self.open_binary(name) as fp:
            for number, line in enumerate(fp, 1):
                try:
                    yield parse_entry_line(line)
                except ExportError as exc:
                    raise ExportError(f"{name} line {number}: {exc}") from exc

    def iter_checkpoints(self, log: str) -> Iterator[ExportedCheckpoint]:
        name = f"{log}/{CHECKPOINTS}"
        for number, row in self._lines(name):
            if (
                not isinstance(row, dict)
                or not isinstance(row.get("size"), int)
                or not isinstance(row.get("note"), str)
            ):
                raise ExportError(f"{name} line {number}: malformed checkpoint line")
            yield ExportedCheckpoint(row["size"], row["note"])

    def iter_cosignatures(self, log: str) -> Iterator[ExportedCosignature]:
        name = f"{log}/{COSIGNATURES}"
        for number, row in self._lines(name):
            try:
                yield ExportedCosignature(int(row["size"]), str(row["witness"]), str(row["line"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise ExportError(f"{name} line {number}: malformed cosignature line") from exc

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> ExportReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_export(path: Path) -> ExportReader:
    """Open an export directory or ``.zip`` (members at the root or under one folder)."""
    path = Path(path)
    if path.is_dir():
        return ExportReader(path, None, "")
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ExportError(f"{path} is neither an export directory nor a zip") from exc
    manifests = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == MANIFEST]
    prefix = min(manifests, key=len)[: -len(MANIFEST)] if manifests else ""
    try:
        return ExportReader(None, archive, prefix)
    except ExportError:
        archive.close()
        raise
