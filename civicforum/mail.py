"""Outgoing mail: SMTP when MAIL_SERVER is configured, otherwise the app log (development).

Callers send after their transaction commits, so a rolled-back action never mails a link
to something that does not exist.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app


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


def send_mail(*, to: str, subject: str, body: str) -> bool:
    """Send one plain-text mail; True when handed to SMTP (or logged in development)."""
    cfg = current_app.config
    message = build_message(to=to, subject=subject, body=body)
    if not cfg.get("MAIL_SERVER"):
        # Development fallback so a newcomer can click the verification link. It contains a
        # token, which is why production must configure SMTP (the README says so).
        current_app.logger.warning(
            "MAIL_SERVER is not set; this mail was not sent:\n%s", message.as_string()
        )
        return True
    try:
        _deliver(message)
    except (smtplib.SMTPException, OSError) as exc:
        # Log the failure without the body: it may hold a token.
        current_app.logger.error("mail to %r could not be sent: %s", to, exc)
        return False
    return True


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
