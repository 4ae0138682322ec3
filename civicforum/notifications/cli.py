from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from civicforum.extensions import db
from civicforum.mail.cli import send_due
from civicforum.notifications import digest

notifications_cli = AppGroup("notifications", help="Notification e-mail.")


@notifications_cli.command("send-digests")
def send_digests() -> None:
    """Mail each opted-in user their unread notifications not mailed before (run daily)."""
    queued = 0
    for item in digest.collect(db.session):
        # A request context gives the mail its language (links come from BASE_URL).
        with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
            digest.queue(db.session, item)
        queued += 1
    # The queued mails and the "mailed" marks commit together: never lost, never twice.
    db.session.commit()
    sent, failed = send_due()
    click.echo(
        f"notifications send-digests: queued {queued}; sent {sent}, failed {failed} "
        "(failures are retried by `civicforum mail send`)."
    )
