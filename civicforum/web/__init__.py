"""Generic web layer: htmx rendering, CSRF, security headers, error pages. Imports no feature."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from werkzeug.routing import IntegerConverter

from civicforum.web import (
    cache,
    compression,
    errors,
    logs,
    nav,
    security,
    sqlite_lock,
    static_files,
)
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


MAX_DB_INT = 2**63 - 1  # a 64-bit signed column; a larger value overflows the driver (a 500)


def db_int(value: str) -> int | None:
    """A non-negative integer given as ASCII digits that a 64-bit column holds; else None."""
    # "²".isdigit() is true and int("²") fails; 2**63 - 1 has 19 digits (never parse more).
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        return None
    number = int(value)
    return number if number <= MAX_DB_INT else None


class DatabaseIntConverter(IntegerConverter):
    """`<int:…>` in every route: ids the databases can hold (64-bit signed). A larger one
    is a 404 like any unknown id, instead of an overflow error from the driver (a 500)."""

    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", MAX_DB_INT)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = DatabaseIntConverter  # before any blueprint's routes
    # First registered, so it runs last: it compresses the response every other hook made.
    compression.init_app(app)
    app.after_request(vary_on_htmx)
    security.init_app(app)
    errors.init_app(app)
    logs.init_app(app)
    nav.init_app(app)
    sqlite_lock.init_app(app)
    cache.init_app(app)
    static_files.init_app(app)
