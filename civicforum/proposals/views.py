from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from civicforum.deliberation import services as deliberation
from civicforum.extensions import db, limit_done_posts_per_account
from civicforum.moderation import policy
from civicforum.proposals import services
from civicforum.proposals.errors import InvalidInputError
from civicforum.proposals.forms import ProposalForm, WithdrawForm
from civicforum.proposals.models import ModerationStatus, Proposal, ProposalState
from civicforum.web.cache import cached_page, valid_until
from civicforum.web.htmx import render_page, wants_fragment

bp = Blueprint("proposals", __name__, url_prefix="/proposals")


def load(proposal_id: int) -> Proposal:
    proposal = services.get_proposal(db.session, proposal_id)
    if proposal is None or not services.can_view(proposal, current_user):
        abort(404)
    # Lazy archive on read: a proposal past its deadline is archived by the first visitor.
    if services.expire_if_due(db.session, proposal):
        db.session.commit()
    if proposal.state is ProposalState.PUBLISHED:
        valid_until(proposal.support_deadline)  # a cached page must not outlive the deadline
    return proposal


@bp.get("/")
@cached_page
def index() -> ResponseReturnValue:
    query = services.ProposalQuery.from_args(request.args)
    if services.expire_proposals(db.session):
        db.session.commit()
    valid_until(lambda: services.next_deadline(db.session))
    page = services.list_proposals(db.session, query=query, viewer=current_user)
    return render_page(
        "proposals/index.html",
        fragment="proposal_list",
        page=page,
        query=query,
        categories=services.list_categories(db.session),
        tags=services.popular_tags(db.session),
        threshold=services.support_threshold(db.session),
        states=services.STATE_FILTERS,
    )


def _form(proposal: Proposal | None = None) -> ProposalForm:
    form = ProposalForm(obj=None)
    form.category_id.choices = [(c.id, c.name) for c in services.list_categories(db.session)]
    if proposal is not None and request.method == "GET":
        form.title.data = proposal.title
        form.summary.data = proposal.summary
        form.body.data = proposal.body_source
        form.category_id.data = proposal.category_id
        form.tags.data = ", ".join(proposal.tag_names)
    return form


def _clean(form: ProposalForm) -> services.ProposalInput:
    return services.clean_input(
        db.session,
        title=form.title.data,
        summary=form.summary.data,
        body=form.body.data,
        category_id=form.category_id.data,
        tags=form.tags.data,
    )


def _field_errors(form: ProposalForm, error: InvalidInputError) -> None:
    for name, message in error.errors.items():
        field = getattr(form, name, None) or form.body
        field.errors = [*field.errors, message]


