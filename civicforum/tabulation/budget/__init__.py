"""Participatory budgeting: allocation rules on plain values, and the Pabulib file format.

Pure Python (standard library only, exact fractions); nothing here touches a database or
the web application. A ballots service builds a :class:`BudgetInstance` with
:func:`make_instance`, calls :func:`allocate` and stores :func:`result_to_json`.
"""

from __future__ import annotations

from civicforum.tabulation.budget.results import (
    RULES,
    BudgetResult,
    Comparison,
    EqualSharesRound,
    GreedyStep,
    Payment,
    ProjectTally,
)
from civicforum.tabulation.budget.rules import allocate
from civicforum.tabulation.budget.types import (
    VOTE_TYPES,
    ApprovalBallot,
    Ballot,
    BallotRules,
    BudgetInstance,
    CumulativeBallot,
    OrdinalBallot,
    Project,
    exact,
    make_instance,
)

__all__ = [
    "RULES",
    "VOTE_TYPES",
    "ApprovalBallot",
    "Ballot",
    "BallotRules",
    "BudgetInstance",
    "BudgetResult",
    "Comparison",
    "CumulativeBallot",
    "EqualSharesRound",
    "GreedyStep",
    "OrdinalBallot",
    "Payment",
    "Project",
    "ProjectTally",
    "allocate",
    "exact",
    "make_instance",
]
