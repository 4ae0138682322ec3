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


MAX_DB_INT = 2**63 - 1  # BIGINT (ledger positions); a larger value overflows the driver
# INTEGER: every table's id on PostgreSQL (SQLAlchemy's Integer), and the LIMIT/OFFSET
# parameters SQLAlchemy casts to it. 2^31 there is "integer out of range": a 500.
MAX_DB_ID = 2**31 - 1


def db_int(value: str, *, maximum: int = MAX_DB_INT, canonical: bool = False) -> int | None:
    """A non-negative integer given as ASCII digits, at most `maximum`; else None.
    `canonical`: without leading zeros too (log indexes and sizes: `00` is not `0`)."""
    # "²".isdigit() is true and int("²") fails; 2**63 - 1 has 19 digits (never parse more).
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        return None
    if canonical and len(value) > 1 and value.startswith("0"):
        return None
    number = int(value)
    return number if number <= maximum else None


def db_id(value: str) -> int | None:
    """`db_int` for a row id (an INTEGER column)."""
    return db_int(value, maximum=MAX_DB_ID)


class DatabaseIntConverter(IntegerConverter):
    """`<int:…>` in every route: ids an INTEGER column holds (the ids of every table; the
    one other use, a vote-log index in a receipt URL, stays far below). A larger one is a
    404 like any unknown id, instead of PostgreSQL's "integer out of range" (a 500).
    Only canonical decimals match: `/ledger/votes/receipt/00` is not entry 0 (one resource,
    one address: a log entry or receipt named two ways could be served two ways)."""

    regex = r"(?:0|[1-9][0-9]*)"

    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", MAX_DB_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    from civicforum.web import inputs  # it reads the bounds from this module

    app.url_map.converters["int"] = DatabaseIntConverter  # before any blueprint's routes
    # First registered, so it runs last: it compresses the response every other hook made.
    compression.init_app(app)
    app.after_request(vary_on_htmx)
    inputs.init_app(app)
    security.init_app(app)  # after inputs: the host check goes before it
    errors.init_app(app)
    logs.init_app(app)
    nav.init_app(app)
    sqlite_lock.init_app(app)
    cache.init_app(app)
    static_files.init_app(app)
