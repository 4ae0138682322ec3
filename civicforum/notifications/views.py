from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField

from civicforum.extensions import db
from civicforum.notifications import digest, services
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
        "unread": services.unread_count(db.session, current_user),
    }


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    return render_page("notifications/index.html", fragment="notification_list", **_list_context())


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
    flash(_("%(n)s notification(s) marked as read.", n=count), "success")
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
