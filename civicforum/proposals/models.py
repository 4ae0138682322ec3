"""Proposals: categories, proposals with their revisions, lifecycle transitions and supports."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from civicforum.accounts.models import User
from civicforum.audit.models import register_append_only
from civicforum.db import db, utcnow


def str_enum(enum_cls: type[enum.Enum], length: int = 20) -> Enum:
    """Store a StrEnum as its value in a VARCHAR: no native PostgreSQL type to migrate."""
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class ProposalState(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    QUALIFIED = "qualified"
    ON_BALLOT = "on_ballot"
    ADOPTED = "adopted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    ARCHIVED = "archived"


class ModerationStatus(enum.StrEnum):
    VISIBLE = "visible"
    HIDDEN = "hidden"
    REMOVED = "removed"


class SearchVector(TypeDecorator[Any]):
    """PostgreSQL tsvector (maintained by a trigger); an unused TEXT column on SQLite.

    SQLite searches through the FTS5 table `proposals_fts` instead (see migration 0002).
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(TSVECTOR())
        return dialect.type_descriptor(Text())


class Category(db.Model):
    __tablename__ = "proposal_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(String(300), default="")
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Proposal(db.Model):
    __tablename__ = "proposals"
    __table_args__ = (Index("ix_proposals_search_vector", "search_vector", postgresql_using="gin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("proposal_categories.id"), index=True)
    title: Mapped[str] = mapped_column(String(150))
    summary: Mapped[str] = mapped_column(String(500))
    body_source: Mapped[str] = mapped_column(Text)
    # Sanitised HTML rendered once on save by civicforum.markup; never rendered per request.
    body_html: Mapped[str] = mapped_column(Text)
    state: Mapped[ProposalState] = mapped_column(
        str_enum(ProposalState), default=ProposalState.DRAFT, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    support_deadline: Mapped[datetime | None] = mapped_column(index=True)
    qualified_at: Mapped[datetime | None]
    revision: Mapped[int] = mapped_column(default=1)
    # Counters are updated with SQL arithmetic under the proposal's row lock, never read-
    # modify-write in Python, so concurrent toggles cannot lose an update.
    support_count: Mapped[int] = mapped_column(default=0, index=True)
    comment_count: Mapped[int] = mapped_column(default=0)
    stance_in_favour: Mapped[int] = mapped_column(default=0)
    stance_against: Mapped[int] = mapped_column(default=0)
    stance_neutral: Mapped[int] = mapped_column(default=0)
    last_comment_at: Mapped[datetime | None]
    moderation_status: Mapped[ModerationStatus] = mapped_column(
        str_enum(ModerationStatus), default=ModerationStatus.VISIBLE
    )
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
    # Optimistic locking for moderators: a decision names the version it was taken on.
    moderation_version: Mapped[int] = mapped_column(default=1)
    search_vector: Mapped[str | None] = deferred(mapped_column(SearchVector(), nullable=True))

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    category: Mapped[Category] = relationship()
    tags: Mapped[list[ProposalTag]] = relationship(
        cascade="all, delete-orphan", order_by="ProposalTag.tag", lazy="selectin"
    )

    @property
    def tag_names(self) -> list[str]:
        return [t.tag for t in self.tags]

    @property
    def is_open(self) -> bool:
        """Open for supports and discussion edits (published and not yet qualified)."""
        return self.state is ProposalState.PUBLISHED

    @property
    def is_visible(self) -> bool:
        return self.moderation_status is ModerationStatus.VISIBLE


class ProposalTag(db.Model):
    __tablename__ = "proposal_tags"

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


@register_append_only
class ProposalRevision(db.Model):
    """Every saved version of a proposal's text, kept for the revision list and diffs."""

    __tablename__ = "proposal_revisions"
    __table_args__ = (UniqueConstraint("proposal_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    title: Mapped[str] = mapped_column(String(150))
    summary: Mapped[str] = mapped_column(String(500))
    body_source: Mapped[str] = mapped_column(Text)
    category_name: Mapped[str] = mapped_column(String(80))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    content_sha256: Mapped[str] = mapped_column(String(64))

    author: Mapped[User | None] = relationship()


@register_append_only
class ProposalTransition(db.Model):
    """One lifecycle move: who, when, from, to and why (the proposal's public timeline)."""

    __tablename__ = "proposal_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[ProposalState | None] = mapped_column(str_enum(ProposalState))
    to_state: Mapped[ProposalState] = mapped_column(str_enum(ProposalState))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship()


class Support(db.Model):
    __tablename__ = "supports"
    # One support per account and proposal: a double click or a concurrent toggle hits this.
    __table_args__ = (UniqueConstraint("proposal_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
