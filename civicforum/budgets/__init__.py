"""Participatory budgets: projects with costs, feasibility review, and a budget ballot that
funds them (counted by ``tabulation.budget``'s rules, recorded like every ballot)."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from civicforum.budgets import models  # noqa: F401  (registers the tables)
from civicforum.web import nav


def init_app(app: Flask) -> None:
    from civicforum.ballots import budget as budget_ballots
    from civicforum.budgets import views

    app.register_blueprint(views.bp)
    # The ballot pages link each option to its project (ballots never import budgets).
    budget_ballots.register_lookup(views.ballot_links)
    nav.register(app, "main", nav.NavItem("budgets.index", lambda: str(_l("Budgets")), 35))
    nav.register(
        app,
        "admin",
        nav.NavItem(
            "admin.budgets_index", lambda: str(_l("Budgets")), 35, visible=nav.has_role("admin")
        ),
    )
