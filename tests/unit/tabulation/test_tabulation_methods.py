"""Approval, Schulze, lots, tie rules and the less common RCTab options, table-driven."""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from civicforum.tabulation import (
    OVERVOTE,
    Ballot,
    InvalidElectionError,
    RecordedLot,
    Rules,
    SeededLot,
    TieBreakError,
    election_from_codes,
    election_from_json,
    election_to_json,
    make_election,
    result_to_json,
    tabulate,
)

PACKAGE = Path(__file__).resolve().parents[3] / "civicforum" / "tabulation"


def ranked(*rows: tuple[int, str]) -> list[Ballot]:
    """``(count, "ABC")``: one option per rank; ``(count, "A|BC")``-style not needed here."""
    return [Ballot(tuple(frozenset([c]) for c in order), count) for count, order in rows]


def approvals(*rows: tuple[int, str]) -> list[Ballot]:
    return [Ballot((frozenset(marks),) if marks else (), count) for count, marks in rows]


# -- purity -----------------------------------------------------------------------------------


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


# The optional Rust/C++ file readers (the "fast" extra, and python-calamine for xlsx).
READERS = {"pyarrow", "fastexcel", "python_calamine"}


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_package_imports_only_stdlib_and_itself(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        allowed = top in sys.stdlib_module_names or top in READERS
        assert name.startswith("civicforum.tabulation") or allowed, name


# -- approval ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "rules", "winners", "totals", "void"),
    [
        ([(3, "AB"), (2, "B"), (1, "C")], Rules(), ("B",), {"B": 5, "A": 3, "C": 1}, 0),
        ([(3, "AB"), (2, "B"), (1, "C")], Rules(seats=2), ("B", "A"), None, 0),
        ([(3, "ABC"), (2, "C")], Rules(max_approvals=2), ("C",), {"C": 2, "A": 0, "B": 0}, 3),
        ([(1, "A"), (4, "")], Rules(), ("A",), None, 0),
        ([(2, "AB")], Rules(seats=2), ("A", "B"), None, 0),
    ],
)
def test_approval(rows, rules, winners, totals, void) -> None:  # type: ignore[no-untyped-def]
    result = tabulate(make_election("approval", "ABC", approvals(*rows), rules))
    assert result.winners == winners
    if totals is not None:
        assert dict(result.rounds[0].tally) == totals
    assert result.rounds[0].inactive["overvotes"] == void
    assert result.undervotes == sum(c for c, marks in rows if not marks)


def test_approval_tie_needs_a_lot_and_is_recorded() -> None:
    election = make_election("approval", "ABC", approvals((2, "AB"), (1, "C")))
    with pytest.raises(TieBreakError, match="needs a lot"):
        tabulate(election)
    lot = SeededLot(b"published seed")
    result = tabulate(election, lot=lot)
    assert result.winners == (lot.order("AB")[0],)
    (tie,) = result.tiebreaks
    assert tie.tied == ("A", "B") and tie.kind == "elect" and "SHA-256" in tie.explanation


def test_approval_tie_by_candidate_order_and_unidentified_overvote() -> None:
    rules = Rules(tiebreak_mode="useCandidateOrder", tiebreak_permutation=("C", "B", "A"))
    ballots = [*approvals((2, "AB"), (2, "C")), Ballot((frozenset([OVERVOTE]),), 4)]
    result = tabulate(make_election("approval", "ABC", ballots, rules))
    assert result.winners == ("C",)
    assert result.rounds[0].exhausted == 4
    assert "listed earliest" in result.tiebreaks[0].explanation


def test_approval_ballot_with_two_ranks_is_rejected() -> None:
    election = make_election("approval", "AB", ranked((1, "AB")))
    with pytest.raises(InvalidElectionError, match="exactly one set"):
        tabulate(election)


def test_approval_json_format() -> None:
    data = {
        "method": "approval",
        "candidates": ["A", "B", "C"],
        "ballots": [{"approvals": ["A", "B"], "count": 3}, {"approvals": ["C"], "count": 4}],
        "rules": {"seats": 1},
    }
    election = election_from_json(data)
    assert tabulate(election).winners == ("C",)
    assert election_from_json(election_to_json(election)) == election


# -- Schulze ----------------------------------------------------------------------------------

