"""Admin pages for ballots: define, edit before opening, open now, cancel with a reason.

Routes sit on the admin blueprint, whose single guard already requires the admin role (and
two-factor authentication) for every one of them.
"""

from __future__ import annotations

from datetime import datetime

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from civicforum.admin import bp
from civicforum.ballots import services
from civicforum.ballots.forms import BallotForm, CancelForm, method_label
from civicforum.ballots.models import Ballot, BallotStatus
from civicforum.db import utcnow
from civicforum.extensions import db
from civicforum.i18n import format_moment
from civicforum.web.errors import CivicforumError
from civicforum.web.htmx import render_page


def _proposal_choices(ballot: Ballot | None) -> list[tuple[int, str]]:
    choices = services.qualified_proposals(db.session, ballot=ballot)
    if ballot is not None:
        known = {pid for pid, _title in choices}
        choices += [
            (o.proposal_id, o.label)
            for o in ballot.options
            if o.proposal_id is not None and o.proposal_id not in known
        ]
    return choices


def _saved_message(ballot: Ballot, now: datetime) -> str:
    """When voting opens and closes, in the admin's time zone (never "at its opening time")."""
    closes = format_moment(ballot.closes_at)
    if ballot.opens_at <= now:
        return _("Ballot saved. Voting is open now and closes on %(closes)s.", closes=closes)
    opens = format_moment(ballot.opens_at)
    return _(
        "Ballot saved. Voting opens on %(opens)s and closes on %(closes)s.",
        opens=opens,
        closes=closes,
    )


@bp.get("/ballots/")
def ballots_index() -> ResponseReturnValue:
    ballots = db.session.scalars(select(Ballot).order_by(Ballot.id.desc()).limit(200)).all()
    return render_page(
        "admin/ballots/index.html", ballots=ballots, method_label=method_label, now=utcnow()
    )


@bp.route("/ballots/new", methods=["GET", "POST"])
def ballots_new() -> ResponseReturnValue:
    form = BallotForm()
    form.proposals.choices = _proposal_choices(None)
    if request.method == "GET":
        form.secret.data = True
        form.vote_changes.data = True
        form.results_hidden.data = True
    error = None
    if form.validate_on_submit():
        now = utcnow()
        try:
            ballot = services.define_ballot(
                db.session, draft=form.to_draft(), actor=current_user, now=now
            )
        except CivicforumError as exc:
            error = exc.message
        else:
            db.session.commit()
            flash(_saved_message(ballot, now), "success")
            return redirect(url_for("admin.ballots_index"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_page(
        "admin/ballots/form.html",
        fragment="ballot_form",
        form=form,
        ballot=None,
        error=error,
        current_timezone_name=str(get_timezone()),
    ), status


@bp.route("/ballots/<int:ballot_id>/edit", methods=["GET", "POST"])
def ballots_edit(ballot_id: int) -> ResponseReturnValue:
    ballot = db.get_or_404(Ballot, ballot_id)
    if ballot.is_budget:  # defined from its budget's projects and rules
        return redirect(url_for("admin.budgets_by_ballot", ballot_id=ballot.id), code=303)
    form = BallotForm()
    form.proposals.choices = _proposal_choices(ballot)
    if request.method == "GET":
        form.fill_from(ballot)
    error = None
    status = 200
    if ballot.status != BallotStatus.SCHEDULED:
        error = _("This ballot has opened (or ended) and can no longer be changed.")
        status = 409
    elif form.validate_on_submit():
        try:
            services.update_ballot(
                db.session, ballot=ballot, draft=form.to_draft(), actor=current_user, now=utcnow()
            )
        except CivicforumError as exc:
            error, status = exc.message, exc.status_code
        else:
            db.session.commit()
            flash(_("Ballot updated."), "success")
            return redirect(url_for("admin.ballots_index"), code=303)
    elif request.method == "POST":
        status = 422
    return render_page(
        "admin/ballots/form.html",
        fragment="ballot_form",
        form=form,
        ballot=ballot,
        error=error,
        current_timezone_name=str(get_timezone()),
    ), status


@bp.post("/ballots/<int:ballot_id>/open")
def ballots_open(ballot_id: int) -> ResponseReturnValue:
    ballot = db.get_or_404(Ballot, ballot_id)
    services.open_now(db.session, ballot=ballot, actor=current_user)
    db.session.commit()
    flash(_("The ballot is open."), "success")
    return redirect(url_for("admin.ballots_index"), code=303)


@bp.post("/ballots/<int:ballot_id>/close")
def ballots_close(ballot_id: int) -> ResponseReturnValue:
    ballot = db.get_or_404(Ballot, ballot_id)
    services.close_now(db.session, ballot=ballot, actor=current_user)
    db.session.commit()
    flash(_("The ballot is closed and its result published."), "success")
    return redirect(url_for("ballots.results", ballot_id=ballot.id), code=303)


@bp.route("/ballots/<int:ballot_id>/cancel", methods=["GET", "POST"])
def ballots_cancel(ballot_id: int) -> ResponseReturnValue:
    ballot = db.get_or_404(Ballot, ballot_id)
    form = CancelForm()
    error = None
    if form.validate_on_submit():
        try:
            services.cancel_ballot(
                db.session, ballot=ballot, reason=form.reason.data or "", actor=current_user
            )
        except CivicforumError as exc:
            error = exc.message
        else:
            db.session.commit()
            flash(_("Ballot cancelled."), "success")
            return redirect(url_for("admin.ballots_index"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_page(
        "admin/ballots/cancel.html", fragment="cancel_form", form=form, ballot=ballot, error=error
    ), status
