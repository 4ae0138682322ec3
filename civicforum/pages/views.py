from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import text

from civicforum.extensions import db
from civicforum.i18n import LANGUAGE_COOKIE
from civicforum.web import safe_next
from civicforum.web.htmx import render_page

bp = Blueprint("pages", __name__)


@bp.get("/")
def home() -> ResponseReturnValue:
    from civicforum.ballots.services import list_ballots
    from civicforum.proposals.services import ProposalQuery, list_proposals

    ballots = list_ballots(db.session, state="open", per_page=3)
    proposals = list_proposals(
        db.session, query=ProposalQuery(state="published", sort="closing"), viewer=current_user
    )
    return render_page(
        "pages/home.html", open_ballots=ballots.items, closing_soon=list(proposals.items)[:5]
    )


@bp.route("/language", methods=["GET", "POST"])
def language() -> ResponseReturnValue:
    """The language switcher, without JavaScript: remembered in a cookie (a year), and for a
    signed-in member also in the account (their form posts, with its CSRF token). Visitors'
    form is a GET: a token would give every anonymous page a server-side session."""
    source = request.form if request.method == "POST" else request.args
    target = safe_next(source.get("next"), url_for(".home"))
    chosen = source.get("lang", "")
    if chosen not in current_app.config["LANGUAGES"]:
        return redirect(target, code=303)
    if request.method == "POST" and current_user.is_authenticated:
        from civicforum.accounts import services as accounts

        member = current_user._get_current_object()
        accounts.update_settings(
            db.session,
            user=member,
            display_name=member.display_name,
            locale=chosen,
            timezone=member.timezone,
            notify_email_digest=member.notify_email_digest,
        )
        db.session.commit()
    response = redirect(target, code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        chosen,
        max_age=365 * 24 * 3600,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    return send_from_directory(
        current_app.static_folder or "static",
        "favicon.svg",
        mimetype="image/svg+xml",
        max_age=86400,
    )


@bp.get("/healthz")
def health() -> ResponseReturnValue:
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
