"""Request input checked once, before any view reads it (issue #14 item 4).

Every view used to parse the query string and form on its own, and hostile input reached
the database: a NUL byte (PostgreSQL refuses it in text: a 500), an `offset` of 10^23 (an
overflow in the driver: a 500), invalid UTF-8 silently replaced, 10,000 form fields parsed.
This hook refuses all of them with a 400 or 413 naming the problem, for every route at once,
so no feature has to remember. Ids in paths are bounded by `web.DatabaseIntConverter`.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote_to_bytes

from flask import Flask, abort, current_app, request
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import Field, Form, ValidationError

from civicforum.markup import TextProblem, normalise_text, text_problem_message
from civicforum.web import MAX_DB_ID, db_int

# Query arguments that views hand to SQL as given, and the largest the database takes for
# them (PostgreSQL's INTEGER, which SQLAlchemy casts LIMIT/OFFSET and ids to): a larger one
# is refused here. Pages are clamped to the last page by the views (Page, clamp_page), and
# log positions are checked by the ledger's JSON endpoints themselves (`db_int`).
INTEGER_ARGS = {"offset": MAX_DB_ID, "edit": MAX_DB_ID}
# Control characters a form may carry: tab and line breaks in texts; nothing else (NUL ends
# strings in C and is refused by PostgreSQL; the others are invisible).
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def _bad(message: str) -> None:
    abort(400, message)


def check_text(value: str) -> None:
    """400 unless `value` is free of NUL and other control characters."""
    for char in value:
        if unicodedata.category(char) == "Cc" and char not in _ALLOWED_CONTROLS:
            _bad(
                _("The request contains a control character (%(code)s).", code=f"U+{ord(char):04X}")
            )


def _decoded_pairs(raw: bytes) -> list[tuple[str, str]]:
    """`a=b&c=d` as strict UTF-8 pairs; 400 on bytes that are not UTF-8 (Werkzeug would
    replace them, or keep their %-escapes, silently)."""
    pairs = []
    for part in raw.split(b"&"):
        if not part:
            continue
        key, _sep, value = part.partition(b"=")
        try:
            pairs.append(
                (
                    unquote_to_bytes(key.replace(b"+", b" ")).decode("utf-8"),
                    unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8"),
                )
            )
        except UnicodeDecodeError:
            _bad(_("The request is not valid UTF-8 text."))
    return pairs


def _count(pairs: int) -> None:
    limit = current_app.config.get("MAX_FORM_PARTS") or 1000
    if pairs > limit:
        # Werkzeug applies max_form_parts to multipart bodies only.
        raise RequestEntityTooLarge(_("At most %(n)s fields per request.", n=limit))


def check_request_input() -> None:
    """The before_request hook: path, query string and form body of every request."""
    check_text(request.path)
    query = _decoded_pairs(request.query_string)
    _count(len(query))
    for key, value in query:
        check_text(key + value)
        limit = INTEGER_ARGS.get(key)
        if limit and value.isascii() and value.isdigit() and db_int(value, maximum=limit) is None:
            _bad(_("The number given for “%(name)s” is too large.", name=key))
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.mimetype == "application/x-www-form-urlencoded":
        # Read once and kept: the form is then parsed from the same bytes.
        body = _decoded_pairs(request.get_data(cache=True))
        _count(len(body))
        for key, value in body:
            check_text(key + value)
    elif request.mimetype == "multipart/form-data":
        # Werkzeug counts the parts (MAX_FORM_PARTS) and decodes text fields replacing bad
        # bytes: a replacement character there is the trace of invalid UTF-8.
        for key, value in request.form.items(multi=True):
            if "\ufffd" in key + value:
                _bad(_("The request is not valid UTF-8 text."))
            check_text(key + value)


class PlainText:
    """Form validator: no control, bidi-override or zero-width characters (the rules of
    `markup.normalise_text`). A right-to-left override in a name or a report reorders what
    a moderator reads (issue #14 item 4); `multiline` allows line breaks, tabs, ZWJ/ZWNJ."""

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, form: Form, field: Field) -> None:
        try:
            normalise_text(field.data or "", multiline=self.multiline)
        except TextProblem as problem:
            raise ValidationError(text_problem_message(problem)) from None


def init_app(app: Flask) -> None:
    # First among the hooks (web.security puts the host check before it): the CSRF check
    # reads the form, and a form parsed before this hook has left no body to check.
    app.before_request_funcs.setdefault(None, []).insert(0, check_request_input)
