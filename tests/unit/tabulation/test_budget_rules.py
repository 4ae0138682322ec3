"""The allocation rules on worked examples: payments, explanations, ties, completions, limits."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from civicforum.tabulation import InvalidElectionError
from civicforum.tabulation.budget import (
    ApprovalBallot,
    BallotRules,
    CumulativeBallot,
    OrdinalBallot,
    Payment,
    Project,
    allocate,
    exact,
    make_instance,
)
from civicforum.tabulation.budget.results import EqualSharesRound, GreedyStep
from civicforum.tabulation.budget.serialize import amount, parse_amount, result_to_json
from civicforum.tabulation.lot import SeededLot

F = Fraction


def approvals(*groups: tuple[str, int]) -> list[ApprovalBallot]:
    """("a b", 3) is three voters approving projects a and b."""
    return [ApprovalBallot(frozenset(names.split()), count) for names, count in groups]


# Five voters with 50 each (budget 250). Round 1: c (cost 90) paid 30 each by its three
# supporters (effective votes 3). Round 2: a (cost 60): voter 1 has only 20 left and pays it
# all, voter 4 pays the other 40 (effective votes 60 / 40 = 1.5). d (cost 100) has one
# supporter with 50: it cannot be paid for.
EXAMPLE = make_instance(
    250,
    [Project("a", F(60)), Project("c", F(90)), Project("d", F(100))],
    [
        ApprovalBallot(frozenset("ac")),
        ApprovalBallot(frozenset("c")),
        ApprovalBallot(frozenset("c")),
        ApprovalBallot(frozenset("a")),
        ApprovalBallot(frozenset("d")),
    ],
)


def test_equal_shares_worked_example_with_payments_and_the_reason_a_project_lost() -> None:
    result = allocate(EXAMPLE, "equalshares")
    assert result.selected == ("c", "a")
    assert result.spent == 150
    assert result.share == result.initial_share == 50
    first, second = result.rounds
    assert isinstance(first, EqualSharesRound) and isinstance(second, EqualSharesRound)
    assert (first.project, first.effective_votes, first.max_payment) == ("c", 3, 30)
    assert first.payments == (Payment(F(30), 3, False),)
    assert (second.project, second.effective_votes, second.max_payment) == ("a", F(3, 2), 40)
    assert second.payments == (Payment(F(40), 1, False), Payment(F(20), 1, True))
    assert sum(p.amount * p.voters for p in second.payments) == 60
    # d's only supporter kept her 50: less than its cost of 100.
    assert result.support_left == {"d": F(50)}
    assert result.voters_with_funded_project == 4


def test_add1_raises_the_share_until_the_outcome_is_exhaustive() -> None:
    # Share 40: c is funded, a's supporters then have 10 + 40 < 60. From share 45 they can pay
    # (15 + 45 = 60), and {c, a} leaves 50, less than d costs: exhaustive, so add1 stops.
    instance = make_instance(
        200,
        [Project("a", F(60)), Project("c", F(90)), Project("d", F(80))],
        EXAMPLE.ballots,
    )
    assert allocate(instance, "equalshares").selected == ("c",)
    result = allocate(instance, "equalshares/add1")
    assert result.selected == ("c", "a")
    assert (result.initial_share, result.share, result.add1_steps) == (40, 45, 5)
    assert result.rounds[1].payments == (Payment(F(45), 1, True), Payment(F(15), 1, True))  # type: ignore[union-attr]


def test_add1_stops_before_the_share_whose_outcome_would_not_fit() -> None:
    # From share 9 up to 17 only p2 (60) is funded; p1 (10) would still fit, but at share 18
    # p0 becomes affordable too (4 x 18 >= 70): 60 + 70 > 72, so add1 keeps share 17. At 18,
    # p0 and p2 tie on effective votes (4 each): the cheaper p2 goes first.
    instance = make_instance(
        72,
        [Project("p0", F(70)), Project("p1", F(10)), Project("p2", F(60))],
        approvals(("p2", 3), ("p0", 4), ("p1 p2", 1)),
    )
    result = allocate(instance, "equalshares/add1")
    assert (result.initial_share, result.share, result.add1_steps) == (9, 17, 8)
    assert result.selected == ("p2",) and result.spent == 60
    assert result.support_left == {"p0": 68, "p1": 2}


def test_add1_when_everything_fits_runs_equal_shares_once() -> None:
    # As equalshares.net's tool does: all projects fit, so no completion.
    assert sum(p.cost for p in EXAMPLE.projects) == EXAMPLE.budget
    result = allocate(EXAMPLE, "equalshares/add1")
    assert result.selected == ("c", "a") and result.add1_steps == 0


def test_comparison_takes_greedy_when_more_voters_prefer_it() -> None:
    # add1 ends with nothing funded (at share 17, big and m1 together would cost 150 > 100);
    # greedy funds big, which its six voters prefer; nobody prefers the empty outcome.
    instance = make_instance(
        100,
        [Project("big", F(100)), Project("m1", F(50)), Project("m2", F(50))],
        approvals(("big", 6), ("m1", 3), ("m2", 2)),
    )
    assert allocate(instance, "equalshares/add1").selected == ()
    result = allocate(instance, "equalshares/add1-comparison")
    assert result.selected == ("big",)
    assert result.comparison is not None
    assert (result.comparison.prefer_equal_shares, result.comparison.prefer_greedy) == (0, 6)
    assert result.comparison.chosen == "greedy"
    assert all(isinstance(step, GreedyStep) for step in result.rounds)
    assert result.share is None


def test_comparison_keeps_equal_shares_when_the_preferences_tie() -> None:
    instance = make_instance(
        168,
        [Project("p0", F(50)), Project("p1", F(50)), Project("p2", F(80))],
        approvals(("p2", 3), ("p2", 1), ("p0 p1", 4)),
    )
    result = allocate(instance, "equalshares/add1-comparison")
    assert result.comparison is not None
    assert result.comparison.greedy_selected == ("p0", "p1")
    assert (result.comparison.prefer_equal_shares, result.comparison.prefer_greedy) == (4, 4)
    assert result.selected == result.comparison.equal_shares_selected == ("p0", "p2")


GREEDY = make_instance(
    100,
    [Project("p1", F(70)), Project("p2", F(40)), Project("p3", F(20)), Project("p4", F(10))],
    approvals(("p1", 9), ("p2", 7), ("p3", 5), ("p4", 2)),
)


@pytest.mark.parametrize(
    ("rule", "threshold", "selected", "outcomes"),
    [
        ("greedy", None, ("p1", "p3", "p4"), ["funded", "does-not-fit", "funded", "funded"]),
        ("greedy-no-skip", None, ("p1",), ["funded", "does-not-fit", "not-reached", "not-reached"]),
        (
            "greedy-threshold",
            5,
            ("p1", "p3"),
            ["funded", "does-not-fit", "funded", "below-threshold"],
        ),
        ("greedy-no-skip", 8, ("p1",), ["funded", "below-threshold"] * 1 + ["below-threshold"] * 2),
    ],
)
def test_greedy_family(
    rule: str, threshold: int | None, selected: tuple[str, ...], outcomes: list[str]
) -> None:
    result = allocate(GREEDY, rule, threshold=threshold)
    assert result.selected == selected
    assert [step.outcome for step in result.rounds] == outcomes  # type: ignore[union-attr]
    assert result.spent == sum(p.cost for p in GREEDY.projects if p.id in selected)
    assert result.rounds[-1].remaining == 100 - result.spent  # type: ignore[union-attr]


def test_greedy_ties_go_to_the_cheaper_project_then_the_more_voted_then_the_order() -> None:
    instance = make_instance(
        50,
        [Project("dear", F(40)), Project("cheap", F(30)), Project("other", F(30))],
        [
            CumulativeBallot({"dear": F(4), "cheap": F(2)}),
            CumulativeBallot({"cheap": F(2), "other": F(3)}),
            CumulativeBallot({"other": F(1)}),
        ],
        BallotRules("cumulative", max_sum_points=F(6)),
    )
    # Scores: dear 4, cheap 4, other 4; votes: 1, 2, 2; cheap and other cost the same.
    result = allocate(instance, "greedy")
    assert [s.project for s in result.rounds] == ["cheap", "other", "dear"]
    assert result.selected == ("cheap",)
    (tie,) = result.tiebreaks
    assert tie.tied == ("cheap", "dear", "other") and tie.selected == "cheap"
    assert "listing order" in tie.explanation
    reversed_order = allocate(instance, "greedy", tie_order=["other", "cheap", "dear"])
    assert reversed_order.selected == ("other",)
    assert "lot's order" in reversed_order.tiebreaks[0].explanation


def test_greedy_tie_between_equal_costs_goes_to_more_votes() -> None:
    instance = make_instance(
        10,
        [Project("solo", F(10)), Project("pair", F(10))],
        [CumulativeBallot({"solo": F(4)}), CumulativeBallot({"pair": F(2)}, 2)],
        BallotRules("cumulative", max_sum_points=F(4)),
    )
    result = allocate(instance, "greedy")
    assert result.selected == ("pair",)
    assert "most votes among the cheapest" in result.tiebreaks[0].explanation


def test_equal_shares_tie_is_broken_by_cost_then_votes_then_the_lot() -> None:
    same = make_instance(
        20, [Project("a", F(10)), Project("b", F(10))], approvals(("a", 1), ("b", 1))
    )
    assert allocate(same, "equalshares").selected == ("a", "b")
    first = allocate(same, "equalshares").tiebreaks[0]
    assert first.selected == "a" and "comes first in the listing order" in first.explanation
    lot = SeededLot(b"published seed")
    order = lot.order(["a", "b"])
    assert allocate(same, "equalshares", tie_order=order).selected[0] == order[0]
    cheaper = make_instance(
        20, [Project("a", F(10)), Project("b", F(5))], approvals(("a", 2), ("b", 1))
    )
    # Effective votes: a 10 / 5 = 2... b 5 / 5 = 1: no tie; with equal ratios the cheaper wins.
    tied = make_instance(
        40, [Project("a", F(20)), Project("b", F(10))], approvals(("a", 2), ("b", 2))
    )
    result = allocate(tied, "equalshares")
    assert result.selected[0] == "b"
    assert "costs least" in result.tiebreaks[0].explanation
    assert allocate(cheaper, "equalshares").tiebreaks == ()


def test_ordinal_and_cumulative_weights() -> None:
    ranked = OrdinalBallot(("x", "y", "z"))
    assert ranked.weights() == {"x": 3, "y": 2, "z": 1}
    instance = make_instance(
        10,
        [Project("x", F(5)), Project("y", F(5)), Project("z", F(5))],
        [ranked, OrdinalBallot(("z", "y"), 2)],
        BallotRules("ordinal", max_length=3),
    )
    tallies = {t.project: (t.votes, t.score) for t in allocate(instance, "greedy").tallies}
    assert tallies == {"x": (1, 3), "y": (3, 4), "z": (3, 5)}
    assert allocate(instance, "greedy").selected == ("z", "y")
    decimal_points = make_instance(
        10,
        [Project("x", F(4)), Project("y", F(6))],
        [CumulativeBallot({"x": F("0.5"), "y": F("1.5")}), CumulativeBallot({"x": F(1)})],
        BallotRules("cumulative", max_sum_points=F(2)),
    )
    result = allocate(decimal_points, "equalshares")
    assert [t.score for t in result.tallies] == [F(3, 2), F(3, 2)]
    # x: each pays q per point, 1.5 q = 4; y's one supporter would need 6 > her share of 5.
    assert result.selected == ("x",)
    (only,) = result.rounds
    assert only.max_payment == F(8, 3)  # type: ignore[union-attr]
    assert only.payments == (Payment(F(8, 3), 1, False), Payment(F(4, 3), 1, False))  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("rules", "ballot", "problem"),
    [
        (BallotRules(max_length=1), ApprovalBallot(frozenset("ab")), "at most 1 projects"),
        (BallotRules(min_length=2), ApprovalBallot(frozenset("a")), "at least 2 projects"),
        (BallotRules(max_sum_cost=F(15)), ApprovalBallot(frozenset("ab")), "more than 15"),
        (BallotRules(min_sum_cost=F(11)), ApprovalBallot(frozenset("a")), "less than 11"),
        (BallotRules("choose-1"), ApprovalBallot(frozenset("ab")), "exactly one project"),
        (BallotRules(), ApprovalBallot(frozenset("q")), "unknown projects ['q']"),
        (BallotRules(), OrdinalBallot(("a",)), "approval ballot was expected"),
        (
            BallotRules("cumulative", max_sum_points=F(3)),
            CumulativeBallot({"a": F(2), "b": F(2)}),
            "4 points given, more than 3",
        ),
        (
            BallotRules("cumulative", max_sum_points=F(9), max_points=F(2)),
            CumulativeBallot({"a": F(3)}),
            "no project may get more than 2",
        ),
        (
            BallotRules("cumulative", max_sum_points=F(9), min_sum_points=F(2)),
            CumulativeBallot({"a": F(1)}),
            "fewer than 2",
        ),
        (
            BallotRules("cumulative", max_sum_points=F(9), min_points=F(2)),
            CumulativeBallot({"a": F(1)}),
            "at least 2 points",
        ),
    ],
)
def test_ballot_rules_say_what_is_wrong(rules: BallotRules, ballot: object, problem: str) -> None:
    costs = {"a": F(10), "b": F(10)}
    assert problem in (rules.problem(ballot, costs) or "")  # type: ignore[arg-type]
    with pytest.raises(InvalidElectionError, match="ballot 1"):
        make_instance(100, [Project("a", F(10)), Project("b", F(10))], [ballot], rules)  # type: ignore[list-item]


def test_plain_numbers_become_exact_amounts() -> None:
    assert Project("a", 5).cost == F(5)  # type: ignore[arg-type]
    assert Project("a", Decimal("2.50")).cost == F(5, 2)  # type: ignore[arg-type]
    assert BallotRules(max_sum_cost="10.5").max_sum_cost == F(21, 2)  # type: ignore[arg-type]


def test_a_knapsack_ballot_within_the_budget_is_valid() -> None:
    rules = BallotRules(max_sum_cost=F(20), min_length=1)
    assert rules.problem(ApprovalBallot(frozenset("ab")), {"a": F(10), "b": F(10)}) is None


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Project("", F(1)), "non-empty"),
        (lambda: Project("a", F(0)), "cost must be positive"),
        (lambda: BallotRules("scoring"), "unknown vote type"),  # type: ignore[arg-type]
        (lambda: BallotRules("cumulative"), "need max_sum_points"),
        (lambda: BallotRules(max_points=F(1)), "do not apply to approval"),
        (lambda: BallotRules("ordinal", max_sum_cost=F(1)), "approval ballots only"),
        (lambda: BallotRules(max_length=-1), "non-negative"),
        (lambda: ApprovalBallot(frozenset(), 0), "positive integer"),
        (lambda: OrdinalBallot(("a", "a")), "repeats"),
        (lambda: CumulativeBallot({"a": F(-1)}), "negative points"),
        (lambda: make_instance(-1, [], []), "must not be negative"),
        (lambda: make_instance(1, [Project("a", F(1))] * 2, []), "listed twice"),
        (lambda: allocate(EXAMPLE, "knapsack"), "unknown rule"),
        (lambda: allocate(EXAMPLE, "greedy-threshold"), "needs a threshold"),
        (lambda: allocate(EXAMPLE, "equalshares", threshold=1), "greedy rules only"),
        (lambda: allocate(EXAMPLE, "greedy", tie_order=["a"]), "every project exactly once"),
        (lambda: exact("1,5"), "not a number"),
        (lambda: exact("NaN"), "finite"),
        (lambda: exact(True), "must be a number"),  # type: ignore[arg-type]
        (lambda: exact(1.5), "decimal string"),  # type: ignore[arg-type]
        (lambda: exact(Decimal("Infinity")), "finite"),
    ],
)
def test_bad_values_are_refused(build: object, message: str) -> None:
    with pytest.raises(InvalidElectionError, match=message):
        build()  # type: ignore[operator]


def test_no_voters_funds_nothing_and_an_empty_ballot_still_counts_as_a_voter() -> None:
    empty = make_instance(100, [Project("a", F(10))], [])
    for rule in ("equalshares", "equalshares/add1"):
        assert allocate(empty, rule).selected == ()
    # Greedy funds whatever fits in score order, votes or not (as Pabulib and pabutools do).
    assert allocate(empty, "greedy").selected == ("a",)
    blank = make_instance(100, [Project("a", F(60))], approvals(("a", 1), ("", 1)))
    # Two voters with 50 each; a's one supporter cannot pay 60 at the first share.
    assert allocate(blank, "equalshares").selected == ()
    assert allocate(blank, "equalshares").voters == 2


def test_result_json_is_exact_and_ordered() -> None:
    data = result_to_json(allocate(EXAMPLE, "equalshares"))
    assert list(data)[:5] == ["rule", "budget", "selected", "spent", "rounds"]
    assert data["selected"] == ["c", "a"] and data["spent"] == 150
    assert data["rounds"][1]["payments"] == [
        {"amount": 40, "voters": 1, "allTheyHad": False},
        {"amount": 20, "voters": 1, "allTheyHad": True},
    ]
    assert data["rounds"][1]["effectiveVotes"] == "1.5"
    assert data["supportLeft"] == {"d": 50}
    assert data["votersWithFundedProject"] == 4
    assert [p["funded"] for p in data["projects"]] == [True, True, False]
    greedy = result_to_json(allocate(GREEDY, "greedy-threshold", threshold=5))
    assert greedy["threshold"] == 5 and greedy["rounds"][3]["outcome"] == "below-threshold"
    assert "share" not in greedy


@pytest.mark.parametrize("value", [F(3), F(-7, 4), F(100, 3), F(173435554, 100)])
def test_amounts_round_trip(value: Fraction) -> None:
    assert parse_amount(amount(value)) == value
    assert amount(F(100, 3)) == "100/3" and amount(F(5, 2)) == "2.5"