# The worked example from Schulze (2011), also on Wikipedia: 45 voters, winner E.
WIKIPEDIA = [
    (5, "ACBED"),
    (5, "ADECB"),
    (8, "BEDAC"),
    (3, "CABED"),
    (7, "CAEBD"),
    (2, "CBADE"),
    (7, "DCEBA"),
    (8, "EBADC"),
]


def test_schulze_worked_example() -> None:
    result = tabulate(make_election("schulze", "ABCDE", ranked(*WIKIPEDIA)))
    assert result.winners == ("E",)
    assert result.ranking == ("E", "A", "C", "B", "D")
    assert result.pairwise is not None and result.strongest_paths is not None
    assert result.pairwise["A"]["B"] == 20 and result.pairwise["B"]["A"] == 25
    assert result.strongest_paths["E"]["A"] == 25 and result.strongest_paths["A"]["E"] == 24
    shaped = result_to_json(result)
    assert shaped["ranking"] == ["E", "A", "C", "B", "D"]
    assert shaped["strongestPaths"]["E"]["D"] == result.strongest_paths["E"]["D"]


def test_schulze_ties_overvotes_and_unranked() -> None:
    ballots = [
        Ballot((frozenset("AB"), frozenset("C")), 2),  # A and B tied above C
        Ballot((frozenset([OVERVOTE]), frozenset("C")), 1),  # says only: C above A and B
        Ballot((), 1),
    ]
    election = make_election("schulze", "ABC", ballots, Rules(tiebreak_mode="useCandidateOrder"))
    result = tabulate(election)
    assert result.pairwise == {
        "A": {"B": 0, "C": 2},
        "B": {"A": 0, "C": 2},
        "C": {"A": 1, "B": 1},
    }
    assert result.winners == ("A",) and result.ranking == ("A", "B", "C")
    assert result.undervotes == 1
    assert [t.tied for t in result.tiebreaks] == [("A", "B")]


def test_schulze_tie_by_lot() -> None:
    election = make_election("schulze", "AB", ranked((1, "AB"), (1, "BA")))
    result = tabulate(election, lot=SeededLot(b"\x01"))
    assert result.ranking == tuple(SeededLot(b"\x01").order("AB"))
    assert "lot" in result.tiebreaks[0].explanation


# -- lots ---------------------------------------------------------------------------------------


def test_seeded_lot_is_documented_sha256_order() -> None:
    lot = SeededLot(bytes.fromhex("00ff"))
    names = ["Ann", "Bob", "Cy", "Dee"]
    digest = {n: hashlib.sha256(bytes.fromhex("00ff") + n.encode()).digest() for n in names}
    expected = sorted(names, key=digest.__getitem__)
    assert lot.order(names) == expected
    assert lot.choose(names, kind="elect", round_number=3) == expected[0]
    assert lot.choose(names, kind="eliminate", round_number=1) == expected[-1]
    with pytest.raises(TieBreakError):
        SeededLot(b"")


def test_recorded_lot_refuses_unrecorded_draws() -> None:
    lot = RecordedLot([(1, "eliminate", "B")])
    assert lot.choose(["A", "B"], kind="eliminate", round_number=1) == "B"
    with pytest.raises(TieBreakError):
        lot.choose(["A", "C"], kind="eliminate", round_number=1)
    with pytest.raises(TieBreakError):
        lot.choose(["A", "B"], kind="elect", round_number=1)


class _BadLot:
    def choose(self, tied, *, kind, round_number):  # type: ignore[no-untyped-def]
        return "nobody"

    def describe(self) -> str:
        return "bad"


def test_lot_answer_outside_the_tie_is_refused() -> None:
    election = make_election("irv", "ABC", ranked((1, "A"), (1, "B"), (3, "C")))
    election = make_election("irv", "ABC", ranked((2, "A"), (2, "B"), (3, "C")))
    with pytest.raises(TieBreakError, match="not among"):
        tabulate(election, lot=_BadLot())


# -- ranked rules beyond the corpus -------------------------------------------------------------


def test_previous_round_counts_decide_before_the_lot() -> None:
    # Round 1: A 4, B 3, C 3, D 2 -> D out, D's votes go to C; round 2: B 3 vs C 5... build a tie
    ballots = ranked((4, "A"), (3, "B"), (2, "C"), (1, "DC"), (1, "E"), (1, "EB"))
    # Round 1: A4 B3 C2 D1 E2 -> D eliminated; round 2: A4 B3 C3 E2 -> E out (B +1);
    # round 3: A4 B4 C3 -> C out; round 4: A4 B4 (C's 3 exhaust) -> elect tie, walk back.
    result = tabulate(make_election("irv", "ABCDE", ballots))
    last = result.tiebreaks[-1]
    assert last.kind == "elect" and last.tied == ("A", "B")
    assert result.winners == ("A",)  # A had more votes in round 2
    assert "previous round counts" in last.explanation


