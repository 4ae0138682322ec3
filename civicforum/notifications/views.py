from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField

from civicforum.extensions import db
from civicforum.notifications import digest, services
from civicforum.notifications.models import Notification
from civicforum.web import safe_next
from civicforum.web.htmx import render_page, wants_fragment

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


class SettingsForm(FlaskForm):
    comment_replies = BooleanField(_l("Replies to my comments"))
    proposal_comments = BooleanField(_l("Comments on my proposals"))
    state_changes = BooleanField(_l("State changes of proposals I wrote or support"))
    email_digest = BooleanField(_l("Also send me a daily email digest of unread notifications"))


def _page() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def _list_context() -> dict[str, object]:
    page = services.list_notifications(db.session, user=current_user, page=_page())
    return {
        "page": page,
        "names": services.actor_names(db.session, page.items),
        "describe": digest.describe,
        "target_url": target_url,
        "unread": services.unread_count(db.session, current_user),
    }


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    return render_page("notifications/index.html", fragment="notification_list", **_list_context())


def target_url(notification: Notification) -> str:
    """Where a notification leads: its proposal, at the comment when there is one."""
    url = url_for("proposals.detail", proposal_id=notification.proposal_id)
    return f"{url}#comment-{notification.comment_id}" if notification.comment_id else url


@bp.post("/<int:notification_id>/open")
@login_required
def open_notification(notification_id: int) -> ResponseReturnValue:
    """Opening an unread notification marks it read (a POST: a GET never writes), then goes
    where it points. Someone else's notification id is a 404, as if it did not exist."""
    notification = db.get_or_404(Notification, notification_id)
    if notification.user_id != current_user.id:
        abort(404)
    services.mark_read(db.session, user=current_user, notification_id=notification.id)
    db.session.commit()
    return redirect(target_url(notification), code=303)


@bp.post("/<int:notification_id>/read")
@login_required
def read(notification_id: int) -> ResponseReturnValue:
    services.mark_read(db.session, user=current_user, notification_id=notification_id)
    db.session.commit()
    if wants_fragment():
        return render_page(
            "notifications/index.html", fragment="notification_list", **_list_context()
        )
    return redirect(safe_next(request.form.get("next"), url_for(".index")), code=303)


@bp.post("/read-all")
@login_required
def read_all() -> ResponseReturnValue:
    count = services.mark_read(db.session, user=current_user)
    db.session.commit()
    if wants_fragment():
        return render_page(
            "notifications/index.html", fragment="notification_list", **_list_context()
        )
    flash(
        ngettext(
            "%(num)d notification marked as read.", "%(num)d notifications marked as read.", count
        ),
        "success",
    )
    return redirect(url_for(".index"), code=303)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> ResponseReturnValue:
    current = services.get_settings(db.session, current_user)
    form = SettingsForm(
        data=None
        if request.method == "POST"
        else {
            "comment_replies": current.comment_replies,
            "proposal_comments": current.proposal_comments,
            "state_changes": current.state_changes,
            "email_digest": current_user.notify_email_digest,
        }
    )
    if form.validate_on_submit():
        services.save_settings(
            db.session,
            user=current_user._get_current_object(),  # the model itself is the audit subject
            comment_replies=form.comment_replies.data,
            proposal_comments=form.proposal_comments.data,
            state_changes=form.state_changes.data,
            email_digest=form.email_digest.data,
        )
        db.session.commit()
        flash(_("Your notification settings are saved."), "success")
        return redirect(url_for(".settings"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_page("notifications/settings.html", fragment="settings_form", form=form), status
