"""Admin pages for participatory budgets: define a budget, enter or import projects, review
their feasibility, and put the feasible ones to a budget ballot.

Routes sit on the admin blueprint, whose single guard already requires the admin role (and
two-factor authentication) for every one of them.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_timezone, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from civicforum.admin import bp
from civicforum.budgets import services
from civicforum.budgets.errors import InvalidBudgetError
from civicforum.budgets.forms import BudgetForm, ImportForm, ProjectForm, ReviewForm, VotingForm
from civicforum.budgets.models import Budget, BudgetProject
from civicforum.db import utcnow
from civicforum.extensions import db
from civicforum.web.errors import CivicforumError
from civicforum.web.htmx import render_page


def _field_error(form: object, exc: CivicforumError) -> str | None:
    """Put a service's refusal beside its field when the form has it; else a page message."""
    name = getattr(exc, "field", None)
    field = getattr(form, name, None) if isinstance(exc, InvalidBudgetError) and name else None
    if field is not None:
        field.errors = [*field.errors, str(exc.message)]
        return None
    return str(exc.message)


@bp.get("/budgets/")
def budgets_index() -> ResponseReturnValue:
    page = services.list_budgets(db.session, page=request.args.get("page", 1, int))
    return render_page("admin/budgets/index.html", page=page)


@bp.route("/budgets/new", methods=["GET", "POST"])
def budgets_new() -> ResponseReturnValue:
    form = BudgetForm()
    error = None
    if form.validate_on_submit():
        try:
            budget = services.create_budget(db.session, fields=form.to_fields(), actor=current_user)
        except CivicforumError as exc:
            error = _field_error(form, exc)
        else:
            db.session.commit()
            flash(_("Budget saved. Add its projects next."), "success")
            return redirect(url_for("admin.budgets_manage", budget_id=budget.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_page("admin/budgets/form.html", form=form, budget=None, error=error), status


@bp.route("/budgets/<int:budget_id>/edit", methods=["GET", "POST"])
def budgets_edit(budget_id: int) -> ResponseReturnValue:
    budget = db.get_or_404(Budget, budget_id)
    form = BudgetForm()
    if request.method == "GET":
        form.fill_from(budget)
    error = None
    if form.validate_on_submit():
        try:
            services.update_budget(
                db.session, budget=budget, fields=form.to_fields(), actor=current_user
            )
        except CivicforumError as exc:
            error = _field_error(form, exc)
        else:
            db.session.commit()
            flash(_("Budget updated."), "success")
            return redirect(url_for("admin.budgets_manage", budget_id=budget.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_page("admin/budgets/form.html", form=form, budget=budget, error=error), status


def _manage(budget: Budget, status: int = 200, **forms: object) -> ResponseReturnValue:
    project_form = forms.get("project_form") or ProjectForm(formdata=None)
    import_form = forms.get("import_form") or ImportForm(formdata=None)
    import_form.proposals.choices = services.importable_proposals(db.session, budget)  # type: ignore[attr-defined]
    voting_form = forms.get("voting_form") or VotingForm(formdata=None)
    return render_page(
        "admin/budgets/manage.html",
        budget=budget,
        project_form=project_form,
        import_form=import_form,
        voting_form=voting_form,
        error=forms.get("error"),
        current_timezone_name=str(get_timezone()),
    ), status


@bp.get("/budgets/<int:budget_id>")
def budgets_manage(budget_id: int) -> ResponseReturnValue:
    return _manage(db.get_or_404(Budget, budget_id))


@bp.post("/budgets/<int:budget_id>/projects")
def budgets_add_project(budget_id: int) -> ResponseReturnValue:
    budget = db.get_or_404(Budget, budget_id)
    form = ProjectForm()
    error = None
    if form.validate_on_submit():
        try:
            services.add_project(
                db.session, budget=budget, fields=form.to_fields(), actor=current_user
            )
        except CivicforumError as exc:
            error = _field_error(form, exc)
        else:
            db.session.commit()
            flash(_("Project added. Review its feasibility before the vote."), "success")
            return redirect(url_for("admin.budgets_manage", budget_id=budget.id), code=303)
    return _manage(budget, 422, project_form=form, error=error)


@bp.post("/budgets/<int:budget_id>/import")
def budgets_import(budget_id: int) -> ResponseReturnValue:
    budget = db.get_or_404(Budget, budget_id)
    form = ImportForm()
    form.proposals.choices = services.importable_proposals(db.session, budget)  # type: ignore[assignment]
    error = None
    if form.validate_on_submit():
        try:
            made = services.import_proposals(
                db.session,
                budget=budget,
                proposal_ids=form.proposals.data or [],
                actor=current_user,
            )
        except CivicforumError as exc:
            error = str(exc.message)
        else:
            db.session.commit()
            flash(
                ngettext(
                    "%(num)d proposal is now a project. Review its cost.",
                    "%(num)d proposals are now projects. Review each one's cost.",
                    len(made),
                ),
                "success",
            )
            return redirect(url_for("admin.budgets_manage", budget_id=budget.id), code=303)
    else:
        error = _("Choose qualified proposals that are not projects of this budget yet.")
    return _manage(budget, 422, import_form=form, error=error)


@bp.route("/budgets/<int:budget_id>/projects/<int:project_id>/review", methods=["GET", "POST"])
def budgets_review(budget_id: int, project_id: int) -> ResponseReturnValue:
    project = db.get_or_404(BudgetProject, project_id)
    if project.budget_id != budget_id:
        abort(404)
    form = ReviewForm()
    if request.method == "GET":
        form.outcome.data = project.feasibility if project.feasibility != "pending" else None
        form.cost.data = project.cost or project.requested_cost or ""
        form.reason.data = project.feasibility_reason
    error = None
    if form.validate_on_submit():
        try:
            services.review_project(
                db.session,
                project=project,
                feasible=form.outcome.data == "feasible",
                cost=form.cost.data or "",
                reason=form.reason.data or "",
                actor=current_user,
            )
        except CivicforumError as exc:
            error = _field_error(form, exc)
        else:
            db.session.commit()
            flash(_("Review recorded in the civic record."), "success")
            return redirect(url_for("admin.budgets_manage", budget_id=budget_id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_page(
        "admin/budgets/review.html", form=form, project=project, budget=project.budget, error=error
    ), status


@bp.post("/budgets/<int:budget_id>/vote")
def budgets_vote(budget_id: int) -> ResponseReturnValue:
    budget = db.get_or_404(Budget, budget_id)
    form = VotingForm()
    error = None
    if form.validate_on_submit():
        try:
            ballot = services.open_voting(
                db.session,
                budget=budget,
                fields=form.to_fields(),
                actor=current_user,
                now=utcnow(),
            )
        except CivicforumError as exc:
            error = str(exc.message)
        else:
            db.session.commit()
            flash(_("The budget ballot is saved. It opens at its opening time."), "success")
            return redirect(url_for("ballots.detail", ballot_id=ballot.id), code=303)
    return _manage(budget, 422, voting_form=form, error=error)


@bp.get("/budgets/by-ballot/<int:ballot_id>")
def budgets_by_ballot(ballot_id: int) -> ResponseReturnValue:
    budget = services.budget_of_ballot(db.session, ballot_id) or abort(404)
    return redirect(url_for("admin.budgets_manage", budget_id=budget.id), code=303)
