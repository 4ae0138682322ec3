"""Generic web layer: htmx rendering, CSRF, security headers, error pages. Imports no feature."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from werkzeug.routing import IntegerConverter

from civicforum.web import cache, errors, logs, nav, security, sqlite_lock
from civicforum.web.htmx import vary_on_htmx


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site absolute paths: rejects //host, scheme://, backslash tricks."""
    if not target:
        return default
    target = target.strip()
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        return default
    return target


class DatabaseIntConverter(IntegerConverter):
    """`<int:…>` in every route: ids the databases can hold (64-bit signed). A larger one
    is a 404 like any unknown id, instead of an overflow error from the driver (a 500)."""

    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = DatabaseIntConverter  # before any blueprint's routes
    app.after_request(vary_on_htmx)
    security.init_app(app)
    errors.init_app(app)
    logs.init_app(app)
    nav.init_app(app)
    sqlite_lock.init_app(app)
    cache.init_app(app)
