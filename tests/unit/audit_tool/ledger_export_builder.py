"""Synthetic ledgers for tests: build logs with the pure ledger API and write them as exports."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from civicforum.audit_tool.recount import recount
from civicforum.ledger import entry as E
from civicforum.ledger import merkle, note
from civicforum.ledger.checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    open_checkpoint,
    sign_checkpoint,
)
from civicforum.ledger.export import ExportWriter

VOTES_ORIGIN = "forum.example.org/civicforum/votes"
CIVIC_ORIGIN = "forum.example.org/civicforum/civic"
DAY = "2025-03-01"


class LogBuilder:
    """An in-memory log that signs a checkpoint every ``every`` entries (and on demand)."""

    def __init__(self, log: str, origin: str, *, seed: bytes, every: int = 4) -> None:
        self.log = log
        self.signer = note.signer_from_seed(origin, seed)
        self.entries: list[bytes] = []
        self.source = merkle.MemoryHashSource()
        self.checkpoints: list[str] = []
        self.every = every

    @property
    def key(self) -> note.Verifier:
        return self.signer.verifier

    def add(self, data: bytes) -> int:
        self.entries.append(data)
        self.source.append(merkle.leaf_hash(data))
        if self.every and len(self.entries) % self.every == 0:
            self.sign()
        return len(self.entries) - 1

    def sign(self) -> SignedCheckpoint:
        size = len(self.entries)
        text = sign_checkpoint(Checkpoint(self.signer.name, size, self.source.root()), self.signer)
        if not self.checkpoints or _size(self.checkpoints[-1]) < size:
            self.checkpoints.append(text)
        return open_checkpoint(text, self.key)


def _size(note_text: str) -> int:
    return int(note_text.split("\n")[1])


class Election:
    """Drives the vote log through the service's sequence of appends."""

    def __init__(self, votes: LogBuilder) -> None:
        self.votes = votes
        self.results: dict[str, bytes] = {}
        self.live: dict[str, dict[str, Any]] = {}
        self.counts: dict[str, dict[str, int]] = {}
        self.trackers = 0

    def open(
        self,
        ballot: str,
        *,
        method: str = "approval",
        options: Sequence[str] = ("a", "b", "c"),
        rules: dict[str, Any] | None = None,
        secret: bool = True,
        vote_changes: bool = True,
    ) -> None:
        self.votes.add(
            E.ballot_opened(
                ballot=ballot,
                title=f"Ballot {ballot}",
                method=method,
                options=[(o, o.upper()) for o in options],
                rules=rules or {"seats": 1},
                eligibility="members",
                secret=secret,
                vote_changes=vote_changes,
                day=DAY,
            )
        )
        self.live[ballot] = {}
        self.counts[ballot] = {"cast": 0, "superseded": 0}

    def tracker(self) -> str:
        self.trackers += 1
        return f"{self.trackers:032x}"

    def cast(self, ballot: str, choice: Sequence[Any], voter: str | None = None) -> str:
        tracker = self.tracker()
        self.votes.add(
            E.ballot_cast(ballot=ballot, tracker=tracker, choice=choice, day=DAY, voter=voter)
        )
        self.live[ballot][tracker] = choice
        self.counts[ballot]["cast"] += 1
        return tracker

    def change(self, ballot: str, old: str, choice: Sequence[Any], voter: str | None = None) -> str:
        self.votes.add(E.ballot_superseded(ballot=ballot, tracker=old, day=DAY))
        del self.live[ballot][old]
        self.counts[ballot]["superseded"] += 1
        return self.cast(ballot, choice, voter)

    def close(self, ballot: str) -> SignedCheckpoint:
        n = len(self.live[ballot])
        self.votes.add(
            E.ballot_closed(ballot=ballot, counted=n, roll=n, day=DAY, **self.counts[ballot])
        )
        return self.votes.sign()  # the lot seed: signed right after closing

    def publish(self, ballot: str, closing: SignedCheckpoint, *, tamper: bool = False) -> int:
        opened = E.decode_entry(self.votes.entries[_opened_index(self.votes, ballot)], E.VOTE_LOG)
        result = recount(opened, list(self.live[ballot].values()), closing.checkpoint.root)
        if tamper:
            result = {**result, "winners": list(reversed(result["winners"])) + ["zz"]}
        data = E.canonical_json(result)
        self.results[ballot] = data
        return self.votes.add(
            E.result_published(
                ballot=ballot,
                result_sha256=hashlib.sha256(data).hexdigest(),
                checkpoint_size=closing.checkpoint.size,
                checkpoint_root=closing.checkpoint.root.hex(),
                day=DAY,
            )
        )


