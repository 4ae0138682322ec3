"""Factories for moderation tests: minimal proposals and comments through their own models."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from civicforum.accounts.models import User
from civicforum.db import utcnow
from civicforum.deliberation.models import Comment, CommentStatus
from civicforum.moderation.models import Sanction
from civicforum.proposals.models import Category, Proposal, ProposalState
from tests.factories import make_user

_seq = itertools.count(1)


def make_proposal(session: Session, *, author: User | None = None, **fields: Any) -> Proposal:
    n = next(_seq)
    category = Category(slug=f"mod-cat-{n}", name=f"Category {n}")
    session.add(category)
    proposal = Proposal(
        author=author or make_user(session),
        category=category,
        title=fields.pop("title", f"Proposal {n}"),
        summary=fields.pop("summary", f"Summary {n}"),
        body_source=fields.pop("body_source", f"Body of proposal {n}"),
        body_html=fields.pop("body_html", f"<p>Body of proposal {n}</p>"),
        state=fields.pop("state", ProposalState.PUBLISHED),
        **fields,
    )
    session.add(proposal)
    session.flush()  # need the id for comments and flags
    return proposal


def make_comment(
    session: Session,
    *,
    author: User | None = None,
    proposal: Proposal | None = None,
    parent: Comment | None = None,
    body: str | None = None,
    status: CommentStatus = CommentStatus.VISIBLE,
    **fields: Any,
) -> Comment:
    n = next(_seq)
    text = body if body is not None else f"Comment number {n}"
    comment = Comment(
        proposal=proposal or (parent.proposal if parent else make_proposal(session)),
        parent_id=parent.id if parent else None,
        depth=(parent.depth + 1) if parent else 0,
        author=author or make_user(session),
        body_source=text,
        body_html=f"<p>{text}</p>",
        status=status,
        **fields,
    )
    session.add(comment)
    session.flush()  # need the id for flags and queue rows
    return comment


def make_suspension(
    session: Session, *, user: User, days: int = 3, reason: str = "Test suspension"
) -> Sanction:
    sanction = Sanction(
        user_id=user.id, kind="suspend", reason=reason, ends_at=utcnow() + timedelta(days=days)
    )
    session.add(sanction)
    session.flush()  # visible to the policy's query
    return sanction


def make_moderator(session: Session, **fields: Any) -> User:
    return make_user(session, roles=("citizen", "moderator"), **fields)


def make_admin(session: Session, **fields: Any) -> User:
    return make_user(session, roles=("citizen", "admin"), **fields)
