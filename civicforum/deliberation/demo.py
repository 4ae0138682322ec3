"""Demo discussions: realistic threads on every public proposal, one with 2,000+ comments.

Bulk inserts level by level (each level's ids come back from one INSERT ... RETURNING), so
seeding the big thread takes a second, not minutes.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from civicforum.accounts.models import User
from civicforum.db import utcnow
from civicforum.deliberation.models import Comment, CommentStatus, Stance
from civicforum.deliberation.services import wilson_lower_bound
from civicforum.markup import render_markdown
from civicforum.proposals.demo import DOMAIN
from civicforum.proposals.models import Proposal, ProposalState

BIG_THREAD_TOP_LEVEL = 480  # with replies: well over 2,000 comments on one proposal
OPENERS = (
    "I support this, it is long overdue.",
    "Good idea, but who pays for the maintenance?",
    "We tried something similar in my old town and it worked **really** well.",
    "I am against it: the money is needed elsewhere, for example in schools.",
    "Could the pilot start in the northern districts? They are always last.",
    "Please think about people with reduced mobility when designing this.",
    "The cost estimate looks optimistic. Is there a breakdown?",
    "Neutral for now; I would like to see the study first.",
    "This would change daily life for families with small children.",
    "Has anyone asked the shop owners what they think?",
)
REPLIES = (
    "Good point — the budget page has a breakdown, see the second table.",
    "I disagree, the evaluation after a year answers exactly that.",
    "Agreed. Maybe we can amend the proposal?",
    "Source? I could not find that figure anywhere.",
    "Thanks for explaining, I changed my mind.",
    "That was discussed at the district meeting last month.",
    "Not everyone can attend meetings in the evening, though.",
    "+1, and it should be evaluated publicly.",
)
STANCES = (Stance.IN_FAVOUR, Stance.IN_FAVOUR, Stance.AGAINST, Stance.NEUTRAL, None)
_HTML: dict[str, str] = {}


def _html(text: str) -> str:
    if text not in _HTML:
        _HTML[text] = render_markdown(text)
    return _HTML[text]


def _insert(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    return list(
        session.scalars(insert(Comment).returning(Comment.id, sort_by_parameter_order=True), rows)
    )


def _row(proposal: Proposal, author: User, text: str, at: Any, rng: random.Random, **kw: Any):
    up, down = rng.choice((0, 0, 1, 2, 3, 5, 8, 13)), rng.choice((0, 0, 0, 1, 2, 4))
    return {
        "proposal_id": proposal.id,
        "author_id": author.id,
        "body_source": text,
        "body_html": _html(text),
        "status": CommentStatus.VISIBLE,
        "created_at": at,
        "upvotes": up,
        "downvotes": down,
        "score": wilson_lower_bound(up, down),
        **kw,
    }


def seed_thread(
    session: Session, proposal: Proposal, people: list[User], *, top: int, rng: random.Random
) -> None:
    """Top-level comments with replies three levels deep, plus one long chain."""
    start = proposal.published_at or utcnow() - timedelta(days=10)
    minute = timedelta(minutes=1)
    roots = [
        _row(
            proposal,
            rng.choice(people),
            rng.choice(OPENERS),
            start + minute * (i * 7 + 1),
            rng,
            depth=0,
            stance=rng.choice(STANCES),
        )
        for i in range(top)
    ]
    root_ids = _insert(session, roots)
    session.execute(
        update(Comment)
        .where(Comment.proposal_id == proposal.id, Comment.root_id.is_(None))
        .values(root_id=Comment.id)
    )
    level = [(cid, cid, 0) for cid in root_ids]  # (id, root, depth)
    for _depth in range(3):
        rows, parents = [], []
        for cid, root, depth in level:
            for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                rows.append(
                    _row(
                        proposal,
                        rng.choice(people),
                        rng.choice(REPLIES),
                        start + minute * (cid % 5000 + 30 + len(rows)),
                        rng,
                        parent_id=cid,
                        root_id=root,
                        depth=depth + 1,
                    )
                )
                parents.append((root, depth + 1))
        ids = _insert(session, rows)
        level = [(i, root, depth) for i, (root, depth) in zip(ids, parents, strict=True)]
    if root_ids:  # a long back-and-forth, deeper than the six levels shown at once
        parent, root = root_ids[0], root_ids[0]
        for depth in range(1, 16):
            (parent,) = _insert(
                session,
                [
                    _row(
                        proposal,
                        people[depth % 2],
                        REPLIES[depth % len(REPLIES)],
                        start + minute * (depth + 2),
                        rng,
                        parent_id=parent,
                        root_id=root,
                        depth=depth,
                    )
                ],
            )
    _recount(session, proposal)


def _recount(session: Session, proposal: Proposal) -> None:
    replies = (
        select(Comment.parent_id, func.count().label("n"))
        .where(Comment.proposal_id == proposal.id, Comment.parent_id.is_not(None))
        .group_by(Comment.parent_id)
        .subquery()
    )
    for parent_id, n in session.execute(select(replies.c.parent_id, replies.c.n)).all():
        session.execute(update(Comment).where(Comment.id == parent_id).values(reply_count=n))
    stances = dict(
        session.execute(
            select(Comment.stance, func.count())
            .where(Comment.proposal_id == proposal.id, Comment.depth == 0)
            .group_by(Comment.stance)
        ).all()
    )
    proposal.comment_count = session.scalar(
        select(func.count()).select_from(Comment).where(Comment.proposal_id == proposal.id)
    )
    proposal.stance_in_favour = stances.get(Stance.IN_FAVOUR, 0)
    proposal.stance_against = stances.get(Stance.AGAINST, 0)
    proposal.stance_neutral = stances.get(Stance.NEUTRAL, 0)
    proposal.last_comment_at = utcnow()


def seed(session: Session) -> None:
    """Threads on every public demo proposal; the caller commits."""
    rng = random.Random(7)
    people = list(session.scalars(select(User).where(User.email.like(f"%@{DOMAIN}"))))
    if len(people) < 2:
        return
    proposals = list(
        session.scalars(
            select(Proposal)
            .where(Proposal.state != ProposalState.DRAFT, Proposal.comment_count == 0)
            .order_by(Proposal.id)
        )
    )
    if not proposals:
        return
    busiest = max(proposals, key=lambda p: (p.state is ProposalState.PUBLISHED, p.support_count))
    for proposal in proposals:
        top = BIG_THREAD_TOP_LEVEL if proposal is busiest else rng.randint(2, 18)
        seed_thread(session, proposal, people, top=top, rng=rng)
    session.flush()
