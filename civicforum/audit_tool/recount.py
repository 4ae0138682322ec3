"""Adapter from vote-log entries to ``civicforum.tabulation``: the recount of one ballot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from civicforum.ledger.entry import APPROVAL_METHODS, BUDGET_METHOD


def election_json(opened: Mapping[str, Any], choices: Sequence[Any]) -> dict[str, Any]:
    """The tabulation input for a closed ballot: its definition and the live choices."""
    approval = opened["method"] in APPROVAL_METHODS
    key = "approvals" if approval else "ranking"
    # Identical ballots are grouped (with a count) first: tabulation groups them anyway, and a
    # ballot of a million votes has few distinct choices.
    groups: dict[str, tuple[Any, int]] = {}
    for choice in choices:
        sig = repr(choice)
        seen = groups.get(sig)
        groups[sig] = (choice, 1) if seen is None else (seen[0], seen[1] + 1)
    return {
        "method": opened["method"],
        "options": [option["id"] for option in opened["options"]],
        "rules": dict(opened["rules"]),
        "ballots": [{key: list(choice), "count": n} for choice, n in groups.values()],
    }


def recount(opened: Mapping[str, Any], choices: Sequence[Any], seed: bytes) -> dict[str, Any]:
    """Tabulate with the lot seeded by the closing checkpoint root; returns the result JSON."""
    if opened["method"] == BUDGET_METHOD:
        return budget_recount(opened, choices, seed)
    # Imported lazily so `civicforum-audit verify --skip-recount` works without tabulation.
    from civicforum.tabulation import SeededLot, election_from_json, result_to_json, tabulate

    election = election_from_json(election_json(opened, choices))
    return result_to_json(tabulate(election, lot=SeededLot(seed)))


# --------------------------------------------------------------------------- budget ballots
# A participatory budget's ballot.opened carries the projects' costs on its options and, in its
# rules, the budget, Pabulib's vote type, the allocation rule and the ballot limits; a cast's
# choice is shaped by the vote type (docs/ledger.md §1.3).

_LIMITS = {
    "minLength": "min_length",
    "maxLength": "max_length",
    "minSumCost": "min_sum_cost",
    "maxSumCost": "max_sum_cost",
    "minPoints": "min_points",
    "maxPoints": "max_points",
    "minSumPoints": "min_sum_points",
    "maxSumPoints": "max_sum_points",
}


def budget_rules(opened: Mapping[str, Any]) -> Any:
    """The ballot limits of a budget ballot (``tabulation.budget.BallotRules``)."""
    from civicforum.tabulation.budget import BallotRules

    rules = opened["rules"]
    limits = {field: rules[key] for key, field in _LIMITS.items() if key in rules}
    return BallotRules(vote_type=rules["voteType"], **limits)


def budget_ballot(vote_type: str, choice: Sequence[Any]) -> Any:
    """One ``ballot.cast`` choice as a budget ballot (raises ValueError on a wrong shape)."""
    from civicforum.tabulation.budget import ApprovalBallot, CumulativeBallot, OrdinalBallot

    if vote_type in ("approval", "choose-1"):
        if not all(isinstance(c, str) for c in choice):
            raise ValueError("an approval choice is a list of project ids")
        return ApprovalBallot(frozenset(choice))
    if vote_type == "cumulative":
        if not all(isinstance(c, list) and len(c) == 2 for c in choice):
            raise ValueError("a cumulative choice is a list of [project id, points] pairs")
        return CumulativeBallot({str(p): int(n) for p, n in choice})
    if not all(isinstance(c, list) and len(c) == 1 for c in choice):
        raise ValueError("an ordinal choice is a list of positions of one project each")
    return OrdinalBallot(tuple(c[0] for c in choice))


def budget_problem(opened: Mapping[str, Any], choice: Sequence[Any]) -> str | None:
    """Why a cast's choice breaks its budget ballot's rules (None when it is valid)."""
    from civicforum.tabulation.budget import exact

    rules = budget_rules(opened)
    try:
        ballot = budget_ballot(rules.vote_type, choice)
    except (ValueError, TypeError) as exc:
        return str(exc)
    costs = {o["id"]: exact(o["cost"]) for o in opened["options"]}
    if not ballot.weights():
        return None  # a blank ballot: an abstention, counted in turnout only
    problem: str | None = rules.problem(ballot, costs)
    return problem


def budget_recount(
    opened: Mapping[str, Any], choices: Sequence[Any], seed: bytes
) -> dict[str, Any]:
    """Allocate a closed budget with its rule, ties broken by the lot seeded by the closing
    checkpoint root (projects from luckiest); returns the result JSON."""
    from civicforum.tabulation import SeededLot
    from civicforum.tabulation.budget import Project, exact, make_instance
    from civicforum.tabulation.budget.rules import allocate
    from civicforum.tabulation.budget.serialize import result_to_json
    from civicforum.tabulation.budget.types import group_ballots

    rules = budget_rules(opened)
    projects = [Project(o["id"], exact(o["cost"]), o["label"]) for o in opened["options"]]
    ballots = [budget_ballot(rules.vote_type, c) for c in choices if c]
    instance = make_instance(
        opened["rules"]["budget"], projects, group_ballots(ballots), rules, validate=False
    )
    threshold = opened["rules"].get("threshold")
    result = allocate(
        instance,
        opened["rules"]["rule"],
        threshold=None if threshold is None else exact(threshold),
        tie_order=SeededLot(seed).order(p.id for p in projects),
    )
    out = result_to_json(result)
    out["blankBallots"] = sum(1 for c in choices if not c)
    return out
