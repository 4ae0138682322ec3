"""Proposals: writing, revisions, lifecycle, supports, browse and search."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from civicforum import jobs
from civicforum.proposals import labels, models, settings  # noqa: F401  (tables, settings)
from civicforum.web import cache, nav


def init_app(app: Flask) -> None:
    from civicforum.proposals import cli, views

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.proposals_cli)
    jobs.register(app, "proposals", "expire")
    # What the public proposal pages show: writes to these bump the page cache's version.
    from civicforum.accounts.models import User
    from civicforum.settings.models import Setting

    cache.watch(
        models.Proposal,
        models.Category,
        models.ProposalTag,
        models.ProposalTransition,
        models.ProposalRevision,
        Setting,
    )
    cache.watch(User, attrs=("display_name",))
    nav.register(app, "main", nav.NavItem("proposals.index", lambda: str(_l("Proposals")), 10))
    app.jinja_env.globals["proposal_state_labels"] = labels.state_labels
