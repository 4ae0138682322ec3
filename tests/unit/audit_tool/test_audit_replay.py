"""Replay rules of the vote log and the civic record, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from civicforum.audit_tool.replay import CivicReplay, ReplayError, VoteReplay
from civicforum.ledger import entry as E

DAY = "2025-03-01"
ROOT = bytes(32)


def t(n: int) -> str:
    return f"{n:032x}"


def opened(ballot: str = "b", **kw: Any) -> bytes:
    args: dict[str, Any] = {
        "ballot": ballot,
        "title": "T",
        "method": "approval",
        "options": [("a", "A"), ("b", "B"), ("c", "C")],
        "rules": {"seats": 1, "maxApprovals": 2},
        "eligibility": "members",
        "secret": True,
        "vote_changes": True,
        "day": DAY,
        **kw,
    }
    return E.ballot_opened(**args)


def cast(n: int, choice: Any = ("a",), ballot: str = "b", voter: str | None = None) -> bytes:
    return E.ballot_cast(ballot=ballot, tracker=t(n), choice=list(choice), day=DAY, voter=voter)


def sup(n: int, ballot: str = "b") -> bytes:
    return E.ballot_superseded(ballot=ballot, tracker=t(n), day=DAY)


def closed(cast_: int, superseded: int = 0, ballot: str = "b", roll: int | None = None) -> bytes:
    counted = cast_ - superseded
    return E.ballot_closed(
        ballot=ballot,
        cast=cast_,
        superseded=superseded,
        counted=counted,
        roll=counted if roll is None else roll,
        day=DAY,
    )


def published(size: int, root: bytes = ROOT, ballot: str = "b") -> bytes:
    return E.result_published(
        ballot=ballot,
        result_sha256="0" * 64,
        checkpoint_size=size,
        checkpoint_root=root.hex(),
        day=DAY,
    )


RANKED = {"method": "irv", "rules": {"seats": 1, "maxRankingsAllowed": 2}}
PUBLIC = {"secret": False}

BAD_SEQUENCES: list[tuple[str, list[bytes], str]] = [
    ("opened twice", [opened(), opened()], "opened twice"),
    ("never opened", [cast(1)], "never opened"),
    ("tracker reuse", [opened(), cast(1), cast(1)], "used twice"),
    ("unknown option", [opened(), cast(1, ["z"])], "unknown options"),
    ("too many approvals", [opened(), cast(1, ["a", "b", "c"])], "more than 2 approvals"),
    ("ranked shape on approval", [opened(), cast(1, [["a"]])], "approval choice"),
    ("approval shape on ranked", [opened(**RANKED), cast(1, ["a"])], "ranked choice"),
    ("too many rankings", [opened(**RANKED), cast(1, [["a"], ["b"], ["c"]])], "more than 2"),
    ("secret with voter", [opened(), cast(1, voter="u")], "names its voter"),
    ("public without voter", [opened(**PUBLIC), cast(1)], "must name its voter"),
    ("double vote", [opened(**PUBLIC), cast(1, voter="u"), cast(2, voter="u")], "live ballot"),
    ("changes not allowed", [opened(vote_changes=False), cast(1), sup(1)], "not allowed"),
    ("supersede unknown", [opened(), cast(1), sup(2)], "not a live ballot"),
    ("supersede twice", [opened(), cast(1), sup(1), cast(2), sup(1)], "not a live ballot"),
    (
        "supersede then another ballot",
        [opened(), opened(ballot="c"), cast(1), sup(1), cast(2, ballot="c")],
        "immediately followed",
    ),
    (
        "change by another voter",
        [opened(**PUBLIC), cast(1, voter="u"), sup(1), cast(2, voter="v")],
        "same voter",
    ),
    ("cast after close", [opened(), closed(0), cast(1)], "after ballot b was closed"),
    ("close twice", [opened(), closed(0), closed(0)], "after ballot b was closed"),
    ("wrong counts", [opened(), cast(1), closed(2)], "counts"),
    ("wrong roll", [opened(), cast(1), closed(1, roll=2)], "counts"),
    ("result before close", [opened(), published(1)], "before ballot b was closed"),
    ("result cites another size", [opened(), closed(0), published(3)], "checkpoint right after"),
    (
        "result cites another root",
        [opened(), closed(0), published(2, b"\x01" * 32)],
        "checkpoint right after",
    ),
]


# Ballots opened with an electorate commitment: casts pooled and shuffled, vote changes marked
# only after the last cast (docs/ledger.md §1.3).
MIXED = {"electorate": (3, "ab" * 32)}


def cast_on(day: str, n: int) -> bytes:
    return E.ballot_cast(ballot="b", tracker=t(n), choice=["a"], day=day)


MIXED_BAD: list[tuple[str, list[bytes], str]] = [
    ("cast dated by itself", [opened(**MIXED), cast_on("2025-03-02", 1)], "day its ballot opened"),
    (
        "cast after the marks",
        [opened(**MIXED), cast(1), cast(2), sup(1), cast(3)],
        "after the ballot's vote changes were marked",
    ),
    (
        "more voters than electors",
        [opened(**MIXED), cast(1), cast(2), cast(3), cast(4), closed(4)],
        "electorate fixed at opening has 3",
    ),
    (
        "two live ballots of one public voter",
        [opened(**MIXED, **PUBLIC), cast(1, voter="u"), cast(2, voter="u"), closed(2)],
        "more than one live ballot",
    ),
    (
        "a change where changes are not allowed",
        [opened(**MIXED, **PUBLIC, vote_changes=False), cast(1, voter="u"), cast(2, voter="u")],
        "already has a live ballot",
    ),
]
BAD_SEQUENCES += MIXED_BAD


def test_mixed_ballot_marks_changes_at_closing() -> None:
    state = replay(
        [
            opened(**MIXED, **PUBLIC),
            cast(1, voter="u"),
            cast(2, voter="v"),
            cast(3, ["b"], voter="u"),  # u's change: nothing next to it says so
            sup(1),
            closed(3, 1),
        ]
    )
    assert list(state.ballots["b"].live) == [t(2), t(3)]


def test_a_ballot_opened_before_mixing_may_end_with_closing_marks() -> None:
    # Opened by an older version (no electorate), closed by this one: its last vote changes
    # are marked at closing, with no cast after them.
    state = replay([opened(), cast(1), cast(2), sup(1), closed(2, 1)])
    assert list(state.ballots["b"].live) == [t(2)]


def replay(
    entries: list[bytes], *, results: bytes | None = b"{}", recount: Any = None
) -> VoteReplay:
    state = VoteReplay(recount, lambda ballot: results)
    for i, data in enumerate(entries):
        state.apply(i, E.decode_entry(data, E.VOTE_LOG), lambda: ROOT)
    return state


@pytest.mark.parametrize(
    ("name", "entries", "match"), BAD_SEQUENCES, ids=[b[0] for b in BAD_SEQUENCES]
)
def test_vote_rules(name: str, entries: list[bytes], match: str) -> None:
    with pytest.raises(ReplayError, match=match):
        replay(entries)


def test_valid_vote_change_and_public_ballot() -> None:
    state = replay(
        [
            opened(**PUBLIC),
            cast(1, voter="u"),
            cast(2, voter="v"),
            sup(1),
            cast(3, ["b"], voter="u"),
            closed(3, 1),
        ]
    )
    assert list(state.ballots["b"].live) == [t(2), t(3)]
    assert state.finish() == ["ballot b is closed but has no published result yet"]


def test_result_checks() -> None:
    import hashlib

    data = b'{"winners":["a"]}'
    entry = E.result_published(
        ballot="b",
        result_sha256=hashlib.sha256(data).hexdigest(),
        checkpoint_size=3,
        checkpoint_root=ROOT.hex(),
        day=DAY,
    )
    seq = [opened(), cast(1), closed(1), entry]
    assert replay(seq, results=data, recount=lambda *a: {"winners": ["a"]}).recounted == 1
    with pytest.raises(ReplayError, match="differs"):
        replay(seq, results=data, recount=lambda *a: {"winners": ["b"]})
    with pytest.raises(ReplayError, match="missing"):
        replay(seq, results=None)
    with pytest.raises(ReplayError, match="second result"):
        replay([*seq, entry], results=data, recount=lambda *a: {"winners": ["a"]})
    assert replay(seq, results=data).not_recounted == ["b"]


def test_dangling_vote_change_at_the_end() -> None:
    state = replay([opened(), cast(1), sup(1)])
    with pytest.raises(ReplayError, match="ends between"):
        state.finish()


DAY_ = DAY
CIVIC_BAD = [
    (
        "revision gap",
        [E.proposal_revision(proposal="p", revision=2, content_sha256="0" * 64, day=DAY_)],
        "revision 2",
    ),
    (
        "double support",
        [E.proposal_support(proposal="p", supporter="s", day=DAY_)] * 2,
        "already supports",
    ),
    (
        "withdraw without support",
        [E.proposal_support(proposal="p", supporter="s", day=DAY_, withdrawn=True)],
        "does not exist",
    ),
    (
        "transition from the wrong state",
        [
            E.proposal_transition(
                proposal="p", from_state="draft", to_state="open", reason="r", day=DAY_
            ),
            E.proposal_transition(
                proposal="p", from_state="draft", to_state="closed", reason="r", day=DAY_
            ),
        ],
        "proposal is open",
    ),
]


@pytest.mark.parametrize(("name", "entries", "match"), CIVIC_BAD, ids=[c[0] for c in CIVIC_BAD])
def test_civic_rules(name: str, entries: list[bytes], match: str) -> None:
    state = CivicReplay()
    with pytest.raises(ReplayError, match=match):
        for i, data in enumerate(entries):
            state.apply(i, E.decode_entry(data, E.CIVIC_LOG), lambda: ROOT)
    assert state.finish() == []
