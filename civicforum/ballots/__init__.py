"""Ballots: definition, voting with cast-as-intended review, closing, results and downloads."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from civicforum import jobs
from civicforum.ballots import models  # noqa: F401  (registers the tables)
from civicforum.web import nav


def init_app(app: Flask) -> None:
    from civicforum.ballots import budget, cli, views, votelog

    votelog.init_app()
    app.jinja_env.filters["money"] = budget.money  # an exact amount, grouped, with currency
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.ballots_cli)
    jobs.register(app, "ballots", "close-due")
    nav.register(app, "main", nav.NavItem("ballots.index", lambda: str(_l("Ballots")), 30))
    nav.register(
        app,
        "admin",
        nav.NavItem(
            "admin.ballots_index", lambda: str(_l("Ballots")), 30, visible=nav.has_role("admin")
        ),
    )
