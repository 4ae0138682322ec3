"""`civicforum mail send`: deliver the queued mail (cron, a service, or the sender thread)."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from civicforum.extensions import db
from civicforum.mail import services

mail_cli = AppGroup("mail", help="Outgoing mail.")


def send_due() -> tuple[int, int]:
    """Deliver every mail that is due, one at a time; (sent, failed).

    Commits the claim before talking to SMTP and the outcome after, so a crash never sends
    a mail twice unless it died in between (then its lease runs out and it goes again)."""
    sent = failed = 0
    while (mail := services.claim_due(db.session)) is not None:
        db.session.commit()
        error = services.deliver(mail)
        services.settle(db.session, mail, error=error)
        db.session.commit()
        if error is None:
            sent += mail.recipient is not None
        else:
            failed += 1
    # The last claim found nothing, but its UPDATE began a transaction: on SQLite that holds
    # the write lock until it ends, and every other writer waits.
    db.session.rollback()
    return sent, failed


@mail_cli.command("send")
@click.option(
    "--watch",
    type=click.IntRange(min=1),
    default=None,
    metavar="SECONDS",
    help="Keep running, looking for due mail every SECONDS (a service instead of cron).",
)
def send(watch: int | None) -> None:
    """Send the queued mail that is due (run every minute from cron, or with --watch)."""
    while True:
        sent, failed = send_due()
        if watch is None:
            click.echo(f"mail send: sent {sent}, failed {failed} (retried later).")
            return
        db.session.remove()
        time.sleep(watch)
