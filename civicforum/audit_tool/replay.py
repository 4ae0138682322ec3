"""Replaying the two logs' entries: the rules of docs/ledger.md §1.3 and §1.4.

Each ``apply`` raises :class:`ReplayError` at the first entry that breaks a rule. Memory grows with
the live ballots of *open* ballots (needed to recount them) and the active supports, and is freed
when a ballot's result has been checked; it does not grow with the length of the log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from civicforum.ledger.entry import APPROVAL_METHODS, BUDGET_METHOD, canonical_json

Recount = Callable[[Mapping[str, Any], Sequence[Any], bytes], Mapping[str, Any]]
"""``(ballot.opened entry, live choices, lot seed) -> result JSON``."""

ResultLookup = Callable[[str], bytes | None]


class ReplayError(ValueError):
    """An entry breaks a replay rule."""


@dataclass(slots=True)
class BallotState:
    opened: dict[str, Any]
    options: frozenset[str]
    live: dict[str, tuple[Any, str | None]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    voters: dict[str, str] = field(default_factory=dict)
    cast: int = 0
    superseded: int = 0
    closed_at: int | None = None
    seed: bytes | None = None
    published: bool = False
    marked: bool = False  # a ballot.superseded of this ballot was seen (mixed ballots only)

    @property
    def mixed(self) -> bool:
        """Opened with an electorate commitment: casts were pooled and shuffled, and vote
        changes are published at closing (§1.3). Older ballots follow the adjacency rule."""
        return "electorate" in self.opened

    def live_choices(self) -> list[Any]:
        """The counted choices, in log order."""
        return [choice for choice, _ in self.live.values()]


@dataclass(slots=True)
class VoteReplay:
    """State machine over the vote log; ``recount`` None skips re-tabulation (reported)."""

    recount: Recount | None
    result_bytes: ResultLookup
    ballots: dict[str, BallotState] = field(default_factory=dict)
    pending: tuple[str, str, str | None] | None = None  # a superseded awaiting its new cast
    closed_sizes: dict[int, str] = field(default_factory=dict)
    recounted: int = 0
    not_recounted: list[str] = field(default_factory=list)

    def apply(self, index: int, e: dict[str, Any], root_now: Callable[[], bytes]) -> None:
        """Check one entry; ``root_now()`` is the root including this entry."""
        kind = e["type"]
        ballot_id = e["ballot"]
        if self.pending is not None and (kind != "ballot.cast" or ballot_id != self.pending[0]):
            if ballot_id != self.pending[0] or kind not in ("ballot.superseded", "ballot.closed"):
                raise ReplayError("ballot.superseded is not immediately followed by its new cast")
            # A ballot opened before casts were pooled, closed by a version that marks vote
            # changes at closing: its last marks precede ballot.closed, with no cast after.
            self.pending = None
        if kind == "ballot.opened":
            if ballot_id in self.ballots:
                raise ReplayError(f"ballot {ballot_id} opened twice")
            options = frozenset(o["id"] for o in e["options"])
            self.ballots[ballot_id] = BallotState(e, options)
            return
        state = self.ballots.get(ballot_id)
        if state is None:
            raise ReplayError(f"ballot {ballot_id} was never opened")
        if kind == "result.published":
            self._result(state, e)
            return
        if state.closed_at is not None:
            raise ReplayError(f"{kind} after ballot {ballot_id} was closed")
        if kind == "ballot.cast":
            self._cast(state, e)
        elif kind == "ballot.superseded":
            self._superseded(state, e)
        else:
            self._closed(state, e, index, root_now())

    def _cast(self, state: BallotState, e: dict[str, Any]) -> None:
        opened = state.opened
        tracker = e["tracker"]
        if tracker in state.seen:
            raise ReplayError(f"tracker {tracker} used twice")
        check_choice(opened, state.options, e["choice"])
        voter = e.get("voter")
        if opened["secret"] and voter is not None:
            raise ReplayError("a secret ballot names its voter")
        if not opened["secret"] and voter is None:
            raise ReplayError("a public ballot must name its voter")
        if state.mixed:
            # What keeps a pooled ballot's casts from telling when they were made or which
            # one replaced which: every cast carries the day the ballot opened, and vote
            # changes are marked only after the last cast, so no mark sits next to its
            # replacement (a voter's several live casts are checked at closing).
            if e["day"] != state.opened["day"]:
                raise ReplayError("a cast must carry the day its ballot opened, not its own")
            if state.marked:
                raise ReplayError("a cast after the ballot's vote changes were marked")
            if voter is not None and voter in state.voters and not state.opened["vote_changes"]:
                raise ReplayError(f"voter {voter} already has a live ballot")
        elif self.pending is not None:
            if voter != self.pending[2]:
                raise ReplayError("a vote change must be cast by the same voter")
            self.pending = None
        elif voter is not None and voter in state.voters:
            raise ReplayError(f"voter {voter} already has a live ballot")
        state.seen.add(tracker)
        state.live[tracker] = (e["choice"], voter)
        if voter is not None:
            state.voters[voter] = tracker
        state.cast += 1

    def _superseded(self, state: BallotState, e: dict[str, Any]) -> None:
        if not state.opened["vote_changes"]:
            raise ReplayError("vote changes are not allowed on this ballot")
        tracker = e["tracker"]
        if tracker not in state.live:
            raise ReplayError(f"superseded tracker {tracker} is not a live ballot")
        _, voter = state.live.pop(tracker)
        state.superseded += 1
        if state.mixed:
            state.marked = True
            return
        if voter is not None:
            del state.voters[voter]
        self.pending = (e["ballot"], tracker, voter)

    def _closed(self, state: BallotState, e: dict[str, Any], index: int, root: bytes) -> None:
        counts = e["counts"]
        expected = {
            "cast": state.cast,
            "superseded": state.superseded,
            "counted": len(state.live),
            "roll": len(state.live),
        }
        if counts != expected:
            raise ReplayError(f"ballot.closed counts {counts} but the log replays to {expected}")
        if state.mixed:
            electorate = state.opened["electorate"]["size"]
            if counts["roll"] > electorate:
                raise ReplayError(
                    f"{counts['roll']} voters took part but the electorate fixed at opening "
                    f"has {electorate}"
                )
            voters = [voter for _, voter in state.live.values() if voter is not None]
            if len(voters) != len(set(voters)):
                raise ReplayError("a voter has more than one live ballot at closing")
        state.closed_at = index
        state.seed = root
        self.closed_sizes[index + 1] = e["ballot"]

    def _result(self, state: BallotState, e: dict[str, Any]) -> None:
        ballot_id = e["ballot"]
        if state.closed_at is None or state.seed is None:
            raise ReplayError(f"result published before ballot {ballot_id} was closed")
        if state.published:
            raise ReplayError(f"second result for ballot {ballot_id}")
        ref = e["checkpoint"]
        if ref["size"] != state.closed_at + 1 or ref["root"] != state.seed.hex():
            raise ReplayError(
                f"result must cite the checkpoint right after closing (size {state.closed_at + 1}"
                f", root {state.seed.hex()})"
            )
        published = self.result_bytes(ballot_id)
        if published is None:
            raise ReplayError(f"results/{ballot_id}.json is missing from the export")
        if hashlib.sha256(published).hexdigest() != e["result_sha256"]:
            raise ReplayError(f"results/{ballot_id}.json does not match result_sha256")
        state.published = True
        if self.recount is None:
            self.not_recounted.append(ballot_id)
        else:
            choices = state.live_choices()
            try:
                result = self.recount(state.opened, choices, state.seed)
                recounted = canonical_json(result)
            except Exception as exc:  # the tabulation raised: the ballot cannot be recounted
                raise ReplayError(f"recount of ballot {ballot_id} failed: {exc}") from exc
            if recounted != published:
                raise ReplayError(
                    f"recount of ballot {ballot_id} differs from the published result"
                )
            self.recounted += 1
        # The result is checked: the ballots are no longer needed.
        state.live.clear()
        state.seen.clear()
        state.voters.clear()

    def finish(self) -> list[str]:
        """End of log: raise on a dangling vote change; return warnings."""
        if self.pending is not None:
            raise ReplayError("the log ends between a ballot.superseded and its new cast")
        return [
            f"ballot {b} is closed but has no published result yet"
            for b, s in self.ballots.items()
            if s.closed_at is not None and not s.published
        ]


def check_choice(opened: Mapping[str, Any], options: frozenset[str], choice: Sequence[Any]) -> None:
    """A choice has the method's shape, names only this ballot's options and respects limits."""
    rules = opened["rules"]
    if opened["method"] == BUDGET_METHOD:
        from civicforum.audit_tool.recount import budget_problem

        problem = budget_problem(opened, choice)
        if problem is not None:
            raise ReplayError(f"invalid budget ballot: {problem}")
        return
    if opened["method"] in APPROVAL_METHODS:
        if not all(isinstance(c, str) for c in choice):
            raise ReplayError("an approval choice is a list of option ids")
        flat = list(choice)
        limit = rules.get("maxApprovals")
    else:
        if not all(isinstance(c, list) for c in choice):
            raise ReplayError("a ranked choice is a list of positions")
        flat = [o for position in choice for o in position]
        max_ranks = rules.get("maxRankingsAllowed")
        if isinstance(max_ranks, int) and len(choice) > max_ranks:
            raise ReplayError(f"more than {max_ranks} rankings")
        limit = None
    if unknown := set(flat) - options:
        raise ReplayError(f"choice names unknown options {sorted(unknown)}")
    if isinstance(limit, int) and len(flat) > limit:
        raise ReplayError(f"more than {limit} approvals")


@dataclass(slots=True)
class CivicReplay:
    """State machine over the civic record."""

    revisions: dict[str, int] = field(default_factory=dict)
    supports: set[tuple[str, str]] = field(default_factory=set)
    states: dict[str, str] = field(default_factory=dict)
    projects: set[tuple[str, str]] = field(default_factory=set)

    def apply(self, index: int, e: dict[str, Any], root_now: Callable[[], bytes]) -> None:
        kind = e["type"]
        if kind == "proposal.revision":
            expected = self.revisions.get(e["proposal"], 0) + 1
            if e["revision"] != expected:
                raise ReplayError(f"revision {e['revision']} where {expected} was expected")
            self.revisions[e["proposal"]] = expected
        elif kind == "proposal.support":
            key = (e["proposal"], e["supporter"])
            if key in self.supports:
                raise ReplayError("supporter already supports this proposal")
            self.supports.add(key)
        elif kind == "proposal.support_withdrawn":
            key = (e["proposal"], e["supporter"])
            if key not in self.supports:
                raise ReplayError("withdrawing a support that does not exist")
            self.supports.discard(key)
        elif kind == "proposal.transition":
            current = self.states.get(e["proposal"])
            if current is not None and current != e["from"]:
                raise ReplayError(f"transition from {e['from']} but the proposal is {current}")
            self.states[e["proposal"]] = e["to"]
        elif kind == "budget.project":
            key = (e["budget"], e["project"])
            if key in self.projects:
                raise ReplayError(f"project {e['project']} entered twice in budget {e['budget']}")
            self.projects.add(key)
        elif kind == "budget.review" and (e["budget"], e["project"]) not in self.projects:
            raise ReplayError(f"review of project {e['project']}, never entered")

    def finish(self) -> list[str]:
        return []