@bp.route("/new", methods=["GET", "POST"])
@login_required
@limit_done_posts_per_account("PROPOSAL_LIMIT_PER_ACCOUNT", "10 per hour", scope="proposal-new")
def new() -> ResponseReturnValue:
    # A restricted account learns it before filling in the form, not after sending it.
    policy.ensure_can_participate(db.session, current_user)
    form = _form()
    if form.validate_on_submit():
        try:
            data = _clean(form)
        except InvalidInputError as error:
            _field_errors(form, error)
        else:
            proposal = services.create_proposal(
                db.session, author=current_user, data=data, publish=bool(form.publish.data)
            )
            db.session.commit()
            flash(
                _("Your proposal is published.")
                if proposal.state is ProposalState.PUBLISHED
                else _("Your draft is saved. Publish it when it is ready."),
                "success",
            )
            return redirect(url_for(".detail", proposal_id=proposal.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_page(
        "proposals/form.html", fragment="proposal_form", form=form, proposal=None
    ), status


@bp.route("/<int:proposal_id>/edit", methods=["GET", "POST"])
@login_required
def edit(proposal_id: int) -> ResponseReturnValue:
    proposal = load(proposal_id)
    if not services.can_edit(proposal, current_user):
        abort(403)
    form = _form(proposal)
    if form.validate_on_submit():
        try:
            data = _clean(form)
        except InvalidInputError as error:
            _field_errors(form, error)
        else:
            changed = services.edit_proposal(
                db.session, proposal=proposal, editor=current_user, data=data
            )
            if form.publish.data and proposal.state is ProposalState.DRAFT:
                services.publish_proposal(db.session, proposal=proposal, actor=current_user)
            db.session.commit()
            flash(_("Saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for(".detail", proposal_id=proposal.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_page(
        "proposals/form.html", fragment="proposal_form", form=form, proposal=proposal
    ), status


@bp.post("/<int:proposal_id>/publish")
@login_required
def publish(proposal_id: int) -> ResponseReturnValue:
    proposal = load(proposal_id)
    services.publish_proposal(db.session, proposal=proposal, actor=current_user)
    db.session.commit()
    flash(_("Your proposal is published."), "success")
    return redirect(url_for(".detail", proposal_id=proposal.id), code=303)


@bp.route("/<int:proposal_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(proposal_id: int) -> ResponseReturnValue:
    proposal = load(proposal_id)
    if proposal.author_id != current_user.id:
        abort(403)
    form = WithdrawForm()
    if form.validate_on_submit():
        services.withdraw_proposal(
            db.session, proposal=proposal, actor=current_user, reason=form.reason.data or ""
        )
        db.session.commit()
        flash(_("Your proposal is withdrawn."), "info")
        return redirect(url_for(".detail", proposal_id=proposal.id), code=303)
    return render_page("proposals/withdraw.html", form=form, proposal=proposal)


def _support_context(proposal: Proposal) -> dict[str, Any]:
    threshold = services.support_threshold(db.session)
    verified = bool(current_user.is_authenticated and current_user.is_email_verified)
    return {
        "threshold": threshold,
        "supported": services.has_supported(db.session, proposal, current_user),
        "can_support": proposal.state is ProposalState.PUBLISHED and proposal.is_visible,
        "verified": verified,
    }


@bp.get("/<int:proposal_id>")
@cached_page
def detail(proposal_id: int) -> ResponseReturnValue:
    proposal = load(proposal_id)
    sort = request.args.get("sort", "best")
    thread = deliberation.load_thread(db.session, proposal=proposal, viewer=current_user, sort=sort)
    return render_page(
        "proposals/detail.html",
        fragment="support_panel",
        proposal=proposal,
        timeline=services.timeline(db.session, proposal),
        can_edit=services.can_edit(proposal, current_user),
        is_author=current_user.is_authenticated and proposal.author_id == current_user.id,
        thread=thread,
        can_comment=deliberation.can_comment(db.session, proposal, current_user),
        discussion_open=deliberation.can_discuss(proposal),
        **_support_context(proposal),
    )


@bp.post("/<int:proposal_id>/support")
@login_required
def support(proposal_id: int) -> ResponseReturnValue:
    proposal = load(proposal_id)
    wanted = request.form.get("action", "add") != "remove"
    services.set_support(db.session, proposal=proposal, user=current_user, support=wanted)
    db.session.commit()
    if not wants_fragment():
        return redirect(url_for(".detail", proposal_id=proposal.id) + "#support-panel", code=303)
    return render_page(
        "proposals/detail.html",
        fragment="support_panel",
        proposal=proposal,
        **_support_context(proposal),
    )


@bp.get("/<int:proposal_id>/revisions")
@cached_page
def revisions(proposal_id: int) -> ResponseReturnValue:
    proposal = load(proposal_id)
    revs = services.revisions(db.session, proposal)
    numbers = [r.number for r in revs]

    def pick(name: str, default: int) -> int:
        try:
            value = int(request.args.get(name, default))
        except (TypeError, ValueError):
            value = default
        return value if value in numbers else default

    newest = numbers[-1] if numbers else 1
    b = pick("b", newest)
    a = pick("a", max(1, b - 1) if b > 1 else b)
    by_number = {r.number: r for r in revs}
    # Hidden text stays hidden here too (the page shows the notice; fingerprints stay public).
    shown = revs and proposal.moderation_status is ModerationStatus.VISIBLE
    diff = services.diff_revisions(by_number[a], by_number[b]) if shown else []
    return render_page(
        "proposals/revisions.html",
        fragment="revision_diff",
        proposal=proposal,
        revisions=revs,
        a=a,
        b=b,
        diff=diff,
    )
