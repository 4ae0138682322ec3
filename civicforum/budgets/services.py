"""Participatory budgets: define a budget, collect and review its projects, put them to a
budget ballot, and read which were funded. Services flush; the caller commits.

The civic record (docs/ledger.md §1.4) gets a ``budget.project`` entry for every project
entered and a ``budget.review`` for every feasibility decision, through the audit events
``budget:project:create`` and ``budget:project:review``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from civicforum.audit.services import record_event
from civicforum.ballots import services as ballots
from civicforum.ballots.models import Ballot, BallotStatus, Eligibility, Method
from civicforum.budgets.errors import BudgetLockedError, InvalidBudgetError
from civicforum.budgets.models import Budget, BudgetProject, Feasibility, Phase
from civicforum.db import utcnow
from civicforum.web.pagination import Page, paginate

PER_PAGE = 20
MAX_PROJECTS = 200  # one ballot page a voter can still read through

# What people type for an amount: digits, grouped by spaces, commas or dots, and a decimal
# part after a dot or a comma ("125 000", "1,500.50", "1500,5").
_SPACES = re.compile(r"[\s\u00a0\u202f']")


def parse_amount(text: str, *, field: str) -> str:
    """An amount typed by a person as the exact decimal the ledger takes ("1500.5")."""
    from civicforum.tabulation.budget.pabulib import format_amount
    from civicforum.tabulation.budget.types import exact

    raw = _SPACES.sub("", text or "")
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", raw):
        raw = raw.replace(",", "")  # 1,500.50
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?", raw):
        raw = raw.replace(".", "").replace(",", ".")  # 1.500,50
    elif re.fullmatch(r"\d+,\d{1,6}", raw):
        raw = raw.replace(",", ".")  # 1500,5
    if not re.fullmatch(r"\d{1,15}(\.\d{1,6})?", raw):
        raise InvalidBudgetError(
            _l("Write an amount in figures, like 125000 or 1500.50."), field=field
        )
    value = exact(raw)
    if value <= 0:
        raise InvalidBudgetError(_l("The amount must be more than zero."), field=field)
    return format_amount(value)


@dataclass(frozen=True, slots=True)
class BudgetFields:
    """Everything an admin decides about a budget (amounts as typed)."""

    title: str
    description: str
    amount: str
    currency: str
    period: str = ""
    area: str = ""
    vote_type: str = "approval"
    rule: str = "equalshares/add1"
    min_projects: int | None = None
    max_projects: int | None = None
    cost_limit: bool = False
    max_points: int | None = None
    total_points: int | None = None


@dataclass(frozen=True, slots=True)
class ProjectFields:
    title: str
    description: str = ""
    category: str = ""
    location: str = ""
    requested_cost: str = ""  # empty: to be estimated by the review


def _check_fields(fields: BudgetFields) -> str:
    from civicforum.tabulation.budget import RULES, VOTE_TYPES

    amount = parse_amount(fields.amount, field="amount")
    if not fields.title.strip():
        raise InvalidBudgetError(_l("Give the budget a title."), field="title")
    if not re.fullmatch(r"[A-Z]{3}", fields.currency or ""):
        raise InvalidBudgetError(
            _l("Write the currency as its three-letter code, like EUR."), field="currency"
        )
    if fields.vote_type not in VOTE_TYPES:
        raise InvalidBudgetError(_l("Choose how members vote."), field="vote_type")
    if fields.rule not in RULES or fields.rule == "greedy-threshold":
        raise InvalidBudgetError(_l("Choose how the money is shared out."), field="rule")
    low, high = fields.min_projects, fields.max_projects
    if low is not None and high is not None and low > high:
        raise InvalidBudgetError(
            _l("The least number of projects is more than the most."), field="min_projects"
        )
    if fields.vote_type == "cumulative" and fields.total_points is None:
        raise InvalidBudgetError(
            _l("Say how many points each member may give."), field="total_points"
        )
    if fields.vote_type != "cumulative" and (fields.max_points or fields.total_points):
        raise InvalidBudgetError(
            _l("Points are only given in cumulative voting."), field="total_points"
        )
    if fields.cost_limit and fields.vote_type != "approval":
        raise InvalidBudgetError(
            _l("Only approval ballots can be limited to the budget."), field="cost_limit"
        )
    return amount


def _apply(budget: Budget, fields: BudgetFields, amount: str) -> None:
    budget.title = fields.title.strip()
    budget.description = fields.description.strip()
    budget.amount = amount
    budget.currency = fields.currency
    budget.period = fields.period.strip()
    budget.area = fields.area.strip()
    budget.vote_type = fields.vote_type
    budget.rule = fields.rule
    budget.min_projects = fields.min_projects
    budget.max_projects = 1 if fields.vote_type == "choose-1" else fields.max_projects
    budget.cost_limit = fields.cost_limit
    budget.max_points = fields.max_points
    budget.total_points = fields.total_points


def create_budget(session: Session, *, fields: BudgetFields, actor: Any) -> Budget:
    """Define a budget that collects projects; the caller commits."""
    amount = _check_fields(fields)
    budget = Budget(created_by_id=getattr(actor, "id", None))
    _apply(budget, fields, amount)
    session.add(budget)
    session.flush()  # need the id for the audit row
    record_event(session, "budget:budget:create", actor=actor, subject=budget)
    return budget


def _collecting(budget: Budget) -> None:
    if budget.phase is not Phase.COLLECTING:
        raise BudgetLockedError()


def update_budget(session: Session, *, budget: Budget, fields: BudgetFields, actor: Any) -> None:
    """Change a budget while it collects projects; the caller commits."""
    _collecting(budget)
    amount = _check_fields(fields)
    _apply(budget, fields, amount)
    record_event(session, "budget:budget:update", actor=actor, subject=budget)


def add_project(
    session: Session,
    *,
    budget: Budget,
    fields: ProjectFields,
    actor: Any,
    proposal_id: int | None = None,
) -> BudgetProject:
    """Enter a project (its civic-record entry in the same transaction); the caller commits."""
    _collecting(budget)
    if not fields.title.strip():
        raise InvalidBudgetError(_l("Give the project a title."), field="title")
    if len(budget.projects) >= MAX_PROJECTS:
        raise InvalidBudgetError(
            _l("A budget takes at most %(n)d projects.", n=MAX_PROJECTS), field="title"
        )
    cost = (
        parse_amount(fields.requested_cost, field="requested_cost")
        if fields.requested_cost.strip()
        else None
    )
    project = BudgetProject(
        budget=budget,
        title=fields.title.strip(),
        description=fields.description.strip(),
        category=fields.category.strip(),
        location=fields.location.strip(),
        requested_cost=cost,
        proposal_id=proposal_id,
    )
    session.add(project)
    session.flush()  # need the id for the civic-record entry
    data: dict[str, Any] = {"budget": budget.ledger_id, "title": project.title}
    if cost is not None:
        data["cost"] = cost
    if proposal_id is not None:
        data["proposal"] = str(proposal_id)
    record_event(session, "budget:project:create", actor=actor, subject=project, data=data)
    return project


def importable_proposals(session: Session, budget: Budget) -> list[tuple[int, str]]:
    """(id, title) of qualified proposals that are not yet projects of ``budget``."""
    taken = {p.proposal_id for p in budget.projects if p.proposal_id is not None}
    return [(pid, t) for pid, t in ballots.qualified_proposals(session) if pid not in taken]


def import_proposals(
    session: Session, *, budget: Budget, proposal_ids: Sequence[int], actor: Any
) -> list[BudgetProject]:
    """Make projects of qualified proposals (their cost is estimated by the review)."""
    from civicforum.proposals.models import Proposal

    allowed = dict(importable_proposals(session, budget))
    if not proposal_ids or not set(proposal_ids) <= set(allowed):
        raise InvalidBudgetError(
            _l("Choose qualified proposals that are not projects of this budget yet."),
            field="proposals",
        )
    found = session.scalars(
        select(Proposal).where(Proposal.id.in_(proposal_ids)).order_by(Proposal.id)
    )
    return [
        add_project(
            session,
            budget=budget,
            fields=ProjectFields(
                title=p.title[:200], description=p.summary, category=p.category.name
            ),
            actor=actor,
            proposal_id=p.id,
        )
        for p in found
    ]


def review_project(
    session: Session,
    *,
    project: BudgetProject,
    feasible: bool,
    cost: str,
    reason: str,
    actor: Any,
) -> None:
    """Record a feasibility decision (confirmed cost, or the public reason it cannot be done)
    and its civic-record entry; the caller commits. A later review replaces it."""
    budget = project.budget
    _collecting(budget)
    reason = reason.strip()
    confirmed = None
    if feasible:
        from civicforum.tabulation.budget.types import exact

        confirmed = parse_amount(cost, field="cost")
        if exact(confirmed) > exact(budget.amount):
            raise InvalidBudgetError(_l("This cost is more than the whole budget."), field="cost")
    elif not reason:
        raise InvalidBudgetError(
            _l("Say why the project cannot be done: the reason is public."), field="reason"
        )
    project.feasibility = (Feasibility.FEASIBLE if feasible else Feasibility.INFEASIBLE).value
    project.cost = confirmed
    project.feasibility_reason = reason
    project.reviewed_at = utcnow()
    project.reviewed_by_id = getattr(actor, "id", None)
    data: dict[str, Any] = {"budget": budget.ledger_id, "feasible": feasible, "reason": reason}
    if confirmed is not None:
        data["cost"] = confirmed
    record_event(session, "budget:project:review", actor=actor, subject=project, data=data)


@dataclass(frozen=True, slots=True)
class VotingFields:
    opens_at: datetime
    closes_at: datetime
    eligibility: Eligibility = Eligibility.EMAIL_VERIFIED
    eligibility_role: str | None = None
    vote_changes: bool = True


def ballot_rules(budget: Budget) -> ballots.BudgetDraft:
    """The budget's rules as the ballot publishes them."""
    return ballots.BudgetDraft(
        amount=budget.amount,
        vote_type=budget.vote_type,
        rule=budget.rule,
        min_projects=budget.min_projects,
        max_projects=budget.max_projects,
        max_cost=budget.amount if budget.cost_limit else None,
        max_points=None if budget.max_points is None else str(budget.max_points),
        total_points=None if budget.total_points is None else str(budget.total_points),
        currency=budget.currency,
    )


