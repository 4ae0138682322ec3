"""Admin pages: one blueprint, one guard for all its routes.

Each feature's admin pages live in their own module here (`admin/<feature>.py`) and
register on `bp`; init_app imports them all.
"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_babel import lazy_gettext as _l

from civicforum.accounts.guards import require_role
from civicforum.accounts.models import Role
from civicforum.web import nav

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(require_role(Role.ADMIN))


def init_app(app: Flask) -> None:
    import importlib
    import pkgutil

    # Every module in this package registers its routes on `bp` (one per feature).
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")

    app.register_blueprint(bp)
    nav.register(
        app,
        "main",
        nav.NavItem("admin.index", lambda: str(_l("Admin")), 90, visible=nav.has_role("admin")),
    )
