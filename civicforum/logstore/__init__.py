"""logstore: the database-backed transparency logs (votes and civic record), their
checkpoints, receipts, proofs, tiles, witnesses, exports and the auditor dashboard."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from civicforum import jobs
from civicforum.logstore import civic, cli, keys, models, views  # noqa: F401  (models: guards)
from civicforum.web import nav


def init_app(app: Flask) -> None:
    keys.init_app(app)
    civic.init_app(app)
    cli.init_app(app)
    jobs.register(app, "ledger", "sequence")
    app.register_blueprint(views.bp)
    nav.register(
        app, "footer", nav.NavItem("logstore.verify", lambda: str(_l("Verify a receipt")), 40)
    )
    nav.register(
        app,
        "main",
        nav.NavItem(
            "logstore.dashboard",
            lambda: str(_l("Ledger audit")),
            80,
            visible=nav.has_role("auditor", "admin"),
        ),
    )
