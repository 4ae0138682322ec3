"""Error pages: a full page normally, a small fragment for htmx swaps."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from civicforum.web.htmx import wants_fragment
from civicforum.web.logs import security_event

PAGES = (400, 403, 404, 405, 409, 413, 422, 429, 500)


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


def init_app(app: Flask) -> None:
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
        return render_error(500)


def _describe(error: HTTPException) -> str | None:
    # Werkzeug's default descriptions are generic English; show ours unless a view set one.
    default = type(error).description
    return None if error.description == default else error.description
