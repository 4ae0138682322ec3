from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from civicforum.extensions import db
from civicforum.web.htmx import render_page

bp = Blueprint("pages", __name__)


@bp.get("/")
def home() -> ResponseReturnValue:
    return render_page("pages/home.html")


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
