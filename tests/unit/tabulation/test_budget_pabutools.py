"""Every allocation rule against pabutools (the reference) on random small budgets.

Small costs and few voters make ties frequent, so the tie-break chain is exercised too.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from budget_reference import pabutools_greedy, pabutools_mes
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from civicforum.tabulation.budget import (
    ApprovalBallot,
    Ballot,
    BallotRules,
    BudgetInstance,
    CumulativeBallot,
    OrdinalBallot,
    Project,
    allocate,
    make_instance,
)

IDS = "pqrstuv"
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def instances(draw: st.DrawFn, vote_type: str, *, whole_share: bool = False) -> BudgetInstance:
    """Up to 7 projects costing 1-30, up to 10 ballots with counts, any budget."""
    k = draw(st.integers(1, len(IDS)))
    ids = IDS[:k]
    projects = [Project(pid, Fraction(draw(st.integers(1, 30)))) for pid in ids]
    ballots: list[Ballot] = []
    for _ in range(draw(st.integers(1, 10))):
        count = draw(st.integers(1, 3))
        if vote_type == "approval":
            chosen = draw(st.sets(st.sampled_from(ids)))
            ballots.append(ApprovalBallot(frozenset(chosen), count))
        elif vote_type == "cumulative":
            points = draw(st.dictionaries(st.sampled_from(ids), st.integers(1, 4)))
            ballots.append(CumulativeBallot({p: Fraction(v) for p, v in points.items()}, count))
        else:
            ranking = draw(st.permutations(ids))
            ballots.append(OrdinalBallot(tuple(ranking[: draw(st.integers(1, k))]), count))
    voters = sum(b.count for b in ballots)
    if whole_share:
        # pabutools starts add1 from budget / voters; equalshares.net from its whole units.
        budget = voters * draw(st.integers(0, 12))
    else:
        budget = draw(st.integers(0, sum(int(p.cost) for p in projects) + 5))
    rules = BallotRules(vote_type, max_sum_points=Fraction(28)) if vote_type == "cumulative" \
        else BallotRules(vote_type)  # fmt: skip
    return make_instance(budget, projects, ballots, rules)


VOTE_TYPES = st.sampled_from(["approval", "cumulative", "ordinal"])


def _selected(instance: BudgetInstance, rule: str, **kwargs: object) -> set[str]:
    return set(allocate(instance, rule, **kwargs).selected)  # type: ignore[arg-type]


@FAST
@given(data=st.data(), vote_type=VOTE_TYPES)
def test_greedy_matches_pabutools(data: st.DataObject, vote_type: str) -> None:
    instance = data.draw(instances(vote_type))
    assert _selected(instance, "greedy") == pabutools_greedy(instance)


@FAST
@given(data=st.data(), vote_type=VOTE_TYPES, threshold=st.integers(0, 8))
def test_greedy_threshold_is_greedy_on_the_projects_that_reach_it(
    data: st.DataObject, vote_type: str, threshold: int
) -> None:
    instance = data.draw(instances(vote_type))
    result = allocate(instance, "greedy-threshold", threshold=threshold)
    kept = {t.project for t in result.tallies if t.score >= threshold}
    reduced = make_instance(
        instance.budget,
        [p for p in instance.projects if p.id in kept],
        [_restrict(b, kept) for b in instance.ballots],
        instance.rules,
        validate=False,
    )
    assert set(result.selected) == pabutools_greedy(reduced)


def _restrict(ballot: Ballot, kept: set[str]) -> Ballot:
    if isinstance(ballot, ApprovalBallot):
        return ApprovalBallot(ballot.projects & kept, ballot.count)
    if isinstance(ballot, CumulativeBallot):
        return CumulativeBallot({p: v for p, v in ballot.points.items() if p in kept}, ballot.count)
    # Dropping a project from a ranking would change the Borda weights of the others.
    weights = ballot.weights()
    return CumulativeBallot({p: weights[p] for p in ballot.ranking if p in kept}, ballot.count)


@FAST
@given(data=st.data(), vote_type=VOTE_TYPES)
def test_greedy_no_skip_stops_at_the_first_project_that_does_not_fit(
    data: st.DataObject, vote_type: str
) -> None:
    instance = data.draw(instances(vote_type))
    result = allocate(instance, "greedy-no-skip")
    full = allocate(instance, "greedy")
    # Same order; no-skip funds exactly greedy's funded prefix up to the first refusal.
    order = [s.project for s in full.rounds]
    refused = [s.project for s in full.rounds if s.outcome == "does-not-fit"]
    cut = order.index(refused[0]) if refused else len(order)
    assert set(result.selected) == set(full.selected) & set(order[:cut])
    assert [s.project for s in result.rounds] == order


@FAST
@given(data=st.data(), vote_type=VOTE_TYPES)
def test_equal_shares_matches_pabutools(data: st.DataObject, vote_type: str) -> None:
    instance = data.draw(instances(vote_type))
    assert _selected(instance, "equalshares") == pabutools_mes(instance, add1=False)


@FAST
@given(data=st.data(), vote_type=VOTE_TYPES)
def test_add1_matches_pabutools(data: st.DataObject, vote_type: str) -> None:
    instance = data.draw(instances(vote_type, whole_share=True))
    # When everything fits, equalshares.net's tool runs equal shares once; pabutools iterates.
    assume(sum(p.cost for p in instance.projects) > instance.budget)
    assert _selected(instance, "equalshares/add1") == pabutools_mes(instance, add1=True)


@FAST
@given(data=st.data(), vote_type=VOTE_TYPES)
def test_add1_comparison_keeps_the_outcome_more_voters_prefer(
    data: st.DataObject, vote_type: str
) -> None:
    instance = data.draw(instances(vote_type, whole_share=True))
    assume(sum(p.cost for p in instance.projects) > instance.budget)
    mes, greedy = pabutools_mes(instance, add1=True), pabutools_greedy(instance)
    prefer_mes = prefer_greedy = 0
    for ballot in instance.ballots:
        weights = ballot.weights()
        mine = sum((weights.get(p, Fraction(0)) for p in mes), Fraction(0))
        theirs = sum((weights.get(p, Fraction(0)) for p in greedy), Fraction(0))
        prefer_mes += ballot.count * (mine > theirs)
        prefer_greedy += ballot.count * (theirs > mine)
    expected = greedy if prefer_greedy > prefer_mes else mes
    result = allocate(instance, "equalshares/add1-comparison")
    assert set(result.selected) == expected
    assert result.comparison is not None
    assert (result.comparison.prefer_equal_shares, result.comparison.prefer_greedy) == (
        prefer_mes,
        prefer_greedy,
    )


@pytest.mark.parametrize("vote_type", ["approval", "cumulative", "ordinal"])
def test_medium_budgets_match_pabutools(vote_type: str) -> None:
    """A few hundred voters: enough share classes and unaffordable projects to exercise the
    shortcuts of the equal-shares runs (class counting, money bounds) on every rule."""
    rng = random.Random(f"pabutools {vote_type}")
    ids = [f"p{k:02d}" for k in range(18)]
    projects = [Project(pid, Fraction(rng.randrange(20, 400, 10))) for pid in ids]
    ballots: list[Ballot] = []
    for _ in range(150):
        chosen = rng.sample(ids, rng.randint(1, 5))
        count = rng.choice([1, 1, 1, 2, 3])
        if vote_type == "approval":
            ballots.append(ApprovalBallot(frozenset(chosen), count))
        elif vote_type == "cumulative":
            points = {p: Fraction(rng.randint(1, 3)) for p in chosen}
            ballots.append(CumulativeBallot(points, count))
        else:
            ballots.append(OrdinalBallot(tuple(chosen), count))
    voters = sum(b.count for b in ballots)
    rules = BallotRules(vote_type, max_sum_points=Fraction(15)) if vote_type == "cumulative" \
        else BallotRules(vote_type)  # fmt: skip
    instance = make_instance(voters * 4, projects, ballots, rules)
    assert sum(p.cost for p in projects) > instance.budget
    assert _selected(instance, "greedy") == pabutools_greedy(instance)
    assert _selected(instance, "equalshares") == pabutools_mes(instance, add1=False)
    add1 = allocate(instance, "equalshares/add1")
    assert add1.add1_steps > 0
    assert set(add1.selected) == pabutools_mes(instance, add1=True)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), vote_type=VOTE_TYPES, divisor=st.sampled_from([3, 10, 1000]))
def test_equal_shares_and_greedy_do_not_depend_on_the_currency_unit(
    data: st.DataObject, vote_type: str, divisor: int
) -> None:
    """Dividing every cost and the budget by the same number (decimal or repeating) changes
    no selection and scales every payment: the integer money units stay exact."""
    instance = data.draw(instances(vote_type))
    scaled = make_instance(
        instance.budget / divisor,
        [Project(p.id, p.cost / divisor) for p in instance.projects],
        instance.ballots,
        instance.rules,
    )
    for rule in ("greedy", "equalshares"):
        before, after = allocate(instance, rule), allocate(scaled, rule)
        assert after.selected == before.selected
        assert after.spent * divisor == before.spent
    mes_before, mes_after = allocate(instance, "equalshares"), allocate(scaled, "equalshares")
    for a, b in zip(mes_before.rounds, mes_after.rounds, strict=True):
        assert [p.amount for p in a.payments] == [p.amount * divisor for p in b.payments]  # type: ignore[union-attr]
