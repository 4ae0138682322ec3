"""Locale and time zone selection, and locale-aware formatting helpers for templates."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from babel import Locale
from flask import Flask, current_app, has_request_context, request
from flask_babel import format_datetime, format_decimal, get_locale
from flask_login import current_user

from civicforum.extensions import babel

LANGUAGE_COOKIE = "civicforum_lang"
# Languages written right to left: the page gets dir="rtl" and the layout mirrors (CSS logical
# properties: margin-inline-start, border-inline-start, text-align: start).
RTL = frozenset({"ar", "fa", "he", "ur"})


def _signed_in() -> bool:
    from civicforum.web.errors import database_down

    # The signed-in user is read from the database: not while it is unreachable (the outage
    # page would fail too).
    return not database_down() and bool(current_user and current_user.is_authenticated)


def select_locale() -> str | None:
    """The account's language, else the one chosen with the switcher (a cookie, so it is
    remembered without an account), else the browser's preference."""
    if not has_request_context():  # CLI commands and seeders use the default locale
        return None
    languages = current_app.config["LANGUAGES"]
    if _signed_in() and current_user.locale in languages:
        return str(current_user.locale)
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in languages:
        return str(chosen)
    return request.accept_languages.best_match(languages)


def text_direction(locale: str | None = None) -> str:
    code = str(locale or get_locale() or "en").split("_")[0]
    return "rtl" if code in RTL else "ltr"


def language_choices() -> list[tuple[str, str]]:
    """(code, name in that language): "français", "español", "العربية"."""
    return [(code, _native_name(code)) for code in current_app.config["LANGUAGES"]]


@lru_cache(maxsize=32)
def _native_name(code: str) -> str:
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def select_timezone() -> str | None:
    if not has_request_context():
        return None
    if _signed_in() and current_user.timezone:
        return str(current_user.timezone)
    return None


# One way to show a moment in each language (issue 15 found three on the site): the locale's
# medium date and short time, joined as the locale joins them, in the reader's time zone:
# "7 Dec 2026, 23:27" (en-GB), "Dec 7, 2026, 11:27 PM" (en), "7 déc. 2026, 23:27" (fr).
@lru_cache(maxsize=32)
def moment_pattern(locale: str) -> str:
    """The CLDR date-and-time pattern used for every moment shown in `locale`."""
    parsed = Locale.parse(locale)
    date = parsed.date_formats["medium"].pattern
    time = parsed.time_formats["short"].pattern
    joined = str(parsed.datetime_formats.get("medium", "{1} {0}"))
    return joined.replace("{1}", date).replace("{0}", time)


def format_moment(value: datetime | None) -> str:
    """A date and time as people of the current locale write it, in their time zone."""
    if value is None:
        return ""
    return str(format_datetime(value, moment_pattern(str(get_locale() or "en"))))


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # The style argument of old callers is ignored: every page uses the one format above.
    app.jinja_env.filters["datetime"] = lambda value, _style=None: format_moment(value)
    app.jinja_env.filters["number"] = lambda v: format_decimal(v) if v is not None else ""
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "en")
    app.jinja_env.globals["text_direction"] = text_direction
    app.jinja_env.globals["language_choices"] = language_choices
