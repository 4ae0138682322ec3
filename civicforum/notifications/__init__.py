"""In-app notifications: replies, comments on your proposals, state changes; email digests."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from civicforum.audit.services import subscribe
from civicforum.notifications import (
    models,  # noqa: F401
    services,
)
from civicforum.web import nav

# Notifications are created in the transaction of the event that causes them.
subscribe(services.on_event)


def _unread() -> int:
    from civicforum.extensions import db

    if not current_user.is_authenticated:
        return 0
    return services.unread_count(db.session, current_user)


def init_app(app: Flask) -> None:
    from civicforum.notifications import cli, views

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.notifications_cli)
    nav.register(
        app,
        "account",
        nav.NavItem("notifications.index", lambda: str(_l("Notifications")), 20, badge=_unread),
    )
