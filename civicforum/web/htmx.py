"""One render helper for full pages and htmx fragments (named blocks of the same template)."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request
from jinja2_fragments.flask import render_block


def wants_fragment() -> bool:
    """htmx swap requests; boosted navigation and history restores need the full page."""
    hx = getattr(request, "htmx", None)  # set by htmx-flask's request class
    return bool(hx) and not hx.boosted and not hx.history_restore_request


def render_page(template: str, *, fragment: str | None = None, **context: Any) -> str:
    """Render the whole page, or only the block `fragment` for an htmx swap request.

    The block name is always chosen by the view, never taken from the request.
    """
    if fragment and wants_fragment():
        return render_block(template, fragment, **context)
    return render_template(template, **context)


def vary_on_htmx(response: Response) -> Response:
    response.vary.add("HX-Request")
    return response
