from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from civicforum.extensions import db
from civicforum.notifications import digest

notifications_cli = AppGroup("notifications", help="Notification e-mail.")


@notifications_cli.command("send-digests")
def send_digests() -> None:
    """Mail each opted-in user their unread notifications not mailed before (run daily)."""
    sent = failed = 0
    for item in digest.collect(db.session):
        # A request context gives the mail its language (links come from BASE_URL).
        with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
            delivered = digest.send(item)
        if delivered:
            digest.mark_sent(db.session, item)
            # One commit per mail: a crash half-way never re-sends what already went out.
            db.session.commit()
            sent += 1
        else:
            failed += 1
    click.echo(f"notifications send-digests: sent {sent}, failed {failed}.")