def test_continue_until_two_candidates_remain() -> None:
    ballots = ranked((6, "A"), (3, "BC"), (2, "CB"))
    plain = tabulate(make_election("irv", "ABC", ballots))
    assert len(plain.rounds) == 1 and plain.winners == ("A",)
    rules = Rules(continue_until_two=True)
    longer = tabulate(make_election("irv", "ABC", ballots, rules))
    # RCTab elects A in the round A reaches the threshold, then goes on until two are left;
    # A keeps its ballots and stays in the count (issue #16).
    assert longer.winners == ("A",) and len(longer.rounds) == 3
    assert [r.elected for r in longer.rounds] == [("A",), (), ()]
    assert [r.eliminated for r in longer.rounds] == [(), ("C",), ()]
    assert longer.rounds[-1].tally == {"A": 6, "B": 5}


def test_continue_until_two_freezes_the_threshold_once_won() -> None:
    # 5 of A's 9 votes exhaust after A wins; the majority of the active votes would fall to 6.
    ballots = ranked((9, "A"), (4, "B"), (3, "CB"), (1, "D"))
    rules = Rules(continue_until_two=True)
    result = tabulate(make_election("irv", "ABCD", ballots, rules))
    assert [r.threshold for r in result.rounds] == [9, 9, 9, 9]
    assert result.rounds[0].elected == ("A",)
    assert [r.eliminated for r in result.rounds[1:]] == [("D",), ("C",), ()]


def test_continue_until_two_never_batches_down_to_one() -> None:
    ballots = ranked((60, "A"), (15, "B"), (14, "C"), (5, "D"), (4, "E"), (1, "F"), (1, "G"))
    rules = Rules(continue_until_two=True, batch_elimination=True)
    result = tabulate(make_election("irv", "ABCDEFG", ballots, rules))
    # Batching everyone who cannot catch up would leave A alone: the last step is undone.
    assert [r.eliminated for r in result.rounds] == [(), ("D", "E", "F", "G"), ("C",), ()]
    assert {r.threshold for r in result.rounds} == {51}
    assert result.rounds[-1].tally == {"A": 60, "B": 15}


def test_first_round_threshold_and_two_left_below_it() -> None:
    ballots = ranked((4, "A"), (3, "B"), (3, "C"))
    rules = Rules(first_round_determines_threshold=True, tiebreak_mode="useCandidateOrder")
    result = tabulate(make_election("irv", "ABC", ballots, rules))
    assert {r.threshold for r in result.rounds} == {6}
    # C's ballots exhaust: A 4 vs B 3 below the threshold 6, the higher one still wins
    assert result.winners == ("A",) and result.rounds[-1].tally == {"A": 4, "B": 3}


@pytest.mark.parametrize(
    ("hare", "fractional", "threshold"),
    [(False, False, 4), (False, True, Decimal("3.3334")), (True, False, 5), (True, True, 5)],
)
def test_stv_thresholds(hare: bool, fractional: bool, threshold: Decimal) -> None:
    rules = Rules(seats=2, hare_quota=hare, non_integer_threshold=fractional)
    ballots = ranked((5, "AB"), (3, "B"), (2, "C"))
    result = tabulate(make_election("stv", "ABC", ballots, rules))
    assert result.threshold == threshold


def test_stv_hare_fractional_rounds_up_to_decimals() -> None:
    rules = Rules(seats=3, hare_quota=True, non_integer_threshold=True, decimal_places=2)
    result = tabulate(make_election("stv", "ABCD", ranked((5, "AB"), (3, "B"), (2, "C")), rules))
    assert result.threshold == Decimal("3.34")


def test_stv_with_more_seats_than_options_elects_everyone() -> None:
    result = tabulate(make_election("stv", "AB", ranked((3, "A"), (1, "B")), Rules(seats=3)))
    # RCTab: everyone is elected in round 1 and the count stops there; no surplus moves
    # (it used to flow into "exhausted" in an extra round, issue #16).
    assert result.winners == ("A", "B") and len(result.rounds) == 1
    only = result.rounds[0]
    assert only.transfers == {"A": {}, "B": {}}
    assert only.exhausted == 0 and only.inactive["finalRoundSurplus"] == 0