def open_voting(
    session: Session,
    *,
    budget: Budget,
    fields: VotingFields,
    actor: Any,
    now: datetime | None = None,
) -> Ballot:
    """Put the feasible projects to a budget ballot (secret; results at closing); the caller
    commits. Every project must be reviewed first; with ``now`` (an admin saving the form) a
    voting period already over is refused."""
    _collecting(budget)
    pending = [p for p in budget.projects if p.feasibility == Feasibility.PENDING]
    if pending:
        raise InvalidBudgetError(
            _l("Review every project first: %(n)d still waiting.", n=len(pending)),
            field="opens_at",
        )
    feasible = [p for p in budget.projects if p.is_feasible]
    if len(feasible) < 2:
        raise InvalidBudgetError(
            _l("A budget ballot needs at least two feasible projects."), field="opens_at"
        )
    draft = ballots.BallotDraft(
        title=budget.title,
        description=budget.description,
        method=Method.BUDGET,
        options=tuple(
            ballots.OptionDraft(label=p.title, proposal_id=p.proposal_id, cost=p.cost)
            for p in feasible
        ),
        opens_at=fields.opens_at,
        closes_at=fields.closes_at,
        eligibility=fields.eligibility,
        eligibility_role=fields.eligibility_role,
        secret=True,
        vote_changes=fields.vote_changes,
        results_hidden=True,
        budget=ballot_rules(budget),
    )
    ballot = ballots.define_ballot(session, draft=draft, actor=actor, now=now)
    for project in budget.projects:
        project.option_key = None
    for option, project in zip(ballot.options, feasible, strict=True):
        project.option_key = option.key
    budget.ballot = ballot
    record_event(session, "budget:budget:vote", actor=actor, subject=budget)
    return ballot


