"""Threaded discussion: comments (stored as an adjacency list with root and depth), votes, edits."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicforum.accounts.models import User
from civicforum.audit.models import register_append_only
from civicforum.db import db, utcnow
from civicforum.proposals.models import Proposal, str_enum


class CommentStatus(enum.StrEnum):
    VISIBLE = "visible"
    PENDING = "pending"  # pre-moderation: only the author and moderators see it
    HIDDEN = "hidden"  # the public sees hidden_reason in place of the text
    REMOVED = "removed"  # content purged by a moderator; a placeholder keeps replies
    DELETED = "deleted"  # deleted by the author: "[deleted]" keeps replies in place


class Stance(enum.StrEnum):
    IN_FAVOUR = "in_favour"
    AGAINST = "against"
    NEUTRAL = "neutral"


# Statuses whose comment cannot be answered any more.
CLOSED_STATUSES = frozenset({CommentStatus.HIDDEN, CommentStatus.REMOVED, CommentStatus.DELETED})


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (
        # Top-level listing per proposal, and "whole visible tree of these roots to depth N".
        Index("ix_comments_proposal_id_depth", "proposal_id", "depth"),
        Index("ix_comments_root_id_depth", "root_id", "depth"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    # Top-level ancestor (itself for a top-level comment) and absolute depth (0 = top level):
    # a page of threads to display depth 6 is one query, whatever the nesting below it.
    root_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    depth: Mapped[int] = mapped_column(default=0)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    body_source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    stance: Mapped[Stance | None] = mapped_column(str_enum(Stance))
    status: Mapped[CommentStatus] = mapped_column(
        str_enum(CommentStatus), default=CommentStatus.VISIBLE
    )
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
    moderation_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]
    upvotes: Mapped[int] = mapped_column(default=0)
    downvotes: Mapped[int] = mapped_column(default=0)
    # Wilson score lower bound of up/(up+down), recomputed on every vote, for "best" order.
    score: Mapped[float] = mapped_column(default=0.0)
    reply_count: Mapped[int] = mapped_column(default=0)

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    proposal: Mapped[Proposal] = relationship()
    parent: Mapped[Comment | None] = relationship(
        remote_side=[id], foreign_keys=[parent_id], viewonly=True
    )


class CommentVote(db.Model):
    __tablename__ = "comment_votes"

    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    value: Mapped[int]  # +1 or -1
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@register_append_only
class CommentEdit(db.Model):
    """The text a comment had before an edit, kept for moderators."""

    __tablename__ = "comment_edits"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    body_source: Mapped[str] = mapped_column(Text)
    written_at: Mapped[datetime]
    replaced_at: Mapped[datetime] = mapped_column(default=utcnow)