def test_unidentified_overvote_needs_a_compatible_rule() -> None:
    rules = Rules(overvote_rule="exhaustIfMultipleContinuing")
    ballots = [Ballot((frozenset([OVERVOTE]),), 1), *ranked((2, "A"))]
    with pytest.raises(InvalidElectionError, match="OVERVOTE"):
        tabulate(make_election("irv", "AB", ballots, rules))


def test_zero_ballots_tie_is_broken_by_the_lot() -> None:
    result = tabulate(make_election("irv", "AB", []), lot=SeededLot(b"s"))
    assert result.winners == (SeededLot(b"s").order("AB")[0],)
    assert result.total_ballots == 0


def test_generate_permutation_without_stored_order_uses_the_lot() -> None:
    election = make_election(
        "irv",
        "ABC",
        ranked((2, "A"), (2, "B"), (3, "C")),
        Rules(tiebreak_mode="generatePermutation"),
    )
    lot = SeededLot(b"perm")
    result = tabulate(election, lot=lot)
    assert result.tiebreaks[0].selected == lot.order("AB")[-1]


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seats": 0}, "seats"),
        ({"winner_election_mode": "bottomsUp"}, "winnerElectionMode"),
        ({"seats": 2, "winner_election_mode": "singleWinnerMajority"}, "one seat"),
        ({"overvote_rule": "rule"}, "overvoteRule"),
        ({"tiebreak_mode": "whatever"}, "tiebreakMode"),
        ({"seats": 0, "winner_election_mode": "bottomsUpUsingPercentageThreshold"}, "Percentage"),
        ({"seats": 2, "continue_until_two": True}, "continueUntilTwo"),
        ({"max_rankings": -1}, "maxRankingsAllowed"),
        ({"random_seed": 1 << 47}, "randomSeed"),
        ({"minimum_vote_threshold": -1}, "minimumVoteThreshold"),
        ({"exhaust_on_duplicate": "false"}, "true or false"),
        ({"cutoff_elimination": True}, "cutoffElimination"),
        ({"decimal_places": 30}, "decimalPlaces"),
        ({"max_skipped_ranks": -1}, "maxSkipped"),
        ({"max_approvals": 0}, "maxApprovals"),
        ({"seats": 2, "batch_elimination": True}, "batchElimination"),
    ],
)
def test_bad_rules(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidElectionError, match=message):
        Rules(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"colour": 1}, "unknown rule keys"),
        ({"numberOfWinners": "2"}, "integer"),
        ({"maxSkippedRanksAllowed": True}, "integer"),
        ({"exhaustOnDuplicateCandidate": "false"}, "exhaustOnDuplicateCandidate must be true"),
        ({"batchElimination": 1}, "batchElimination must be true or false"),
        ({"maxRankingsAllowed": -1}, "maxRankingsAllowed must be at least 1"),
        ({"maxRankingsAllowed": "all"}, "maxRankingsAllowed must be an integer"),
        ({"tiebreakMode": 3}, "tiebreakMode must be a string"),
        ({"tiebreakPermutation": "AB"}, "tiebreakPermutation must be a list"),
        ({"seats": 2, "numberOfWinners": 2}, "not both"),
    ],
)
def test_bad_rules_json(data: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidElectionError, match=message):
        Rules.from_json(data)


def test_rules_json_round_trip() -> None:
    rules = Rules.from_json(
        {"seats": 2, "maxSkippedRanksAllowed": "unlimited", "maxRankingsAllowed": 3}
    )
    assert rules.max_skipped_ranks is None and rules.max_rankings == 3
    assert Rules.from_json(rules.to_json()) == rules


@pytest.mark.parametrize(
    ("options", "ballots", "rules", "message"),
    [
        ((), [], Rules(), "at least one option"),
        (("A", "A"), [], Rules(), "unique"),
        (("A", " B"), [], Rules(), "bad option"),
        (("A", OVERVOTE), [], Rules(), "reserved"),
        (("A",), [], Rules(undeclared_write_in="W"), "undeclaredWriteIn"),
        (("A",), [], Rules(tiebreak_permutation=("B",)), "tiebreakPermutation"),
        (("A",), ranked((1, "Z")), Rules(), "unknown options"),
        (("A",), ranked((-1, "A")), Rules(), "non-negative"),
        (("A",), [Ballot((frozenset(["A", OVERVOTE]),))], Rules(), "combined"),
    ],
)
def test_bad_elections(options, ballots, rules, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidElectionError, match=message):
        make_election("irv", options, ballots, rules)