# ------------------------------------------------------------------------------ reading


def list_budgets(session: Session, *, page: int) -> Page[Budget]:
    stmt = select(Budget).options(selectinload(Budget.ballot)).order_by(Budget.id.desc())
    return paginate(session, stmt, page=page, per_page=PER_PAGE)


def project_counts(session: Session, budget_ids: Sequence[int]) -> dict[int, int]:
    """How many projects each budget has (one query for a list page)."""
    if not budget_ids:
        return {}
    rows = session.execute(
        select(BudgetProject.budget_id, func.count())
        .where(BudgetProject.budget_id.in_(budget_ids))
        .group_by(BudgetProject.budget_id)
    )
    return {budget_id: int(n) for budget_id, n in rows}


def funded_keys(budget: Budget) -> frozenset[str]:
    """Option keys of the projects the published result funds (empty before it)."""
    ballot = budget.ballot
    if ballot is None or ballot.status != BallotStatus.CLOSED or not ballot.result_json:
        return frozenset()
    return frozenset(json.loads(ballot.result_json).get("selected", ()))


def funded_projects(budget: Budget) -> list[BudgetProject]:
    keys = funded_keys(budget)
    return [p for p in budget.projects if p.option_key in keys]


def budget_of_ballot(session: Session, ballot_id: int) -> Budget | None:
    return session.scalar(select(Budget).where(Budget.ballot_id == ballot_id))