def _opened_index(log: LogBuilder, ballot: str) -> int:
    for i, data in enumerate(log.entries):
        e = E.parse_canonical(data)
        if e["type"] == "ballot.opened" and e["ballot"] == ballot:
            return i
    raise KeyError(ballot)


def civic_log(*, seed: bytes = b"c" * 32, every: int = 3) -> LogBuilder:
    civic = LogBuilder(E.CIVIC_LOG, CIVIC_ORIGIN, seed=seed, every=every)
    h = hashlib.sha256(b"text").hexdigest()
    civic.add(E.proposal_revision(proposal="p1", revision=1, content_sha256=h, day=DAY))
    civic.add(E.proposal_support(proposal="p1", supporter="s1", day=DAY))
    civic.add(
        E.proposal_transition(
            proposal="p1", from_state="draft", to_state="open", reason="ready", day=DAY
        )
    )
    civic.add(E.proposal_support(proposal="p1", supporter="s2", day=DAY))
    civic.add(E.proposal_support(proposal="p1", supporter="s1", day=DAY, withdrawn=True))
    civic.add(E.proposal_revision(proposal="p1", revision=2, content_sha256=h, day=DAY))
    civic.add(
        E.moderation_action(
            action_id="m1",
            item="comment:42",
            action="hide",
            reason="off topic",
            previous="visible",
            new="hidden",
            moderator="mod1",
            day=DAY,
        )
    )
    civic.add(
        E.proposal_transition(
            proposal="p1", from_state="open", to_state="voting", reason="enough support", day=DAY
        )
    )
    civic.sign()
    return civic


def standard_election(*, seed: bytes = b"v" * 32, every: int = 4) -> Election:
    """Two ballots (approval with a vote change; ranked IRV, public) closed and published."""
    votes = LogBuilder(E.VOTE_LOG, VOTES_ORIGIN, seed=seed, every=every)
    el = Election(votes)
    el.open("b1", rules={"seats": 1, "maxApprovals": 2})
    t1 = el.cast("b1", ["a"])
    el.cast("b1", ["b"])
    el.cast("b1", ["a", "c"])
    el.change("b1", t1, ["b", "c"])
    el.open("b2", method="irv", options=("x", "y", "z"), secret=False)
    el.cast("b2", [["x"], ["y"]], voter="alice")
    el.cast("b2", [["y"], ["x"]], voter="bob")
    el.cast("b2", [["z"], ["x"]], voter="carol")
    closing = el.close("b1")
    el.publish("b1", closing)
    closing = el.close("b2")
    el.publish("b2", closing)
    votes.add(
        E.ballot_opened(
            ballot="b3",
            title="Still open",
            method="approval",
            options=[("a", "A")],
            rules={"seats": 1},
            eligibility="members",
            secret=True,
            vote_changes=False,
            day=DAY,
        )
    )
    votes.sign()
    return el


def write_export(
    directory: Path,
    votes: LogBuilder,
    results: dict[str, bytes],
    civic: LogBuilder | None = None,
    *,
    entries: list[bytes] | None = None,
    checkpoints: list[str] | None = None,
    cosignatures: Sequence[tuple[int, str, str]] = (),
) -> Path:
    """Write an export; ``entries``/``checkpoints`` override the vote log's (for tampering)."""
    with ExportWriter(directory) as writer:
        writer.write_log(
            E.VOTE_LOG,
            origin=votes.signer.name,
            verifier_key=votes.key.text,
            entries=votes.entries if entries is None else entries,
            checkpoints=votes.checkpoints if checkpoints is None else checkpoints,
            cosignatures=cosignatures,
        )
        if civic is not None:
            writer.write_log(
                E.CIVIC_LOG,
                origin=civic.signer.name,
                verifier_key=civic.key.text,
                entries=civic.entries,
                checkpoints=civic.checkpoints,
            )
        for ballot, data in results.items():
            writer.write_result(ballot, data)
    return directory


def uncovered_tail_export(directory: Path) -> tuple[Path, Election, int]:
    """The auditor's case: the last checkpoint dropped, then the last entry edited (its leaf
    hash recomputed by the writer). Returns the export, its election and that entry's index."""
    el = standard_election(every=1)
    entries = list(el.votes.entries)
    last = len(entries) - 1
    entries[last] = entries[last].replace(b"Still open", b"Still opeN")
    path = write_export(
        directory, el.votes, el.results, entries=entries, checkpoints=el.votes.checkpoints[:-1]
    )
    return path, el, last
