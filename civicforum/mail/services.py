"""Outgoing mail: queued in the caller's transaction, delivered outside any request.

Sending inside the request made the reset answer slower for registered addresses than for
others, which with real SMTP tells who has an account (issue #14 item 9). Now the request
only adds a row (`queue_mail`) and commits it with its action, so a rolled-back action
mails nothing; the sender thread (`civicforum.mail`) or `civicforum mail send` delivers it:
over SMTP when MAIL_SERVER is set, otherwise into the log (development).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, g, has_app_context
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from civicforum.db import utcnow
from civicforum.mail.models import OutgoingMail

# A sender holds a claimed mail this long; if it dies meanwhile, another sends it again.
LEASE = timedelta(minutes=5)
# Failed deliveries back off 1, 2, 4 ... minutes; after the last attempt (~4 hours in all)
# the mail is dropped with an error in the log.
MAX_ATTEMPTS = 8

log = logging.getLogger("civicforum.mail")


@dataclass(frozen=True)
class QueuedMail:
    id: int
    recipient: str | None
    subject: str
    body: str
    attempts: int


def queue_mail(session: Session, *, to: str | None, subject: str = "", body: str = "") -> None:
    """Queue one plain-text mail, sent once the caller commits.

    `to=None` queues a placeholder that the sender drops: a view whose answer must not
    tell whether it mailed anyone (the password reset) does the same work either way."""
    session.add(OutgoingMail(recipient=to, subject=subject, body=body))
    if has_app_context():
        g.civicforum_mail_queued = True  # the sender is woken after the request


def claim_due(session: Session) -> QueuedMail | None:
    """Take the oldest due mail for one attempt (a lease); None when nothing is due.

    A conditional UPDATE, so of several senders (threads, processes, the cron job) one gets
    each mail; the caller commits the claim before delivering, so no lock is held while
    SMTP talks."""
    now = utcnow()
    oldest = (
        select(OutgoingMail.id)
        .where(OutgoingMail.not_before <= now)
        .order_by(OutgoingMail.id)
        .limit(1)
        .scalar_subquery()
    )
    row = session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id == oldest, OutgoingMail.not_before <= now)
        .values(not_before=now + LEASE, attempts=OutgoingMail.attempts + 1)
        .returning(
            OutgoingMail.id,
            OutgoingMail.recipient,
            OutgoingMail.subject,
            OutgoingMail.body,
            OutgoingMail.attempts,
        )
        .execution_options(synchronize_session=False)
    ).first()
    return QueuedMail(*row) if row else None


def settle(session: Session, mail: QueuedMail, *, error: str | None) -> None:
    """Record the attempt's outcome: delivered (or a placeholder) mail is deleted; a failure
    waits for its next attempt, or is dropped after the last. The caller commits."""
    if error is None or mail.attempts >= MAX_ATTEMPTS:
        if error is not None:
            log.error(
                "mail %s to %r dropped after %s attempts: %s",
                mail.id,
                mail.recipient,
                mail.attempts,
                error,
            )
        session.execute(delete(OutgoingMail).where(OutgoingMail.id == mail.id))
        return
    session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id == mail.id)
        .values(
            not_before=utcnow() + timedelta(minutes=2 ** (mail.attempts - 1)),
            last_error=error[:200],
        )
        .execution_options(synchronize_session=False)
    )


def deliver(mail: QueuedMail) -> str | None:
    """Hand one queued mail to SMTP (or the log without MAIL_SERVER); the error, or None."""
    if mail.recipient is None:
        return None
    message = build_message(to=mail.recipient, subject=mail.subject, body=mail.body)
    if not current_app.config.get("MAIL_SERVER"):
        _log_instead(mail)
        return None
    try:
        _deliver(message)
    except (smtplib.SMTPException, OSError) as exc:
        # Logged without the body: it may hold a token.
        log.warning("mail %s to %r could not be sent: %s", mail.id, mail.recipient, exc)
        return str(exc) or type(exc).__name__
    return None


def _log_instead(mail: QueuedMail) -> None:
    # Development fallback, so a newcomer can open the verification link. One log record
    # per line of the decoded body: records are kept on one line (web.logs escapes CR/LF),
    # and the raw message's line folding or escaped newlines glued to the link made a URL
    # that gave a 404 once copied from the log. The link carries a token, which is why
    # production must configure SMTP (the README says so).
    log.warning(
        "MAIL_SERVER is not set; this mail to %s was not sent: %s", mail.recipient, mail.subject
    )
    for line in mail.body.splitlines():
        log.warning("mail %s | %s", mail.id, line)


def build_message(*, to: str, subject: str, body: str) -> EmailMessage:
    cfg = current_app.config
    message = EmailMessage()
    message["From"] = cfg["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain="civicforum")
    message.set_content(body)
    return message


def _deliver(message: EmailMessage) -> None:
    cfg = current_app.config
    host = str(cfg["MAIL_SERVER"])
    port = int(cfg.get("MAIL_PORT") or 25)
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if cfg.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(host, port, timeout=15, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=15)
    with smtp:
        if cfg.get("MAIL_USE_TLS") and not cfg.get("MAIL_USE_SSL"):
            smtp.starttls(context=context)
        if cfg.get("MAIL_USERNAME"):
            smtp.login(str(cfg["MAIL_USERNAME"]), str(cfg.get("MAIL_PASSWORD") or ""))
        smtp.send_message(message)
