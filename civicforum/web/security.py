"""Security headers: a strict CSP that htmx 2 works under (see templates/base.html)."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import SecurityError

from civicforum.web.logs import security_event

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if response.mimetype == "text/html":
        headers.setdefault("Cache-Control", "no-store")
    return response


def refuse_untrusted_host() -> Response | None:
    """400 for a Host header outside TRUSTED_HOSTS, before any other hook runs.

    Flask records it as the routing error, which would only be raised after every
    before_request hook; and the usual error page cannot be rendered, since no URL can be
    built for that request. Plain text, then."""
    if not isinstance(request.routing_exception, SecurityError):
        return None
    security_event("untrusted-host", host=request.headers.get("Host", "")[:100])
    return Response(
        "Bad request: this server does not answer for that host name.\n", 400, mimetype="text/plain"
    )


def init_app(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_untrusted_host)
    app.after_request(add_security_headers)
    if app.config.get("SESSION_COOKIE_SECURE"):

        @app.after_request
        def _hsts(response: Response) -> Response:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
            return response
