from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import text

from civicforum.extensions import db
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
