"""Moderation pages: the queue, user sanctions, appeals; reporting, own notices, the public log."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Flask, abort, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from civicforum.accounts.guards import check_role
from civicforum.accounts.models import Role, User
from civicforum.extensions import db
from civicforum.moderation import chart, items, policy, queries, services
from civicforum.moderation.errors import ModerationError
from civicforum.moderation.forms import (
    AppealDecisionForm,
    AppealForm,
    BulkForm,
    DecisionForm,
    FlagForm,
    LiftForm,
    SanctionForm,
    action_labels,
    item_name,
    reason_labels,
)
from civicforum.moderation.models import Appeal, ItemType, Sanction
from civicforum.web import db_id, nav, safe_next
from civicforum.web.htmx import render_page, wants_fragment

bp = Blueprint("moderation", __name__, url_prefix="/moderation")

KINDS = "<any(comment,proposal):kind>"


def moderator_required(view: Callable[..., ResponseReturnValue]) -> Callable[..., Any]:
    """Moderator or admin, with 2FA, and not under a suspension or ban."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        denied = check_role(Role.MODERATOR, Role.ADMIN)
        if denied is not None:
            return denied
        policy.ensure_can_participate(db.session, current_user)
        return view(*args, **kwargs)

    return wrapped


def _labels() -> dict[str, Any]:
    return {
        "reason_labels": reason_labels(),
        "action_labels": action_labels(),
        "item_name": item_name,
    }


def _load(kind: str, item_id: int) -> Any:
    try:
        return items.load_item(db.session, kind, item_id)
    except ModerationError:
        abort(404)


# ------------------------------------------------------------------ the queue


def _queue_args() -> tuple[str, int]:
    tab = request.args.get("tab", "review")
    if tab not in queries.QUEUE_TABS:
        tab = "review"
    return tab, request.args.get("page", 1, type=int) or 1


@bp.get("/queue")
@moderator_required
def queue() -> ResponseReturnValue:
    tab, page = _queue_args()
    return _queue_list(tab, page, BulkForm())


def _row(entry: queries.QueueEntry, form: DecisionForm | None, status: int, message: str = ""):
    return (
        render_page(
            "moderation/item.html",
            fragment="queue_row",
            entry=entry,
            form=form or DecisionForm(formdata=None),
            message=message,
            **_labels(),
        ),
        status,
    )


@bp.get(f"/items/{KINDS}/<int:item_id>")
@moderator_required
def item(kind: str, item_id: int) -> ResponseReturnValue:
    _load(kind, item_id)
    entry = queries.load_entries(db.session, [(kind, item_id)], viewer=current_user)[0]
    return _row(entry, None, 200)


def _decision(form: DecisionForm | BulkForm) -> dict[str, Any]:
    return {
        "action": form.action.data,
        "reason_code": form.reason_code.data or None,
        "reason": form.reason.data or "",
    }


def _reason_refused(form: DecisionForm | BulkForm, error: ModerationError) -> None:
    """The service's 422 (a reason it refuses) becomes the reason field's error; others raise."""
    if error.status_code != 422:
        raise error
    form.reason.errors = [error.message]


@bp.post(f"/items/{KINDS}/<int:item_id>/decide")
@moderator_required
def decide(kind: str, item_id: int) -> ResponseReturnValue:
    target = _load(kind, item_id)
    form = DecisionForm()
    if not form.validate() or not form.version.data.isdigit():
        entry = queries.load_entries(db.session, [(kind, item_id)], viewer=current_user)[0]
        return _row(entry, form, 422)
    try:
        record = services.moderate_item(
            db.session,
            item=target,
            actor=current_user,
            expected_version=int(form.version.data),
            **_decision(form),
        )
    except ModerationError as error:
        _reason_refused(form, error)
        entry = queries.load_entries(db.session, [(kind, item_id)], viewer=current_user)[0]
        return _row(entry, form, 422)
    db.session.commit()
    action, item = action_labels()[record.action], item_name(record.item_ref)
    message = _("%(action)s: %(item)s.", action=action, item=item)
    if not wants_fragment():
        flash(message, "success")
        return redirect(safe_next(request.args.get("next"), url_for(".queue")), code=303)
    entry = queries.load_entries(db.session, [(kind, item_id)], viewer=current_user)[0]
    return _row(entry, None, 200, message)


