"""pabutools as the reference implementation for the participatory-budgeting rules.

pabutools (PyPI, a test/bench dependency only) is mapped onto civicforum's definitions:
utilities are weight x cost (cost utilities: pabutools' ``Cost_Sat`` on approval ballots),
and ties are broken by the same chain (lower cost, more votes, listing order).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from pabutools.election import (
    AdditiveSatisfaction,
    ApprovalBallot,
    ApprovalProfile,
    CardinalBallot,
    CardinalProfile,
    Cost_Sat,
    Instance,
)
from pabutools.election import Project as PabuProject
from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares
from pabutools.tiebreaking import TieBreakingRule

from civicforum.tabulation.budget import BudgetInstance
from civicforum.tabulation.budget.types import ApprovalBallot as OurApproval


def _weight_times_cost(
    instance: Any, profile: Any, ballot: Any, project: Any, precomputed: Any
) -> Any:
    return ballot.get(project, 0) * project.cost


class WeightCostSat(AdditiveSatisfaction):
    """Cost utilities for weighted ballots: the weight times the project's cost."""

    def __init__(self, instance: Any, profile: Any, ballot: Any) -> None:
        AdditiveSatisfaction.__init__(self, instance, profile, ballot, _weight_times_cost)


def to_pabutools(inst: BudgetInstance) -> tuple[Instance, Any, dict[str, PabuProject], Any]:
    """(instance, profile, projects by id, satisfaction class) for ``inst``."""
    projects = {p.id: PabuProject(p.id, int(p.cost)) for p in inst.projects}
    assert all(Fraction(int(p.cost)) == p.cost for p in inst.projects), "integer costs only"
    pinst = Instance(projects.values(), budget_limit=int(inst.budget))
    approval = all(isinstance(b, OurApproval) for b in inst.ballots)
    if approval:
        profile: Any = ApprovalProfile(
            [
                ApprovalBallot([projects[p] for p in b.projects])
                for b in inst.ballots
                for _ in range(b.count)
            ],
            instance=pinst,
        )
        return pinst, profile, projects, Cost_Sat
    ballots = []
    for b in inst.ballots:
        for _ in range(b.count):
            ballots.append(CardinalBallot({projects[p]: int(w) for p, w in b.weights().items()}))
    return pinst, CardinalProfile(ballots, instance=pinst), projects, WeightCostSat


def tie_rule(inst: BudgetInstance, order: Sequence[str] | None = None) -> TieBreakingRule:
    """Lower cost, then more votes, then the listing (or given) order."""
    votes = {p.id: 0 for p in inst.projects}
    for b in inst.ballots:
        for p in b.weights():
            votes[p] += b.count
    position = {pid: k for k, pid in enumerate(order or [p.id for p in inst.projects])}
    return TieBreakingRule(lambda _i, _p, proj: (proj.cost, -votes[proj.name], position[proj.name]))


def pabutools_greedy(inst: BudgetInstance) -> set[str]:
    pinst, profile, _, sat = to_pabutools(inst)
    out = greedy_utilitarian_welfare(pinst, profile, sat_class=sat, tie_breaking=tie_rule(inst))
    return {p.name for p in out}


def pabutools_mes(inst: BudgetInstance, *, add1: bool) -> set[str]:
    pinst, profile, _, sat = to_pabutools(inst)
    out = method_of_equal_shares(
        pinst,
        profile,
        sat_class=sat,
        tie_breaking=tie_rule(inst),
        voter_budget_increment=1 if add1 else None,
    )
    return {p.name for p in out}
