"""Error pages: a full page normally, a small fragment for htmx swaps."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError

from civicforum.web.htmx import wants_fragment
from civicforum.web.logs import security_event

PAGES = (400, 403, 404, 405, 409, 413, 422, 429, 500)
# The database cannot be reached (a server down or restarting, a pool exhausted, SQLite busy
# past its timeout): the request can be tried again later.
DATABASE_DOWN = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)
RETRY_AFTER_SECONDS = 30
RETRY_SAFE = "civicforum_retry_safe"
log = logging.getLogger("civicforum.errors")
F = TypeVar("F", bound=Callable[..., Any])


def retry_safe(message: Callable[[], str]) -> Callable[[F], F]:
    """Mark a write view whose request may be sent again as it is after a failure (it
    carries a one-time token): the outage page says so, with ``message``."""

    def mark(view: F) -> F:
        setattr(view, RETRY_SAFE, message)
        return view

    return mark


def database_down() -> bool:
    """Whether this request met an unreachable database: nothing else may ask it anything
    (the signed-in user, their locale), or the error page itself would fail."""
    return bool(g.get("database_down"))


class CivicforumError(Exception):
    """Base of every domain error; carries its HTTP status and a user-facing message."""

    status_code = 400

    def __init__(self, message: str | None = None, *, status_code: int | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or "Error")
        self.message = message or (self.__class__.__doc__ or "Error").strip()
        if status_code is not None:
            self.status_code = status_code


def _titles() -> dict[int, str]:
    return {
        400: _("Bad request"),
        403: _("Not allowed"),
        404: _("Page not found"),
        405: _("Method not allowed"),
        409: _("Conflict"),
        413: _("Request too large"),
        422: _("Invalid input"),
        429: _("Too many requests"),
        500: _("Something went wrong"),
    }


def render_error(code: int, message: str | None = None) -> ResponseReturnValue:
    title = _titles().get(code, _("Error"))
    if request.accept_mimetypes.best == "application/json" or request.path.endswith(".json"):
        return jsonify(error=title, message=message), code
    if wants_fragment():
        return render_template(
            "errors/_fragment.html", code=code, title=title, message=message
        ), code
    template = f"errors/{code}.html" if code in PAGES else "errors/generic.html"
    return render_template(template, code=code, title=title, message=message), code


def render_unavailable() -> ResponseReturnValue:
    """503 + Retry-After, rendered without the database: a standalone page that reads neither
    the signed-in user nor anything stored; it says what happened to what was sent."""
    g.database_down = True
    view = current_app.view_functions.get(request.endpoint or "")
    retry = getattr(view, RETRY_SAFE, None)
    if retry is not None:
        detail = retry()
    elif request.method in ("GET", "HEAD"):
        detail = _("Nothing was changed. Try again in a minute.")
    else:
        detail = _(
            "What you sent may not have been saved. Once the site is back, check before "
            "sending it again."
        )
    title = _("The site is temporarily unavailable")
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    try:
        if request.accept_mimetypes.best == "application/json" or request.path.endswith(".json"):
            return jsonify(error=title, message=detail), 503, headers
        if wants_fragment():
            body = render_template("errors/_fragment.html", code=503, title=title, message=detail)
        else:
            body = render_template("errors/503.html", title=title, message=detail)
    except Exception:  # the page must never fail: plain text then
        log.exception("the outage page could not be rendered")
        body = f"{title}\n\n{detail}\n"
        headers["Content-Type"] = "text/plain; charset=utf-8"
    return body, 503, headers


def _forget_session() -> None:
    from civicforum.extensions import db

    try:
        db.session.remove()
    except Exception:  # a broken connection may fail even its rollback
        log.debug("discarding the database session failed", exc_info=True)


class DatabaseUnavailableError(Exception):
    """The session store could not be read: answer with the outage page."""


def init_app(app: Flask) -> None:
    def _stop_when_the_database_is_down() -> None:
        # Set while opening the session (accounts.sessions), before the request was matched;
        # raised here, once request.endpoint is known, so the page can say what was affected.
        # First of all before-request hooks: the CSRF check would read the session.
        if database_down():
            raise DatabaseUnavailableError()

    app.before_request_funcs.setdefault(None, []).insert(0, _stop_when_the_database_is_down)

    def _unavailable(error: Exception) -> ResponseReturnValue:
        g.database_down = True
        log.error("database unavailable: %s", (str(error).splitlines() or [""])[0][:300])
        _forget_session()
        return render_unavailable()

    for kind in (DatabaseUnavailableError, *DATABASE_DOWN):
        app.register_error_handler(kind, _unavailable)

    @app.errorhandler(CivicforumError)
    def _domain(error: CivicforumError) -> ResponseReturnValue:
        return render_error(error.status_code, error.message)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> ResponseReturnValue:
        security_event("csrf-failure", reason=error.description)
        return render_error(
            400,
            _("The form expired or was not sent from this site. Reload the page and try again."),
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> ResponseReturnValue:
        if error.response is not None:  # the raiser built its own page (a login wall's 429)
            return error.response
        code = error.code or 500
        if code in (401, 403):
            security_event("forbidden", status=code)
        response = render_error(code, _describe(error))
        if code == 429 and isinstance(response, tuple):
            body, status = response[0], response[1]
            retry = getattr(error, "retry_after", None) or 60
            return body, status, {"Retry-After": str(retry)}
        return response

    @app.errorhandler(InternalServerError)
    def _500(error: InternalServerError) -> ResponseReturnValue:
        cause = getattr(error, "original_exception", None)
        if isinstance(cause, DATABASE_DOWN) or database_down():
            return _unavailable(cause or error)
        try:
            return render_error(500)
        except DATABASE_DOWN as exc:  # the page itself needed the database
            return _unavailable(exc)


def _describe(error: HTTPException) -> str | None:
    # Werkzeug's default descriptions are generic English; show ours unless a view set one.
    default = type(error).description
    return None if error.description == default else error.description
