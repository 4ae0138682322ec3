"""Public pages of participatory budgets: the list, a budget with its projects, a project."""

from __future__ import annotations

from flask import Blueprint, abort, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from civicforum.ballots import budget as budget_ballots
from civicforum.budgets import services
from civicforum.budgets.models import Budget, BudgetProject, Feasibility
from civicforum.extensions import db
from civicforum.web.htmx import render_page

bp = Blueprint("budgets", __name__, url_prefix="/budgets")


@bp.get("/")
def index() -> ResponseReturnValue:
    page = services.list_budgets(db.session, page=request.args.get("page", 1, int))
    counts = services.project_counts(db.session, [b.id for b in page.items])
    return render_page("budgets/index.html", fragment="budget_list", page=page, counts=counts)


@bp.get("/<int:budget_id>")
def detail(budget_id: int) -> ResponseReturnValue:
    budget = db.get_or_404(Budget, budget_id)
    funded = services.funded_keys(budget)
    return render_page(
        "budgets/detail.html",
        budget=budget,
        funded=funded,
        feasible=[p for p in budget.projects if p.feasibility == Feasibility.FEASIBLE],
        infeasible=[p for p in budget.projects if p.feasibility == Feasibility.INFEASIBLE],
        pending=[p for p in budget.projects if p.feasibility == Feasibility.PENDING],
    )


@bp.get("/<int:budget_id>/projects/<int:project_id>")
def project(budget_id: int, project_id: int) -> ResponseReturnValue:
    found = db.get_or_404(BudgetProject, project_id)
    if found.budget_id != budget_id:
        abort(404)
    return render_page(
        "budgets/project.html",
        budget=found.budget,
        project=found,
        funded=found.option_key in services.funded_keys(found.budget),
    )


def ballot_links(session: Session, ballot_id: int) -> budget_ballots.BudgetLinks | None:
    """For the ballot pages: the budget behind a budget ballot and each project's page."""
    budget = services.budget_of_ballot(session, ballot_id)
    if budget is None:
        return None
    return budget_ballots.BudgetLinks(
        title=budget.title,
        url=url_for("budgets.detail", budget_id=budget.id),
        projects={
            p.option_key: budget_ballots.ProjectInfo(
                url=url_for("budgets.project", budget_id=budget.id, project_id=p.id),
                description=p.description,
                category=p.category,
                location=p.location,
            )
            for p in budget.projects
            if p.option_key
        },
    )
