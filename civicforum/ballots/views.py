from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from civicforum.accounts import sessions
from civicforum.ballots import cast_tokens, electorate, exports, presentation, services, validation
from civicforum.ballots.errors import DuplicateSubmissionError
from civicforum.ballots.models import Ballot, BallotStatus
from civicforum.db import utcnow
from civicforum.extensions import db
from civicforum.ledger import entry as ledger_entry
from civicforum.web.errors import CivicforumError, retry_safe
from civicforum.web.htmx import render_page

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
    # Eligible now but not when the ballot opened: told why, instead of shown a form.
    late = eligible and not electorate.is_elector(db.session, ballot, current_user)
    mine = services.voter_receipt(db.session, ballot=ballot, voter=current_user)
    voted = mine is not None
    is_open = validation.is_open_at(ballot, now)
    can_vote = bool(is_open and eligible and not late and (not voted or ballot.vote_changes))
    current_choice = None if mine is None else mine.choice
    context: dict[str, object] = {
        "ballot": ballot,
        "now": now,
        "options": ballot.options,
        "labels": {o.key: o.label for o in ballot.options},
        "is_open": is_open,
        "eligible": eligible,
        "voted": voted,
        "late": late,
        "participated": services.has_participated(db.session, ballot=ballot, voter=current_user),
        "current_choice": current_choice,
        "can_vote": can_vote,
        "stage": "form",
        "choice": None,
        "error": None,
        "cleared": False,
        "form_values": presentation.form_values(ballot, current_choice),
        "show_results": ballot.status == BallotStatus.CLOSED
        or (is_open and not ballot.results_hidden),
    }
    context.update(extra)
    if ballot.is_budget:
        from civicforum.ballots import budget

        choice = context["choice"] if context["stage"] == "confirm" else None
        context["budget"] = budget.voting_facts(db.session, ballot, choice)  # type: ignore[arg-type]
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
    """Cast-as-intended: show the ballot exactly as it would be recorded; nothing is stored.
    The confirmation form carries a fresh one-time cast token (``cast_tokens``)."""
    ballot = load_ballot(ballot_id)
    if request.form.get("clear"):
        # "Clear my ranking" without JavaScript: the same form, every selector reset.
        context = _context(ballot, form_values={}, cleared=True)
        return render_page("ballots/detail.html", fragment="vote_panel", **context)
    values = presentation.submitted_values(ballot, request.form)
    try:
        validation.check_voter(db.session, ballot, current_user, now=utcnow())
        choice = validation.parse_choice(ballot, request.form)
        services.check_can_change(db.session, ballot=ballot, voter=current_user)
    except CivicforumError as error:
        return _refused(ballot, error, values)
    context = _context(
        ballot,
        stage="confirm",
        choice=choice,
        form_values=values,
        cast_token=cast_tokens.issue(ballot_id=ballot.id, voter_id=current_user.id),
    )
    return render_page("ballots/detail.html", fragment="vote_panel", **context)


def _cast_retry_message() -> str:
    return _(
        "Your ballot may or may not have been recorded. Once the site is back, send this same "
        "confirmation again (reload the page and confirm resending the form): it carries a "
        "one-time code, so your ballot is recorded once at most, and you get its receipt."
    )


@bp.post("/<int:ballot_id>/cast")
@login_required
@retry_safe(_cast_retry_message)
def cast(ballot_id: int) -> ResponseReturnValue:
    sessions.untouched()  # the session record must not date the cast (docs/ledger.md §8)
    if request.form.get("action") == "edit":
        ballot = load_ballot(ballot_id)
        context = _context(ballot, form_values=presentation.submitted_values(ballot, request.form))
        return render_page("ballots/detail.html", fragment="vote_panel", **context)
    token = request.form.get("cast_token", "")
    # The rules as plain rows under the share lock the cast holds; the model (and an opening
    # or closing that is due) only where a page is rendered.
    rules = services.load_for_cast(db.session, ballot_id) or abort(404)
    try:
        cast_tokens.check(token, ballot_id=ballot_id, voter_id=current_user.id)
        if services.is_due(rules) and rules.status == BallotStatus.SCHEDULED:
            load_ballot(ballot_id)  # opens it (a closing that is due waits: retries still answer)
            rules = services.load_for_cast(db.session, ballot_id) or abort(404)
        choice = validation.parse_choice(rules, request.form)
        receipt = services.cast_ballot(
            db.session, ballot=rules, voter=current_user, choice=choice, token=token
        )
        db.session.commit()
    except CivicforumError as error:
        ballot = load_ballot(ballot_id)
        return _refused(ballot, error, presentation.submitted_values(ballot, request.form))
    except IntegrityError:
        # The same cast token raced itself (a double submission): the other request recorded
        # the vote, and this one rolled back entirely. Answer with that vote's receipt.
        db.session.rollback()
        found = services.receipt_for_token(db.session, ballot_id=ballot_id, token=token)
        if found is None:
            raise DuplicateSubmissionError() from None
        receipt = found
    # The receipt is in this response, whatever happens next (the ballot closing, a lost
    # page): a retry with the same token answers with the same receipt. Rendered from one
    # small read, not the ballot page's context (casting is the busiest write).
    title, labels, ranked = services.cast_page_facts(db.session, ballot_id)
    return render_page(
        "ballots/cast_done.html",
        fragment="vote_panel",
        ballot_id=ballot_id,
        ballot_title=title,
        labels=labels,
        choice=_choice_of(ranked, receipt),
        receipt=receipt,
        cast_token=token,
    )


