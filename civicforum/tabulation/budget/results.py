"""What an allocation rule returns: the funded projects and every step that led to them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, get_args

from civicforum.tabulation.types import TieBreak

RuleName = Literal[
    "greedy",
    "greedy-no-skip",
    "greedy-threshold",
    "equalshares",
    "equalshares/add1",
    "equalshares/add1-comparison",
]
RULES: tuple[RuleName, ...] = get_args(RuleName)

GreedyOutcome = Literal["funded", "does-not-fit", "below-threshold", "not-reached"]


@dataclass(frozen=True, slots=True)
class ProjectTally:
    """A project's support: ``votes`` voters named it; ``score`` sums their weights."""

    project: str
    cost: Fraction
    votes: int
    score: Fraction


@dataclass(frozen=True, slots=True)
class GreedyStep:
    """One project in score order and what the greedy rule did with it.

    ``remaining`` is the budget left after the step. "not-reached" marks the projects after the
    point where greedy-no-skip stopped.
    """

    project: str
    cost: Fraction
    score: Fraction
    votes: int
    outcome: GreedyOutcome
    remaining: Fraction


@dataclass(frozen=True, slots=True)
class Payment:
    """What one group of a funded project's supporters paid, each.

    Supporters with the same remaining share and the same weight pay the same amount.
    ``all_they_had`` is set when that amount emptied their share (they could not pay the
    full equal part, so the others paid more).
    """

    amount: Fraction
    voters: int
    all_they_had: bool


@dataclass(frozen=True, slots=True)
class EqualSharesRound:
    """One project funded by the Method of Equal Shares.

    ``max_payment`` is the most any supporter paid per unit of weight (per voter on approval
    ballots); ``effective_votes`` = cost / max_payment is what the round maximised (it equals
    ``votes`` when every supporter could pay an equal part). ``payments`` lists the voter
    groups, largest payment first; they add up to ``cost``.
    """

    number: int
    project: str
    cost: Fraction
    votes: int
    effective_votes: Fraction
    max_payment: Fraction
    payments: tuple[Payment, ...]


@dataclass(frozen=True, slots=True)
class Comparison:
    """The comparison step of ``equalshares/add1-comparison``.

    Each voter prefers the outcome that funds more of their ballot's weight (the number of
    their approved projects on approval ballots); greedy replaces equal shares only if strictly
    more voters prefer it.
    """

    prefer_equal_shares: int
    prefer_greedy: int
    equal_shares_selected: tuple[str, ...]
    greedy_selected: tuple[str, ...]
    chosen: Literal["equalshares", "greedy"]


@dataclass(frozen=True, slots=True)
class BudgetResult:
    """The outcome of one allocation rule.

    ``selected`` is in the order the rule funded the projects. ``rounds`` holds a
    :class:`GreedyStep` per project considered (greedy rules, and add1-comparison when greedy
    won) or an :class:`EqualSharesRound` per funded project. For equal shares, ``share`` is the
    per-voter share of the run that decided (after ``add1_steps`` increases of one currency unit
    from ``initial_share``), and ``support_left`` gives, for each project with supporters that
    was not funded, how much money its supporters still had at the end: less than its cost,
    which is why it lost. ``voters_with_funded_project`` counts voters whose ballot names a
    funded project.
    """

    rule: RuleName
    budget: Fraction
    selected: tuple[str, ...]
    spent: Fraction
    voters: int
    voters_with_funded_project: int
    tallies: tuple[ProjectTally, ...]
    rounds: tuple[GreedyStep, ...] | tuple[EqualSharesRound, ...]
    tiebreaks: tuple[TieBreak, ...] = ()
    threshold: Fraction | None = None
    initial_share: Fraction | None = None
    share: Fraction | None = None
    add1_steps: int = 0
    support_left: Mapping[str, Fraction] | None = None
    comparison: Comparison | None = None
