from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from civicforum.ballots import exports, presentation, services, validation
from civicforum.ballots.errors import DuplicateSubmissionError
from civicforum.ballots.models import Ballot, BallotStatus
from civicforum.db import utcnow
from civicforum.extensions import db
from civicforum.web.errors import CivicforumError
from civicforum.web.htmx import render_page, wants_fragment

bp = Blueprint("ballots", __name__, url_prefix="/ballots")


def begin_write() -> None:
    """End this request's read transaction and start a writing one (SQLite: BEGIN IMMEDIATE).

    A GET that opens or closes a ballot lazily would otherwise upgrade a read snapshot to a
    writer, which SQLite refuses at once when someone else wrote in between.
    """
    if isinstance(db.engine, Connection):  # test harness: one shared connection, no upgrade
        return
    db.session.commit()  # nothing written yet: only ends the read snapshot
    db.session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def load_ballot(ballot_id: int) -> Ballot:
    """Load a ballot, opening or closing it first when its time has come."""
    ballot = db.get_or_404(Ballot, ballot_id)
    if services.is_due(ballot):
        begin_write()
        ballot = db.get_or_404(Ballot, ballot_id)
        if services.sync_ballot(db.session, ballot=ballot):
            db.session.commit()
    return ballot


def _context(ballot: Ballot, **extra: object) -> dict[str, object]:
    now = utcnow()
    eligible = validation.is_eligible(ballot, current_user)
    link = services.current_vote(db.session, ballot=ballot, voter=current_user)
    voted = link is not None
    is_open = validation.is_open_at(ballot, now)
    can_vote = bool(is_open and eligible and (not voted or ballot.vote_changes))
    current_choice = (
        services.recorded_choice(db.session, ballot=ballot, tracker=link.tracker)
        if link is not None
        else None
    )
    context: dict[str, object] = {
        "ballot": ballot,
        "now": now,
        "options": ballot.options,
        "labels": {o.key: o.label for o in ballot.options},
        "is_open": is_open,
        "eligible": eligible,
        "voted": voted,
        "participated": services.has_participated(db.session, ballot=ballot, voter=current_user),
        "link": link,
        "current_choice": current_choice,
        "can_vote": can_vote,
        "stage": "form",
        "choice": None,
        "error": None,
        "form_values": presentation.form_values(ballot, current_choice),
        "show_results": ballot.status == BallotStatus.CLOSED
        or (is_open and not ballot.results_hidden),
    }
    context.update(extra)
    return context


@bp.get("/")
def index() -> ResponseReturnValue:
    state = request.args.get("state", "open")
    if state not in services.LIST_STATES:
        state = "open"
    page = services.list_ballots(db.session, state=state, page=request.args.get("page", 1, int))
    return render_page(
        "ballots/index.html", fragment="ballot_list", page=page, state=state, now=utcnow()
    )


@bp.get("/<int:ballot_id>")
def detail(ballot_id: int) -> ResponseReturnValue:
    ballot = load_ballot(ballot_id)
    return render_page("ballots/detail.html", fragment="vote_panel", **_context(ballot))


def _refused(
    ballot: Ballot, error: CivicforumError, form_values: dict[str, str]
) -> ResponseReturnValue:
    context = _context(ballot, error=error.message, form_values=form_values)
    return (
        render_page("ballots/detail.html", fragment="vote_panel", **context),
        error.status_code,
    )


@bp.get("/<int:ballot_id>/review")
@bp.get("/<int:ballot_id>/cast")
@login_required
def back_to_ballot(ballot_id: int) -> ResponseReturnValue:
    """Without JavaScript the review and cast steps keep their form's address: reloading one,
    or coming back to it, lands on the ballot instead of a "method not allowed" page."""
    return redirect(url_for(".detail", ballot_id=ballot_id), code=303)


@bp.post("/<int:ballot_id>/review")
@login_required
def review(ballot_id: int) -> ResponseReturnValue:
    """Cast-as-intended: show the ballot exactly as it would be recorded; nothing is stored."""
    ballot = load_ballot(ballot_id)
    values = presentation.submitted_values(ballot, request.form)
    try:
        validation.check_voter(db.session, ballot, current_user, now=utcnow())
        choice = validation.parse_choice(ballot, request.form)
        services.check_can_change(db.session, ballot=ballot, voter=current_user)
    except CivicforumError as error:
        return _refused(ballot, error, values)
    context = _context(ballot, stage="confirm", choice=choice, form_values=values)
    return render_page("ballots/detail.html", fragment="vote_panel", **context)


