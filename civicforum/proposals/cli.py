from __future__ import annotations

import click
from flask.cli import AppGroup

from civicforum.extensions import db
from civicforum.proposals import services

proposals_cli = AppGroup("proposals", help="Proposal maintenance.")


@proposals_cli.command("expire")
def expire() -> None:
    """Archive published proposals whose support period ended (run it daily, e.g. by cron)."""
    count = services.expire_proposals(db.session)
    db.session.commit()
    click.echo(f"proposals expire: archived {count} proposal(s).")
