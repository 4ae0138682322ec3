"""Accounts: registration, login, server-side sessions, 2FA, roles, voter roll."""

from __future__ import annotations

from flask import Flask, session
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin

from civicforum import jobs
from civicforum.accounts import cli, devices, facts, names, views
from civicforum.accounts.models import RoleChange, User
from civicforum.accounts.sessions import ServerSessionInterface, make_store
from civicforum.extensions import db, login_manager
from civicforum.web import cache, nav


class Anonymous(AnonymousUserMixin):
    role_names: frozenset[str] = frozenset()
    active_role_names: frozenset[str] = frozenset()
    locale = None
    timezone = None
    is_email_verified = False
    needs_totp = False

    def has_role(self, role: str) -> bool:
        return False


def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    # One query per request for the user, their roles (the navigation needs both) and the
    # facts other features registered (accounts.facts).
    user = facts.load_user(db.session, int(user_id))
    if user is None:
        return None
    # "Log out everywhere" and password changes bump the version; older sessions end here
    # even if their record survived (e.g. a Redis outage during the bump).
    if session.get("_sv") != user.session_version:
        return None
    # Set on every load: the same object may come back from the identity map.
    user.set_second_factor(bool(session.get("mfa")))
    return user


def _staff_badges(user: object) -> list[tuple[str, str]]:
    """(role, label) of each staff badge for `user` (templates: beside a shown name)."""
    labels = {"admin": _l("Admin"), "moderator": _l("Moderator"), "auditor": _l("Auditor")}
    return [(role, str(labels[role])) for role in names.staff_badges(db.session, user)]


def init_app(app: Flask) -> None:
    app.session_interface = ServerSessionInterface(make_store(app))
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.anonymous_user = Anonymous
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "strong"
    app.register_blueprint(views.bp)
    app.jinja_env.globals["staff_badges"] = _staff_badges
    # A granted or revoked role changes the staff badges on public pages (every change
    # writes a RoleChange; a new account's citizen role does not, nor need to).
    cache.watch(RoleChange)
    app.cli.add_command(cli.create_admin)
    app.cli.add_command(cli.totp_code)
    app.cli.add_command(cli.sessions_cli)
    jobs.register(app, "sessions", "purge")
    nav.register(app, "account", nav.NavItem("accounts.account", lambda: str(_l("Account")), 90))
    app.jinja_env.filters["device"] = devices.describe
