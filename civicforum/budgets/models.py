"""Participatory budgets: an amount to share out, the projects proposed for it, their
feasibility review, and the budget ballot that decides which are funded.

Amounts are exact decimals kept as strings ("125000", "1500.50"): they go into the vote
log and the tabulation as written, never through a float.

A budget's phase is read from its ballot rather than stored twice: collecting projects
while it has no ballot (or its ballot was cancelled), then the ballot's own states.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicforum.ballots.models import Ballot, BallotStatus
from civicforum.db import db, utcnow


class Feasibility(enum.StrEnum):
    PENDING = "pending"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"


class Phase(enum.StrEnum):
    COLLECTING = "collecting"  # projects entered and reviewed
    SCHEDULED = "scheduled"  # the ballot is defined, voting has not started
    VOTING = "voting"
    DECIDED = "decided"


class Budget(db.Model):
    __tablename__ = "budgets"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[str] = mapped_column(String(24))
    currency: Mapped[str] = mapped_column(String(3))  # ISO 4217
    period: Mapped[str] = mapped_column(String(100), default="")  # "2027", "spring 2027"
    area: Mapped[str] = mapped_column(String(200), default="")  # district or theme
    # How the ballot is cast and counted (Pabulib's vote types, tabulation.budget's rules).
    vote_type: Mapped[str] = mapped_column(String(16), default="approval")
    rule: Mapped[str] = mapped_column(String(40), default="equalshares/add1")
    min_projects: Mapped[int | None]
    max_projects: Mapped[int | None]
    # An approval ballot whose chosen projects must fit in the budget (a "knapsack" ballot).
    cost_limit: Mapped[bool] = mapped_column(default=False)
    max_points: Mapped[int | None]  # cumulative: per project
    total_points: Mapped[int | None]  # cumulative: per voter
    ballot_id: Mapped[int | None] = mapped_column(
        ForeignKey("ballots.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    ballot: Mapped[Ballot | None] = relationship()
    projects: Mapped[list[BudgetProject]] = relationship(
        back_populates="budget", order_by="BudgetProject.id", cascade="all, delete-orphan"
    )

    @property
    def phase(self) -> Phase:
        ballot = self.ballot
        if ballot is None or ballot.status == BallotStatus.CANCELLED:
            return Phase.COLLECTING
        if ballot.status == BallotStatus.SCHEDULED:
            return Phase.SCHEDULED
        if ballot.status == BallotStatus.OPEN:
            return Phase.VOTING
        return Phase.DECIDED

    @property
    def ledger_id(self) -> str:
        """How the civic log names this budget."""
        return str(self.id)


class BudgetProject(db.Model):
    __tablename__ = "budget_projects"
    __table_args__ = (UniqueConstraint("budget_id", "proposal_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("budgets.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(100), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    requested_cost: Mapped[str | None] = mapped_column(String(24))  # None: to be estimated
    proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposals.id", ondelete="SET NULL"), index=True
    )
    feasibility: Mapped[str] = mapped_column(String(16), default=Feasibility.PENDING.value)
    cost: Mapped[str | None] = mapped_column(String(24))  # confirmed by the review
    feasibility_reason: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The ballot option the project became ("o1", ...), once the ballot is defined.
    option_key: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    budget: Mapped[Budget] = relationship(back_populates="projects")

    @property
    def shown_cost(self) -> str | None:
        """The confirmed cost once reviewed feasible, else what was asked for."""
        return self.cost if self.cost is not None else self.requested_cost

    @property
    def is_feasible(self) -> bool:
        return self.feasibility == Feasibility.FEASIBLE

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<BudgetProject {self.id} {self.title!r}>"


def project_keys(budget: Budget) -> dict[str, Any]:
    """Ballot option key -> project, for a budget whose ballot is defined."""
    return {p.option_key: p for p in budget.projects if p.option_key}