@bp.post("/<int:ballot_id>/cast")
@login_required
def cast(ballot_id: int) -> ResponseReturnValue:
    if request.form.get("action") == "edit":
        ballot = load_ballot(ballot_id)
        context = _context(ballot, form_values=presentation.submitted_values(ballot, request.form))
        return render_page("ballots/detail.html", fragment="vote_panel", **context)
    # The rules as plain rows under the share lock the cast holds; the model (and an opening
    # or closing that is due) only where a page is rendered.
    rules = services.load_for_cast(db.session, ballot_id) or abort(404)
    if services.is_due(rules):
        load_ballot(ballot_id)
        rules = services.load_for_cast(db.session, ballot_id) or abort(404)
    try:
        choice = validation.parse_choice(rules, request.form)
        receipt = services.cast_ballot(db.session, ballot=rules, voter=current_user, choice=choice)
        db.session.commit()
    except CivicforumError as error:
        ballot = load_ballot(ballot_id)
        return _refused(ballot, error, presentation.submitted_values(ballot, request.form))
    except IntegrityError:
        # Not expected (parallel twins of one voter queue on the voter's link, see
        # votelog.claim_link); should a constraint still refuse the vote, nothing of it
        # was recorded, and the voter is told to look before trying again.
        db.session.rollback()
        raise DuplicateSubmissionError() from None
    if receipt.pending_id is not None:
        # The vote and its pending entry are committed; say "recorded" only once the entry
        # is in the log under a signed checkpoint (docs/ledger.md §2.2), so the receipt is
        # ready. Usually a batch took it already and this is one read.
        services.settle_cast(db.session, receipt=receipt)
        db.session.commit()
    if not wants_fragment():
        # A query flag, not flash(): flashing writes the session record, one more commit
        # (and fsync) per ballot on the busiest write path.
        return redirect(url_for(".receipt", ballot_id=ballot_id, recorded=1), code=303)
    context = _context(load_ballot(ballot_id), stage="done", choice=choice, receipt=receipt)
    return render_page("ballots/detail.html", fragment="vote_panel", **context)


@bp.get("/<int:ballot_id>/receipt")
@login_required
def receipt(ballot_id: int) -> ResponseReturnValue:
    ballot = load_ballot(ballot_id)
    link = services.current_vote(db.session, ballot=ballot, voter=current_user)
    choice = (
        services.recorded_choice(db.session, ballot=ballot, tracker=link.tracker)
        if link is not None
        else None
    )
    return render_page(
        "ballots/receipt.html",
        ballot=ballot,
        link=link,
        index=None
        if link is None
        else services.cast_index(db.session, ballot=ballot, tracker=link.tracker),
        recorded=link is not None and request.args.get("recorded") == "1",
        choice=choice,
        labels={o.key: o.label for o in ballot.options},
    )


@bp.get("/<int:ballot_id>/receipt.tlog-proof")
@login_required
def receipt_download(ballot_id: int) -> ResponseReturnValue:
    ballot = load_ballot(ballot_id)
    begin_write()  # the receipt may sign a checkpoint that covers the voter's entry
    found = services.receipt_text(db.session, ballot=ballot, voter=current_user)
    if found is None:
        abort(404, _("There is no receipt to download: you have not voted, or the ballot closed."))
    db.session.commit()
    name, text = found
    return Response(
        text,
        mimetype="text/plain",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/<int:ballot_id>/results")
def results(ballot_id: int) -> ResponseReturnValue:
    ballot = load_ballot(ballot_id)
    view = presentation.results_view(db.session, ballot)
    if view is None:
        abort(404, _("Results are not available yet."))
    labels = {
        "cdf.json": _("Anonymised cast-vote records (NIST CDF JSON)"),
        "rctab.csv": _("Anonymised cast-vote records (RCTab-style CSV)"),
        "blt": _("Anonymised cast-vote records (BLT)"),
        "election.json": _("Ballots and rules for civicforum-audit tabulate (JSON)"),
        "rules.json": _("Counting rules and lot seed (for civicforum-audit tabulate --rules)"),
    }
    cvr_formats = [
        (fmt, labels[fmt], "" if fmt == "rules.json" else exports.recount_command(ballot, fmt))
        for fmt in exports.formats_for(ballot)
    ]
    return render_page("ballots/results.html", ballot=ballot, view=view, cvr_formats=cvr_formats)


@bp.get("/<int:ballot_id>/results.<fmt>")
def results_download(ballot_id: int, fmt: str) -> ResponseReturnValue:
    ballot = load_ballot(ballot_id)
    if ballot.status != BallotStatus.CLOSED or ballot.result_json is None:
        abort(404, _("Results are published when the ballot closes."))
    if fmt == "json":
        body, mimetype = ballot.result_json.encode("utf-8"), "application/json"
    elif fmt == "csv":
        body, mimetype = exports.result_csv(ballot).encode("utf-8"), "text/csv"
    else:
        abort(404)
    return _download(body, mimetype, f"result-{ballot.ledger_id}.{fmt}")


CVR_FORMATS = {
    "cdf.json": ("application/json", exports.cvr_cdf_json),
    "rctab.csv": ("text/csv", exports.cvr_rctab_csv),
    "blt": ("text/plain", exports.cvr_blt),
    "election.json": ("application/json", exports.election_json),
    "rules.json": ("application/json", exports.rules_json),
}


@bp.get("/<int:ballot_id>/cvr.<path:fmt>")
def cvr_download(ballot_id: int, fmt: str) -> ResponseReturnValue:
    ballot = load_ballot(ballot_id)
    if ballot.status != BallotStatus.CLOSED:
        abort(404, _("Cast-vote records are published when the ballot closes."))
    if fmt not in CVR_FORMATS or fmt not in exports.formats_for(ballot):
        abort(404)
    mimetype, writer = CVR_FORMATS[fmt]
    choices = [] if fmt == "rules.json" else services.live_choices(db.session, ballot)
    body = writer(ballot, choices)
    return _download(body.encode("utf-8"), mimetype, exports.download_name(ballot, fmt))


def _download(body: bytes, mimetype: str, name: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
