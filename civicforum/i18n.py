"""Locale and time zone selection, and locale-aware formatting helpers for templates."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request
from flask_babel import format_datetime, format_decimal, get_locale
from flask_login import current_user

from civicforum.extensions import babel


def _signed_in() -> bool:
    from civicforum.web.errors import database_down

    # The signed-in user is read from the database: not while it is unreachable (the outage
    # page would fail too).
    return not database_down() and bool(current_user and current_user.is_authenticated)


def select_locale() -> str | None:
    if not has_request_context():  # CLI commands and seeders use the default locale
        return None
    languages = current_app.config["LANGUAGES"]
    if _signed_in() and current_user.locale in languages:
        return str(current_user.locale)
    return request.accept_languages.best_match(languages)


def select_timezone() -> str | None:
    if not has_request_context():
        return None
    if _signed_in() and current_user.timezone:
        return str(current_user.timezone)
    return None


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters["datetime"] = lambda v, f="medium": format_datetime(v, f) if v else ""
    app.jinja_env.filters["number"] = lambda v: format_decimal(v) if v is not None else ""
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "en")
