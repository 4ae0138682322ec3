"""A pull witness (C2SP tlog-witness semantics over civicforum's HTTP API, docs/ledger.md §7).

It remembers the last checkpoint it verified per origin, fetches the latest checkpoint and a
consistency proof from its saved size, and cosigns only if the log is an append-only extension of
what it saw before. The HTTP transport is injected (:class:`Fetcher`) so tests use a fake server.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from civicforum.ledger.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint_body
from civicforum.ledger.cosignature import Cosignature, cosign
from civicforum.ledger.merkle import ProofError, verify_consistency
from civicforum.ledger.note import (
    NoteError,
    Signer,
    Verifier,
    b64decode,
    b64encode,
    parse_note,
)


class WitnessError(Exception):
    """The log misbehaved (or could not be checked); ``evidence`` is the offending checkpoint."""

    def __init__(self, message: str, evidence: str | None = None) -> None:
        super().__init__(message)
        self.evidence = evidence


class WrongLogKeyError(WitnessError):
    """The checkpoint is not signed by the pinned log key: re-keyed, or the wrong key given."""


class Fetcher(Protocol):
    def get(self, path: str) -> bytes: ...

    def post(self, path: str, body: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class HttpFetcher:
    """``urllib`` against ``base_url`` (e.g. ``https://forum.example.org``)."""

    base_url: str
    timeout: float = 30.0

    def _url(self, path: str) -> str:
        return urllib.parse.urljoin(self.base_url.rstrip("/") + "/", path.lstrip("/"))

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self._url(path), timeout=self.timeout) as response:  # noqa: S310
            data: bytes = response.read()
            return data

    def post(self, path: str, body: bytes) -> bytes:
        request = urllib.request.Request(
            self._url(path),
            data=body,
            method="POST",
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            data: bytes = response.read()
            return data


@dataclass(frozen=True, slots=True)
class WitnessState:
    """The last checkpoint this witness verified (and cosigned) for one origin."""

    origin: str
    size: int
    root: bytes
    checkpoint: str

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "root": b64encode(self.root), "checkpoint": self.checkpoint}

    @classmethod
    def from_json(cls, origin: str, data: dict[str, Any]) -> WitnessState:
        return cls(origin, int(data["size"]), b64decode(data["root"]), str(data["checkpoint"]))


def load_states(path: Path) -> tuple[dict[str, WitnessState], list[str]]:
    """Read the state file: ``{"logs": {origin: state}, "evidence": [checkpoint texts]}``."""
    if not path.exists():
        return {}, []
    data = json.loads(path.read_text(encoding="utf-8"))
    states = {o: WitnessState.from_json(o, s) for o, s in data.get("logs", {}).items()}
    return states, list(data.get("evidence", []))


def save_states(path: Path, states: dict[str, WitnessState], evidence: list[str]) -> None:
    """Write atomically: a witness must never lose (or roll back) what it has seen."""
    data = {"logs": {o: s.to_json() for o, s in sorted(states.items())}, "evidence": evidence}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class WitnessOutcome:
    checkpoint: Checkpoint
    state: WitnessState
    cosignature: Cosignature
    first_contact: bool


def witness_once(
    fetch: Fetcher,
    *,
    log: str,
    log_key: Verifier,
    witness: Signer,
    state: WitnessState | None,
    now: int,
) -> WitnessOutcome:
    """Fetch, verify against ``state`` and cosign the log's latest checkpoint."""
    text = fetch.get(f"/ledger/{log}/checkpoint").decode("utf-8")
    try:
        cp = open_checkpoint(text, log_key).checkpoint
    except NoteError as exc:
        message = f"checkpoint does not verify under the log key: {exc}"
        origin = _origin(text)
        if origin is not None and origin != log_key.name:
            message += f" (it is from {origin}, the log key is for {log_key.name})"
        raise WrongLogKeyError(message) from exc
    if state is not None:
        if cp.size < state.size:
            raise WitnessError(
                f"ROLLBACK: the log now shows size {cp.size}, the witness saw {state.size}", text
            )
        if cp.size == state.size and cp.root != state.root:
            raise WitnessError(f"SPLIT VIEW: two different roots at size {cp.size}", text)
        if cp.size > state.size and state.size > 0:
            _check_consistency(fetch, log, state, cp, text)
    state_now = WitnessState(cp.origin, cp.size, cp.root, text)
    return WitnessOutcome(cp, state_now, cosign(cp, witness, now), state is None)


def _origin(text: str) -> str | None:
    try:
        return parse_checkpoint_body(parse_note(text).text).origin
    except NoteError:
        return None


def _check_consistency(
    fetch: Fetcher, log: str, state: WitnessState, cp: Checkpoint, text: str
) -> None:
    path = f"/ledger/{log}/proof/consistency?from={state.size}&to={cp.size}"
    try:
        data = json.loads(fetch.get(path))
        if data["from"] != state.size or data["to"] != cp.size:
            raise WitnessError("the server answered a proof for other sizes")
        proof = [b64decode(h, "proof hash") for h in data["proof"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise WitnessError(f"malformed consistency proof response: {exc}") from exc
    try:
        verify_consistency(state.size, cp.size, state.root, cp.root, proof)
    except ProofError as exc:
        raise WitnessError(
            f"INCONSISTENT: size {cp.size} does not extend the saved size {state.size}: {exc}",
            text,
        ) from exc


def cosignature_submission(checkpoint: Checkpoint, cosignature: Cosignature) -> bytes:
    """``POST /ledger/<log>/cosignatures`` body: checkpoint body, blank line, cosignature line."""
    return (checkpoint.body() + "\n" + cosignature.line).encode("utf-8")