def _choice_of(ranked: bool, receipt: services.CastReceipt) -> validation.Choice:
    value = ledger_entry.decode_entry(receipt.entry, ledger_entry.VOTE_LOG)
    return validation.Choice.from_entry(ranked, value["choice"])


@bp.post("/<int:ballot_id>/receipt/by-token.tlog-promise")
@login_required
def receipt_by_token(ballot_id: int) -> ResponseReturnValue:
    """The receipt of the cast made with the token in the body (the page right after
    casting offers it). A POST, so the token never appears in a URL or an access log."""
    token = request.form.get("cast_token", "")
    try:
        cast_tokens.check(token, ballot_id=ballot_id, voter_id=current_user.id)
    except CivicforumError:
        abort(404)
    found = services.receipt_for_token(db.session, ballot_id=ballot_id, token=token)
    if found is None:
        abort(404)
    return _attachment(found.promise, f"ballot-b{ballot_id}-{found.tracker[:8]}.tlog-promise")


@bp.get("/<int:ballot_id>/receipt")
@login_required
def receipt(ballot_id: int) -> ResponseReturnValue:
    ballot = load_ballot(ballot_id)
    mine = services.voter_receipt(db.session, ballot=ballot, voter=current_user, proof=True)
    db.session.commit()  # looking for the proof may have signed a checkpoint
    return render_page(
        "ballots/receipt.html",
        ballot=ballot,
        mine=mine,
        labels={o.key: o.label for o in ballot.options},
    )


@bp.get("/<int:ballot_id>/receipt.tlog-proof")
@login_required
def receipt_download(ballot_id: int) -> ResponseReturnValue:
    """The full proof of the voter's current ballot, once its batch is in the log."""
    ballot = load_ballot(ballot_id)
    begin_write()  # the proof may sign a checkpoint that covers the voter's entry
    mine = _mine_or_404(ballot, proof=True)
    db.session.commit()
    if mine.proof is None:
        abort(
            404,
            _(
                "Your ballot is still waiting in the pool, to be added with others; "
                "download the signed promise for now."
            ),
        )
    return _attachment(mine.proof, f"ballot-{ballot.ledger_id}-{mine.tracker[:8]}.tlog-proof")


@bp.get("/<int:ballot_id>/receipt.tlog-promise")
@login_required
def receipt_promise(ballot_id: int) -> ResponseReturnValue:
    """The signed promise given when the voter's current ballot was cast."""
    ballot = load_ballot(ballot_id)
    mine = _mine_or_404(ballot, proof=False)
    return _attachment(mine.promise, f"ballot-{ballot.ledger_id}-{mine.tracker[:8]}.tlog-promise")


def _mine_or_404(ballot: Ballot, *, proof: bool) -> services.VoterReceipt:
    mine = services.voter_receipt(db.session, ballot=ballot, voter=current_user, proof=proof)
    if mine is None:
        abort(404, _("There is no receipt to download: you have not voted, or the ballot closed."))
    return mine


def _attachment(text: str, name: str) -> Response:
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
    if ballot.is_budget:
        return _budget_results(ballot)
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


def _budget_results(ballot: Ballot) -> ResponseReturnValue:
    """A participatory budget's result: published at closing only (no provisional count)."""
    from civicforum.ballots import budget

    if ballot.status != BallotStatus.CLOSED or ballot.result_json is None:
        abort(404, _("Results are published when the ballot closes."))
    view = budget.results_view(ballot, presentation.parse_result(ballot.result_json))
    return render_page(
        "ballots/budget_results.html",
        ballot=ballot,
        view=view,
        links=budget.links(db.session, ballot.id),
    )


def _pabulib(ballot: Ballot, choices: list[object]) -> str:
    from civicforum.ballots import budget

    config = current_app.config
    return budget.cvr_pabulib(
        ballot, choices, country=config["BUDGET_COUNTRY"], unit=config["BUDGET_UNIT"]
    )


@bp.get("/<int:ballot_id>/results.<fmt>")
def results_download(ballot_id: int, fmt: str) -> ResponseReturnValue:
    ballot = load_ballot(ballot_id)
    if ballot.status != BallotStatus.CLOSED or ballot.result_json is None:
        abort(404, _("Results are published when the ballot closes."))
    if fmt == "json":
        body, mimetype = ballot.result_json.encode("utf-8"), "application/json"
    elif fmt == "csv" and not ballot.is_budget:
        body, mimetype = exports.result_csv(ballot).encode("utf-8"), "text/csv"
    else:
        abort(404)
    return _download(body, mimetype, f"result-{ballot.ledger_id}.{fmt}")


CVR_FORMATS = {
    "cdf.json": ("application/json", exports.cvr_cdf_json),
    "rctab.csv": ("text/csv", exports.cvr_rctab_csv),
    "blt": ("text/plain", exports.cvr_blt),
    "election.json": ("application/json", exports.election_json),
    "pb": ("text/plain", _pabulib),
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
