"""The logs' Ed25519 signing keys: one per log, key name = origin (docs/ledger.md §3).

The key file holds one signer key per line (`PRIVATE+KEY+<origin>+<id>+...`). Without
CIVICFORUM_LEDGER_KEY_FILE it is generated on first run into the instance folder, mode 0600.
The origin is `<host>/ledger/<log>`: with CIVICFORUM_LEDGER_ORIGIN_HOST set to the public
host name, that is the URL prefix the log is served under, scheme removed (C2SP tlog-tiles).
Unset, the host is the one the key file names, or for a new file a random one: no two
installations may share an origin, the name witnesses keep their state under.

A key is generated only for logs that have no signed checkpoint yet. Once they have one, a
missing key file, or one whose keys did not sign the latest checkpoints, stops start-up
naming the file: a new key would make every later checkpoint fail verification.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, current_app
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from civicforum.db import db
from civicforum.ledger.entry import LOGS
from civicforum.ledger.note import (
    SIG_ED25519,
    NoteError,
    Signer,
    Verifier,
    generate_key,
    parse_note,
    parse_signer_key,
    verified_signers,
)
from civicforum.logstore.models import LedgerCheckpoint

DEFAULT_FILE = "ledger_signing_keys"
EXTENSION = "civicforum_logstore_keys"


def origin_for(host: str, log: str) -> str:
    """The origin line (and key name) of a log: `<host>/ledger/<log>`."""
    return f"{host}/ledger/{log}"


class _KeptSigner(Signer):
    """The same signer, keeping its Ed25519 key object: rebuilding it from the seed for
    every checkpoint (as `Signer.sign` does) costs more than the signature itself, and the
    sequencer signs one checkpoint per batch under the head lock."""

    __slots__ = ("_key",)

    def sign(self, text: bytes, *, timestamp: int | None = None) -> bytes:
        if self.sig_type != SIG_ED25519:
            return Signer.sign(self, text, timestamp=timestamp)
        return self.key_id + self._key.sign(text)


def _kept(signer: Signer) -> Signer:
    kept = _KeptSigner(signer.name, signer.key_id, signer.sig_type, signer.seed)
    object.__setattr__(kept, "_key", Ed25519PrivateKey.from_private_bytes(signer.seed))
    return kept


@dataclass(frozen=True)
class LogKeys:
    signers: dict[str, Signer]
    _checkpoint_signers: dict[str, Signer] = field(default_factory=dict, repr=False)

    def signer(self, log: str) -> Signer:
        return self.signers[log]

    def checkpoint_signer(self, log: str) -> Signer:
        """`signer(log)` for signing checkpoints on the write path (key object kept)."""
        kept = self._checkpoint_signers.get(log)
        if kept is None:
            kept = self._checkpoint_signers[log] = _kept(self.signers[log])
        return kept

    def verifier(self, log: str) -> Verifier:
        return self.signers[log].verifier

    def origin(self, log: str) -> str:
        return self.signers[log].name


def key_file(app: Flask) -> Path:
    configured = app.config.get("LEDGER_KEY_FILE")
    return Path(configured) if configured else Path(app.instance_path) / DEFAULT_FILE


def _create(path: Path, text: str) -> None:
    # Several workers may start at once: write a private temp file, then link it into place,
    # which fails if another worker won; the loser then reads the winner's keys.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ledger-key-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


class MissingKeyError(RuntimeError):
    """The logs hold signed checkpoints, and the key that signed them is not there."""


def load_keys(app: Flask, *, stored: Mapping[str, str] | None = None) -> LogKeys:
    """Read (or create on first run) the signing keys; stop start-up on an unusable file.

    `stored` maps a log to its latest signed checkpoint note (`stored_checkpoints`): with
    one, the file must exist and hold the key that signed it."""
    configured = app.config.get("LEDGER_ORIGIN_HOST")
    path = key_file(app)
    if not path.exists():
        if app.config.get("LEDGER_KEY_FILE"):
            raise RuntimeError(f"CIVICFORUM_LEDGER_KEY_FILE {path} does not exist")
        if stored:
            raise MissingKeyError(
                f"ledger key file {path} is missing, but the logs hold signed checkpoints "
                f"({', '.join(sorted(stored))}): restore that file from a backup (or point "
                "CIVICFORUM_LEDGER_KEY_FILE at it). A new key would make every later "
                "checkpoint fail verification, so none is generated."
            )
        new_host = configured or f"{secrets.token_hex(6)}.civicforum.localhost"
        text = "".join(generate_key(origin_for(new_host, log))[0].decode() + "\n" for log in LOGS)
        _create(path, text)
    found: list[Signer] = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            found.append(parse_signer_key(line))
        except NoteError as exc:
            raise RuntimeError(f"{path} line {number}: {exc}") from exc
    named = origin_for("", LOGS[0])  # "/ledger/votes": the host is what comes before
    host = configured or next(
        (s.name.removesuffix(named) for s in found if s.name.endswith(named)), ""
    )
    signers = {log: s for s in found for log in LOGS if s.name == origin_for(host, log)}
    missing = [origin_for(host, log) for log in LOGS if log not in signers]
    if missing:
        # A new origin is a new log: changing LEDGER_ORIGIN_HOST must be a deliberate re-key.
        raise RuntimeError(
            f"ledger key file {path} has no signing key named {', '.join(missing)} (did "
            "CIVICFORUM_LEDGER_ORIGIN_HOST change? Keys made before origins were "
            "<host>/ledger/<log> are named <host>/civicforum/<log>: such a development "
            "instance starts afresh once its instance folder is moved away)"
        )
    for log, note in (stored or {}).items():
        if log in signers and not _signed_by(note, signers[log].verifier):
            raise MissingKeyError(
                f"ledger key file {path}: its key {signers[log].name} did not sign the latest "
                f"stored checkpoint of the {log} log. Restore the key file that signed it; "
                "checkpoints signed with another key would fail verification."
            )
    return LogKeys(signers)


def _signed_by(note: str, verifier: Verifier) -> bool:
    try:
        return bool(verified_signers(parse_note(note), [verifier]))
    except NoteError:
        return False  # a stored note that does not even parse: `ledger verify` says more


def stored_checkpoints(app: Flask) -> dict[str, str] | None:
    """The latest signed checkpoint note of each log that has one; {} before the schema
    exists (`db upgrade` starts the app too); None when the database cannot be read."""
    table = LedgerCheckpoint.__table__
    latest = select(func.max(table.c.id)).group_by(table.c.log).scalar_subquery()
    try:
        with app.app_context(), db.engine.connect() as conn:
            if not inspect(conn).has_table(table.name):
                return {}
            rows = conn.execute(select(table.c.log, table.c.note).where(table.c.id.in_(latest)))
            return {log: note for log, note in rows}
    except SQLAlchemyError as exc:
        app.logger.warning("could not compare the ledger keys with the stored checkpoints: %s", exc)
        return None


def init_app(app: Flask) -> None:
    stored = stored_checkpoints(app)
    if stored is None and not key_file(app).exists():
        # Without the database we cannot tell a first run from a lost key: generate nothing.
        raise MissingKeyError(
            f"ledger key file {key_file(app)} is missing and the database cannot be read to "
            "tell whether the logs hold signed checkpoints; start again once it can be"
        )
    app.extensions[EXTENSION] = load_keys(app, stored=stored)


def current_keys() -> LogKeys:
    keys: LogKeys = current_app.extensions[EXTENSION]
    return keys