def test_bad_codes_and_methods() -> None:
    single = [frozenset("A"), frozenset()]
    with pytest.raises(InvalidElectionError, match="unknown position code"):
        election_from_codes("irv", "A", single, {b"\x05": 1})
    names = [f"O{i}" for i in range(30)]
    pairs = [frozenset([a, b]) for a in names for b in names if a < b]
    many = [frozenset([x]) for x in names] + [frozenset()] + pairs
    with pytest.raises(InvalidElectionError, match="unknown position code"):
        election_from_codes("irv", names, many, {(1, 999): 1})
    with pytest.raises(InvalidElectionError, match="non-negative"):
        election_from_codes("irv", "A", single, {b"\x00": -3})
    with pytest.raises(InvalidElectionError, match="distinct"):
        election_from_codes("irv", "A", single + single, {})
    with pytest.raises(InvalidElectionError, match="unknown method"):
        make_election("borda", "A", [])


def test_canonical_election_does_not_depend_on_ballot_order() -> None:
    ballots = [
        Ballot((frozenset("AB"), frozenset(), frozenset("C")), 2),
        Ballot((frozenset("C"), frozenset(), frozenset()), 1),
        *ranked((1, "BA")),
    ]
    one = make_election("irv", "ABC", ballots)
    two = make_election("irv", "ABC", list(reversed(ballots)))
    assert one == two
    assert (frozenset("C"),) in [b.ranking for b in one.ballots]  # trailing blanks trimmed


def test_many_overvote_sets_use_tuple_rankings() -> None:
    options = [f"O{i:02d}" for i in range(30)]
    ballots = [
        Ballot((frozenset([options[i], options[j]]), frozenset([options[0]])), 1)
        for i in range(30)
        for j in range(i + 1, 30)
    ]
    election = make_election("irv", options, ballots, Rules(overvote_rule="alwaysSkipToNextRank"))
    assert isinstance(election.rankings[0], tuple)
    result = tabulate(election)
    assert result.winners == ("O00",) and result.rounds[0].tally["O00"] == len(ballots)


def test_result_json_is_canonical_json_serialisable() -> None:
    rules = Rules(
        seats=3,
        non_integer_threshold=True,
        winner_election_mode="multiWinnerAllowOnlyOneWinnerPerRound",
        tiebreak_mode="useCandidateOrder",
    )
    ballots = ranked((3, "ABC"), (3, "BCD"), (3, "CD"))
    result = tabulate(make_election("stv", "ABCD", ballots, rules))
    shaped = result_to_json(result)
    text = json.dumps(shaped, sort_keys=True, separators=(",", ":"), allow_nan=False)
    back = json.loads(text, parse_float=Decimal)
    assert back["threshold"] == Decimal("2.2501")
    assert back["rounds"][0]["transfers"]["A"] == {
        "B": Decimal("0.7497"),
        "residual surplus": Decimal("0.0002"),
    }
    assert back == json.loads(json.dumps(result_to_json(result)), parse_float=Decimal)


def test_ranked_election_json_round_trip_and_bad_document() -> None:
    rules = Rules(tiebreak_mode="useCandidateOrder", tiebreak_permutation=("B", "A"))
    ballots = [Ballot((frozenset("AB"), frozenset(), frozenset("A")), 2), *ranked((1, "BA"))]
    election = make_election("irv", "AB", ballots, rules)
    shaped = election_to_json(election)
    assert shaped["rules"]["tiebreakPermutation"] == ["B", "A"]
    assert election_from_json(json.loads(json.dumps(shaped))) == election
    with pytest.raises(InvalidElectionError, match="JSON object"):
        election_from_json([])  # type: ignore[arg-type]


def test_tuple_rankings_drop_trailing_blank_ranks() -> None:
    names = [f"O{i}" for i in range(30)]
    pairs = [frozenset([a, b]) for a in names for b in names if a < b]
    many = [frozenset([x]) for x in names] + [frozenset()] + pairs
    election = election_from_codes("irv", names, many, {(0, 30, 30): 2, (0,): 1})
    assert election.rankings == ((0,),) and election.counts == (3,)
