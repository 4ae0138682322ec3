"""Admin dashboard; feature modules below add their pages to the same blueprint."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from civicforum.admin import bp
from civicforum.web.htmx import render_page


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_page("admin/index.html")
