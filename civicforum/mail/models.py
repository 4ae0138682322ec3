"""The outgoing mail queue: written in the transaction of the action that mails, sent later."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from civicforum.db import db, utcnow


class OutgoingMail(db.Model):
    """One plain-text mail waiting to be sent; deleted once sent (the body may hold a
    token). `recipient` None is a placeholder the sender drops (see `queue_mail`)."""

    __tablename__ = "outgoing_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Due from then on: now when queued; while a sender holds it, the end of its lease;
    # after a failure, the next attempt (backing off).
    not_before: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
