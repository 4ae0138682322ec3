"""In-app notifications and per-user notification settings."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from civicforum.db import db, utcnow
from civicforum.proposals.models import str_enum


class NotificationKind(enum.StrEnum):
    COMMENT_REPLY = "comment_reply"  # someone answered your comment
    PROPOSAL_COMMENT = "proposal_comment"  # someone commented on your proposal
    PROPOSAL_STATE = "proposal_state"  # a proposal you wrote or support changed state


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind, 30))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]


class NotificationSettings(db.Model):
    """Which in-app notifications a user wants; the digest opt-in is User.notify_email_digest."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    comment_replies: Mapped[bool] = mapped_column(default=True)
    proposal_comments: Mapped[bool] = mapped_column(default=True)
    state_changes: Mapped[bool] = mapped_column(default=True)
    last_digest_at: Mapped[datetime | None]
