"""Factories for participatory budgets: plain functions, keyword arguments, flush only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from civicforum.ballots import services as ballots
from civicforum.budgets import services
from civicforum.budgets.models import Budget
from civicforum.db import utcnow

PROJECTS = (
    ("Playground", "150000"),
    ("Garden", "60000"),
    ("Trees", "50000"),
    ("Bike lane", "40000"),
)


def make_budget(
    session: Session,
    *,
    amount: str = "250000",
    projects: tuple[tuple[str, str], ...] = PROJECTS,
    actor: Any = None,
    **fields: Any,
) -> Budget:
    """A budget with projects reviewed feasible at the given costs (still collecting)."""
    values: dict[str, Any] = {"title": "Park money", "description": "", "currency": "EUR"}
    values.update(fields)
    budget = services.create_budget(
        session, fields=services.BudgetFields(amount=amount, **values), actor=actor
    )
    for title, cost in projects:
        project = services.add_project(
            session, budget=budget, fields=services.ProjectFields(title=title), actor=actor
        )
        services.review_project(
            session, project=project, feasible=True, cost=cost, reason="", actor=actor
        )
    return budget


def open_budget(session: Session, budget: Budget, *, actor: Any = None) -> Any:
    """Put the budget to a ballot that is open now; returns the ballot."""
    now = utcnow()
    ballot = services.open_voting(
        session,
        budget=budget,
        fields=services.VotingFields(
            opens_at=now - timedelta(minutes=1), closes_at=now + timedelta(days=7)
        ),
        actor=actor,
    )
    ballots.open_ballot(session, ballot=ballot)
    return ballot
