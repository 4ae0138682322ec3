"""Translation that also works outside a request (CLI, demo seeding, background jobs).

The site's locale selector reads the request and the signed-in user, so flask_babel's
gettext fails without a request context; there the English source text is used. The name
`_` keeps `pybabel extract` finding every message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import has_request_context
from flask_babel import gettext


def _(message: str, **variables: Any) -> str:
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


def format_datetime(value: datetime, style: str = "medium") -> str:
    if has_request_context():
        from civicforum.i18n import format_moment  # the site's one format (issue 15)

        return format_moment(value)
    return value.strftime("%Y-%m-%d %H:%M UTC")