def _parse_selection(values: list[str]) -> list[tuple[Any, int]]:
    selection = []
    for value in values:
        kind, _sep, rest = value.partition(":")
        item_id, _sep, version = rest.partition(":")
        number, seen = db_id(item_id), db_id(version)  # both INTEGER columns
        if kind not in (ItemType.COMMENT, ItemType.PROPOSAL) or number is None or seen is None:
            abort(400)
        selection.append((_load(kind, number), seen))
    return selection


def _queue_list(tab: str, page: int, bulk: BulkForm, **extra: Any) -> str:
    return render_page(
        "moderation/queue.html",
        fragment="queue_list",
        tab=tab,
        page=queries.queue_page(db.session, tab=tab, page=page, viewer=current_user),
        bulk=bulk,
        forms={},
        **extra,
        **_labels(),
    )


def _done_summary(action: str, count: int) -> str:
    messages = {
        "approve": ngettext("%(num)d item approved.", "%(num)d items approved.", count),
        "hide": ngettext("%(num)d item hidden.", "%(num)d items hidden.", count),
        "remove": ngettext("%(num)d item removed.", "%(num)d items removed.", count),
        "restore": ngettext("%(num)d item restored.", "%(num)d items restored.", count),
    }
    return messages.get(action) or ngettext("%(num)d item done.", "%(num)d items done.", count)


@bp.post("/queue/bulk")
@moderator_required
def bulk() -> ResponseReturnValue:
    tab, page = _queue_args()
    form = BulkForm()
    # A refused form keeps the page, the moderator's ticks and what they typed (issue 15).
    keep = {"selected": set(form.selected.data or [])}
    if not form.validate():
        return _queue_list(tab, page, form, **keep), 422
    try:
        result = services.bulk_moderate(
            db.session,
            selection=_parse_selection(form.selected.data or []),
            actor=current_user,
            **_decision(form),
        )
    except ModerationError as error:
        _reason_refused(form, error)
        return _queue_list(tab, page, form, **keep), 422
    db.session.commit()
    summary = _done_summary(form.action.data, len(result.applied))
    refused = [(item_name(ref), message) for ref, message in result.refused]
    if not wants_fragment():
        flash(summary, "success")
        for name, message in refused:
            flash(f"{name}: {message}", "warning")
        return redirect(url_for(".queue", tab=tab, page=page), code=303)
    return _queue_list(tab, page, BulkForm(formdata=None), summary=summary, refused=refused)


# ------------------------------------------------------------------ users and sanctions


def _user_page(user: User, form: SanctionForm, status: int = 200) -> ResponseReturnValue:
    history = queries.author_histories(db.session, {user.id})[user.id]
    can_sanction = user.id != current_user.id and (
        not services.is_moderator(user) or current_user.has_role(Role.ADMIN)
    )
    return render_page(
        "moderation/user.html",
        member=user,
        history=history,
        restriction=policy.active_restriction(db.session, user),
        sanctions=queries.user_sanctions(db.session, user.id),
        actions=queries.user_actions(db.session, user.id),
        form=form,
        lift_form=LiftForm(formdata=None),
        can_sanction=can_sanction,
        now=services.utcnow(),
        **_labels(),
    ), status


@bp.get("/users/<int:user_id>")
@moderator_required
def user(user_id: int) -> ResponseReturnValue:
    return _user_page(db.get_or_404(User, user_id), SanctionForm(formdata=None))


@bp.post("/users/<int:user_id>/sanction")
@moderator_required
def sanction(user_id: int) -> ResponseReturnValue:
    member = db.get_or_404(User, user_id)
    form = SanctionForm()
    if not form.validate():
        return _user_page(member, form, 422)
    services.sanction_user(
        db.session,
        user=member,
        actor=current_user,
        kind=form.kind.data,
        reason=form.reason.data,
        days=form.days.data,
    )
    db.session.commit()
    flash(_("Sanction recorded for %(name)s.", name=member.display_name), "success")
    return redirect(url_for(".user", user_id=member.id), code=303)


