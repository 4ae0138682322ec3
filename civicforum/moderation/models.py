"""Moderation: flags, the append-only action log, sanctions and appeals.

Items (comments and proposals) are referenced by `(item_type, item_id)` rather than by a
foreign key: the log must outlive any later change to the item, and one set of tables serves
both kinds. The item rows themselves are never hard-deleted (removal purges their text and
keeps the row with status "removed"), so the references stay meaningful.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicforum.accounts.models import User
from civicforum.audit.models import register_append_only
from civicforum.db import db, utcnow

REASON_MAX = 500
APPEAL_MAX = 2000


class ItemType(enum.StrEnum):
    COMMENT = "comment"
    PROPOSAL = "proposal"


class FlagReason(enum.StrEnum):
    SPAM = "spam"
    HARASSMENT = "harassment"
    HATE = "hate"
    OFF_TOPIC = "off-topic"
    ILLEGAL = "illegal"
    OTHER = "other"


class ActionKind(enum.StrEnum):
    FLAG_THRESHOLD = "flag_threshold"  # hidden automatically, pending review
    APPROVE = "approve"
    HIDE = "hide"
    REMOVE = "remove"
    RESTORE = "restore"
    WARN = "warn"
    SUSPEND = "suspend"
    BAN = "ban"
    LIFT = "lift"  # a suspension or ban ended early
    APPEAL_GRANTED = "appeal_granted"
    APPEAL_REJECTED = "appeal_rejected"


class SanctionKind(enum.StrEnum):
    WARN = "warn"
    SUSPEND = "suspend"
    BAN = "ban"


class AppealStatus(enum.StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    REJECTED = "rejected"


class ModerationFlag(db.Model):
    """One account's report of one item; an account may report an item once, ever."""

    __tablename__ = "moderation_flags"
    __table_args__ = (
        UniqueConstraint("item_type", "item_id", "flagger_id"),
        Index("ix_moderation_flags_item", "item_type", "item_id"),
        Index("ix_moderation_flags_flagger_created", "flagger_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_type: Mapped[str] = mapped_column(String(20))
    item_id: Mapped[int]
    flagger_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(20))
    details: Mapped[str] = mapped_column(String(REASON_MAX), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when a moderator decides the item (approve dismisses, hide/remove upholds):
    # resolved flags no longer count towards the threshold or keep the item in the queue.
    resolved_at: Mapped[datetime | None]
    resolved_by_action_id: Mapped[int | None] = mapped_column(
        ForeignKey("moderation_actions.id", ondelete="SET NULL")
    )

    flagger: Mapped[User] = relationship(foreign_keys=[flagger_id])


@register_append_only
class ModerationAction(db.Model):
    """Append-only record of one moderation decision: who, when, what, why, before and after.

    Never stores the content of the item: removed text must not survive here.
    """

    __tablename__ = "moderation_actions"
    __table_args__ = (Index("ix_moderation_actions_item", "item_type", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # NULL for automatic actions (flag threshold) — and if the account is ever erased.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20), index=True)
    item_type: Mapped[str | None] = mapped_column(String(20))
    item_id: Mapped[int | None]
    # The author of the item, or the sanctioned account.
    target_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    reason_code: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(REASON_MAX), default="")
    previous_state: Mapped[str | None] = mapped_column(String(20))
    new_state: Mapped[str | None] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    target_user: Mapped[User | None] = relationship(foreign_keys=[target_user_id])

    @property
    def item_ref(self) -> str | None:
        return f"{self.item_type}:{self.item_id}" if self.item_type else None


class Sanction(db.Model):
    """A warning, a suspension (with an end) or a ban (no end) given to an account."""

    __tablename__ = "moderation_sanctions"
    __table_args__ = (Index("ix_moderation_sanctions_user_kind", "user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(REASON_MAX))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ends_at: Mapped[datetime | None]  # suspensions only; a ban has none
    lifted_at: Mapped[datetime | None]
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # When the user opened their moderation page after the sanction (warnings are messages).
    seen_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class Appeal(db.Model):
    """The author's one appeal against a hide or removal of one of their items."""

    __tablename__ = "moderation_appeals"
    __table_args__ = (
        UniqueConstraint("item_type", "item_id", "appellant_id"),
        Index("ix_moderation_appeals_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_type: Mapped[str] = mapped_column(String(20))
    item_id: Mapped[int]
    appellant_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The decision appealed against; its actor may not decide the appeal.
    action_id: Mapped[int] = mapped_column(ForeignKey("moderation_actions.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default=AppealStatus.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(String(REASON_MAX))
    seen_at: Mapped[datetime | None]

    appellant: Mapped[User] = relationship(foreign_keys=[appellant_id])
    action: Mapped[ModerationAction] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
