"""`civicforum ballots close-due`: open and close ballots whose time has come."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from civicforum.ballots import services
from civicforum.extensions import db

ballots_cli = AppGroup("ballots", help="Ballot maintenance.")


@ballots_cli.command("close-due")
def close_due() -> None:
    """Open ballots whose opening time passed and close (count, publish) those that ended.

    Each ballot is handled in its own transaction, so one failure does not hold back the rest.
    """
    due = [b.id for b in services.due_ballots(db.session)]
    db.session.rollback()
    changed = 0
    for ballot_id in due:
        if db.engine.dialect.name == "sqlite":
            db.session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        ballot = db.session.get(services.Ballot, ballot_id)
        if ballot is not None and services.sync_ballot(db.session, ballot=ballot):
            changed += 1
            click.echo(f"ballot {ballot_id}: now {ballot.status}")
        db.session.commit()
    click.echo(f"close-due: {changed} ballot(s) changed")