@bp.post("/sanctions/<int:sanction_id>/lift")
@moderator_required
def lift(sanction_id: int) -> ResponseReturnValue:
    record = db.get_or_404(Sanction, sanction_id)
    form = LiftForm()
    if not form.validate():
        return _user_page(record.user, SanctionForm(formdata=None), 422)
    services.lift_sanction(db.session, sanction=record, actor=current_user, reason=form.reason.data)
    db.session.commit()
    flash(_("Sanction lifted."), "success")
    return redirect(url_for(".user", user_id=record.user_id), code=303)


# ------------------------------------------------------------------ appeals


def _appeals_page(forms: dict[int, AppealDecisionForm], status: int = 200) -> ResponseReturnValue:
    appeals = queries.pending_appeals(db.session)
    entries = {
        e.ref: e
        for e in queries.load_entries(
            db.session, [(a.item_type, a.item_id) for a in appeals], viewer=current_user
        )
    }
    return render_page(
        "moderation/appeals.html",
        appeals=appeals,
        entries=entries,
        forms=forms,
        blank=AppealDecisionForm(formdata=None),
        can_decide={a.id: services.can_decide_appeal(current_user, a) for a in appeals},
        **_labels(),
    ), status


@bp.get("/appeals")
@moderator_required
def appeals() -> ResponseReturnValue:
    return _appeals_page({})


@bp.post("/appeals/<int:appeal_id>/decide")
@moderator_required
def decide_appeal(appeal_id: int) -> ResponseReturnValue:
    appeal = db.get_or_404(Appeal, appeal_id)
    form = AppealDecisionForm()
    if not form.validate():
        return _appeals_page({appeal.id: form}, 422)
    services.decide_appeal(
        db.session,
        appeal=appeal,
        actor=current_user,
        grant=form.decision.data == "grant",
        reason=form.reason.data,
    )
    db.session.commit()
    flash(_("Appeal decided."), "success")
    return redirect(url_for(".appeals"), code=303)


# ------------------------------------------------------------------ members


@bp.route(f"/report/{KINDS}/<int:item_id>", methods=["GET", "POST"])
@login_required
def report(kind: str, item_id: int) -> ResponseReturnValue:
    target = _load(kind, item_id)
    if not items.is_public(target):  # the page quotes the item: never a draft or hidden text
        abort(404)
    form = FlagForm()
    back = safe_next(request.args.get("next"), url_for("pages.home"))
    if request.method == "GET" and services.has_flagged(db.session, item=target, user=current_user):
        # Said up front, instead of a second form that would end in a conflict.
        return render_page(
            "moderation/report.html",
            fragment="report_form",
            done=_("You have already reported this. Moderators will review it."),
            kind=kind,
            target=target,
            form=form,
            back=back,
        )
    if form.validate_on_submit():
        try:
            services.flag_item(
                db.session,
                item=target,
                flagger=current_user,
                reason=form.reason.data,
                details=form.details.data or "",
            )
        except IntegrityError:
            # A double submit raced past the check: the unique key refused the second one.
            db.session.rollback()
            raise services.DuplicateFlagError(
                _("You have already reported this. Moderators will review it.")
            ) from None
        db.session.commit()
        message = _("Thank you. Moderators will review your report.")
        if not wants_fragment():
            flash(message, "success")
            return redirect(back, code=303)
        return render_page(
            "moderation/report.html",
            fragment="report_form",
            done=message,
            kind=kind,
            target=target,
            form=form,
            back=back,
        )
    status = 422 if request.method == "POST" else 200
    return render_page(
        "moderation/report.html",
        fragment="report_form",
        done=None,
        kind=kind,
        target=target,
        form=form,
        back=back,
    ), status


