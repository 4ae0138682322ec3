"""Factories for proposals, comments and categories: keyword arguments, flush only."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from civicforum.accounts.models import User
from civicforum.proposals.models import Category, Proposal, ProposalState
from tests.factories import make_user

_seq = itertools.count(1)


def make_category(session: Session, *, name: str | None = None, **fields: Any) -> Category:
    n = next(_seq)
    category = Category(
        name=name or f"Category {n}", slug=fields.pop("slug", f"category-{n}"), **fields
    )
    session.add(category)
    session.flush()  # need the id for proposals
    return category


def make_proposal(
    session: Session,
    *,
    author: User | None = None,
    state: ProposalState = ProposalState.PUBLISHED,
    title: str | None = None,
    summary: str = "A short summary.",
    body: str = "Some **Markdown** text.",
    category: Category | None = None,
    tags: list[str] | None = None,
) -> Proposal:
    """A proposal created through the services, then moved along the lifecycle to `state`."""
    from civicforum.proposals import lifecycle, services

    author = author or make_user(session)
    category = category or make_category(session)
    data = services.ProposalInput(
        title or f"Proposal {next(_seq)}", summary, body, category.id, tags or []
    )
    proposal = services.create_proposal(session, author=author, data=data)
    path = {
        ProposalState.DRAFT: [],
        ProposalState.PUBLISHED: [ProposalState.PUBLISHED],
        ProposalState.QUALIFIED: [ProposalState.PUBLISHED, ProposalState.QUALIFIED],
        ProposalState.ON_BALLOT: [
            ProposalState.PUBLISHED,
            ProposalState.QUALIFIED,
            ProposalState.ON_BALLOT,
        ],
        ProposalState.ADOPTED: [
            ProposalState.PUBLISHED,
            ProposalState.QUALIFIED,
            ProposalState.ON_BALLOT,
            ProposalState.ADOPTED,
        ],
        ProposalState.REJECTED: [
            ProposalState.PUBLISHED,
            ProposalState.QUALIFIED,
            ProposalState.ON_BALLOT,
            ProposalState.REJECTED,
        ],
        ProposalState.WITHDRAWN: [ProposalState.WITHDRAWN],
        ProposalState.ARCHIVED: [ProposalState.PUBLISHED, ProposalState.ARCHIVED],
    }[ProposalState(state)]
    for step in path:
        lifecycle.transition(session, proposal, step, actor=author)
    session.flush()
    return proposal


def make_comment(
    session: Session,
    *,
    proposal: Proposal,
    author: User | None = None,
    body: str = "A comment.",
    parent_id: int | None = None,
    stance: str | None = None,
) -> Any:
    from civicforum.deliberation import services

    return services.post_comment(
        session,
        proposal=proposal,
        author=author or make_user(session),
        body=body,
        parent_id=parent_id,
        stance=stance,
        anti_abuse=False,  # factories post many comments per author quickly
    )
