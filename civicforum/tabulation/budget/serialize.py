"""Results as JSON: the stable form the ledger hashes and ``civicforum-audit budget`` prints.

Exact amounts are written without loss: a JSON integer when whole, else a string holding the
exact decimal ("1734355.54") when there is one, else the fraction ("100/3"). Read them back
with :func:`parse_amount`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from civicforum.tabulation.budget.pabulib import format_amount
from civicforum.tabulation.budget.results import BudgetResult, EqualSharesRound, GreedyStep
from civicforum.tabulation.budget.types import exact
from civicforum.tabulation.errors import InvalidElectionError

RESULT_FORMAT = "civicforum-budget-result/1"


def amount(value: Fraction) -> int | str:
    """An exact amount as JSON: int when whole, decimal string, else "numerator/denominator"."""
    if value.denominator == 1:
        return value.numerator
    try:
        return format_amount(value)
    except InvalidElectionError:
        return f"{value.numerator}/{value.denominator}"


def parse_amount(value: int | str) -> Fraction:
    """The inverse of :func:`amount`."""
    if isinstance(value, str) and "/" in value:
        return Fraction(value)
    return exact(value)


def _round(step: GreedyStep | EqualSharesRound) -> dict[str, Any]:
    if isinstance(step, GreedyStep):
        return {
            "project": step.project,
            "cost": amount(step.cost),
            "votes": step.votes,
            "score": amount(step.score),
            "outcome": step.outcome,
            "remaining": amount(step.remaining),
        }
    return {
        "round": step.number,
        "project": step.project,
        "cost": amount(step.cost),
        "votes": step.votes,
        "effectiveVotes": amount(step.effective_votes),
        "maxPayment": amount(step.max_payment),
        "payments": [
            {"amount": amount(p.amount), "voters": p.voters, "allTheyHad": p.all_they_had}
            for p in step.payments
        ],
    }


def result_to_json(result: BudgetResult) -> dict[str, Any]:
    """Stable JSON form; ``rule``, ``budget``, ``selected``, ``spent`` and ``rounds`` first."""
    out: dict[str, Any] = {
        "rule": result.rule,
        "budget": amount(result.budget),
        "selected": list(result.selected),
        "spent": amount(result.spent),
        "rounds": [_round(step) for step in result.rounds],
        "format": RESULT_FORMAT,
        "voters": result.voters,
        "votersWithFundedProject": result.voters_with_funded_project,
        "projects": [
            {
                "project": t.project,
                "cost": amount(t.cost),
                "votes": t.votes,
                "score": amount(t.score),
                "funded": t.project in result.selected,
            }
            for t in result.tallies
        ],
        "tiebreaks": [
            {
                "round": t.round,
                "tied": list(t.tied),
                "selected": t.selected,
                "explanation": t.explanation,
            }  # fmt: skip
            for t in result.tiebreaks
        ],
    }
    if result.threshold is not None:
        out["threshold"] = amount(result.threshold)
    if result.share is not None and result.initial_share is not None:
        out["initialShare"] = amount(result.initial_share)
        out["share"] = amount(result.share)
        out["add1Steps"] = result.add1_steps
    if result.support_left is not None:
        out["supportLeft"] = {pid: amount(v) for pid, v in result.support_left.items()}
    if result.comparison is not None:
        c = result.comparison
        out["comparison"] = {
            "preferEqualShares": c.prefer_equal_shares,
            "preferGreedy": c.prefer_greedy,
            "equalSharesSelected": list(c.equal_shares_selected),
            "greedySelected": list(c.greedy_selected),
            "chosen": c.chosen,
        }
    return out