@bp.get("/mine")
@login_required
def mine() -> ResponseReturnValue:
    page = render_page(
        "moderation/mine.html",
        restriction=policy.active_restriction(db.session, current_user),
        sanctions=queries.user_sanctions(db.session, current_user.id),
        own=queries.own_moderated_items(db.session, current_user.id),
        appeals=queries.user_appeals(db.session, current_user.id),
        **_labels(),
    )
    # Opening this page reads the notices; the badge in the navigation goes away.
    services.mark_notices_seen(db.session, user=current_user)
    db.session.commit()
    return page


@bp.route(f"/appeal/{KINDS}/<int:item_id>", methods=["GET", "POST"])
@login_required
def appeal(kind: str, item_id: int) -> ResponseReturnValue:
    target = _load(kind, item_id)
    if items.author_id_of(target) != current_user.id:
        abort(403)
    form = AppealForm()
    if form.validate_on_submit():
        try:
            services.file_appeal(
                db.session, item=target, appellant=current_user, text=form.text.data
            )
        except IntegrityError:
            db.session.rollback()
            raise services.DuplicateAppealError(
                _("You have already appealed for this contribution.")
            ) from None
        db.session.commit()
        flash(_("Your appeal was sent. Another moderator will decide it."), "success")
        return redirect(url_for(".mine"), code=303)
    return render_page(
        "moderation/appeal.html",
        kind=kind,
        target=target,
        action=services.appealable_action(db.session, target),
        form=form,
        **_labels(),
    ), 422 if request.method == "POST" else 200


# ------------------------------------------------------------------ public


@bp.get("/transparency")
def transparency() -> ResponseReturnValue:
    counts = queries.monthly_counts(db.session)
    return render_page(
        "moderation/transparency.html",
        fragment="log_list",
        counts=counts,
        chart=chart.stacked_bars(counts.months, counts.by_action),
        log=queries.public_log(db.session, page=request.args.get("page", 1, type=int) or 1),
        **_labels(),
    )


# ------------------------------------------------------------------ navigation, banner


def current_restriction() -> policy.Restriction | None:
    """The signed-in user's restriction, looked up once per request."""
    if "moderation_restriction" not in g:
        g.moderation_restriction = (
            policy.active_restriction(db.session, current_user)
            if current_user.is_authenticated
            else None
        )
    return g.moderation_restriction


def _notice_count() -> int:
    if not current_user.is_authenticated:
        return 0
    if "moderation_notices" not in g:
        g.moderation_notices = queries.unseen_notice_count(db.session, current_user.id)
    return int(g.moderation_notices)


def _mine_label() -> str:
    restriction = current_restriction()
    if restriction is None:
        return str(_l("Moderation notices"))
    if restriction.until is None:
        return str(_l("Account banned: why?"))
    return str(_l("Account suspended: why?"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    nav.register(
        app,
        "main",
        nav.NavItem(
            "moderation.queue",
            lambda: str(_l("Moderation")),
            80,
            visible=nav.has_role("moderator", "admin"),
        ),
    )
    nav.register(
        app,
        "footer",
        nav.NavItem("moderation.transparency", lambda: str(_l("Moderation log")), 60),
    )
    nav.register(
        app,
        "account",
        nav.NavItem(
            "moderation.mine",
            _mine_label,
            70,
            visible=lambda: bool(
                current_user.is_authenticated and (current_restriction() or _notice_count())
            ),
            badge=_notice_count,
        ),
    )

    @app.context_processor
    def _restriction() -> dict[str, object]:
        # For a site-wide banner: {% if moderation_restriction() %}...{% endif %} in base.html.
        return {"moderation_restriction": current_restriction, "moderation_item_url": item_url}


def item_url(kind: str, item: Any) -> str | None:
    """Where an item is shown publicly, if the proposals pages exist to show it."""
    from werkzeug.routing import BuildError

    proposal_id = item.id if kind == ItemType.PROPOSAL else item.proposal_id
    try:
        url = url_for("proposals.detail", proposal_id=proposal_id)
    except BuildError:
        return None
    return url if kind == ItemType.PROPOSAL else f"{url}#comment-{item.id}"
