"""Demo moderation work for `civicforum seed-demo`: a queue the demo moderator can clear.

Uses the discussion seeded by the proposals/deliberation demo when there is one, and adds a
small discussion of its own otherwise (or when it has too few comments to moderate).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicforum.accounts.demo import demo_user
from civicforum.db import utcnow
from civicforum.deliberation.models import Comment, CommentStatus
from civicforum.markup import render_markdown
from civicforum.moderation import services
from civicforum.moderation.models import ModerationAction, ModerationFlag
from civicforum.proposals.models import Category, Proposal, ProposalState

DEMO_COMMENTS = (
    ("alice", "Buy cheap watches at www.example.invalid — best prices!!!"),
    ("bob", "Anyone who supports this is an idiot and should move away."),
    ("citizen", "This has nothing to do with the proposal, but did anyone see the match?"),
    ("chloe", "The north entrance is unsafe at night; lighting should come first."),
    ("alice", "I think the budget figure in the summary is out of date."),
)


def _discussion(session: Session) -> Proposal:
    category = session.scalars(select(Category).order_by(Category.id).limit(1)).first()
    if category is None:
        category = Category(slug="general", name="General")
        session.add(category)
    body = "A small discussion seeded so the moderation queue has work in it."
    proposal = Proposal(
        author=demo_user(session, "citizen"),
        category=category,
        title="Better lighting for the park paths",
        summary="Install low-glare lighting along the main paths of the city park.",
        body_source=body,
        body_html=render_markdown(body),
        state=ProposalState.PUBLISHED,
        published_at=utcnow(),
    )
    session.add(proposal)
    session.flush()  # need the id for the comments
    return proposal


def _comments(session: Session) -> list[Comment]:
    proposal = _discussion(session)
    made = []
    for key, text in DEMO_COMMENTS:
        comment = Comment(
            proposal_id=proposal.id,
            author=demo_user(session, key),
            body_source=text,
            body_html=render_markdown(text),
        )
        session.add(comment)
        session.flush()  # a top-level comment is its own root
        comment.root_id = comment.id
        made.append(comment)
    proposal.comment_count += len(made)
    return made


def seed(session: Session) -> None:
    """Flagged, threshold-hidden, pending, hidden-and-appealed items; the caller commits."""
    if session.scalar(select(func.count()).select_from(ModerationAction)) or session.scalar(
        select(func.count()).select_from(ModerationFlag)
    ):
        return
    citizens = {key: demo_user(session, key) for key in ("citizen", "alice", "bob", "chloe")}
    spam, insult, off_topic, pending, appealed = _comments(session)

    # Spam: reported by everyone else, so it reaches the threshold and is hidden.
    for user in citizens.values():
        if user.id != spam.author_id:
            services.flag_item(session, item=spam, flagger=user, reason="spam")
    # An insult and an off-topic comment with reports below the threshold: still shown.
    services.flag_item(session, item=insult, flagger=citizens["citizen"], reason="harassment")
    services.flag_item(
        session,
        item=insult,
        flagger=citizens["alice"],
        reason="other",
        details="Personal attack on other members",
    )
    services.flag_item(session, item=off_topic, flagger=citizens["chloe"], reason="off-topic")
    # Pre-moderated: waiting for approval, only its author and moderators see it.
    pending.status = CommentStatus.PENDING
    # Hidden by the admin and appealed by its author: the demo moderator can decide it.
    services.moderate_item(
        session,
        item=appealed,
        actor=demo_user(session, "admin"),
        action="hide",
        expected_version=appealed.moderation_version,
        reason_code="off-topic",
        reason="Not about this proposal.",
    )
    services.file_appeal(
        session,
        item=appealed,
        appellant=appealed.author,
        text="The budget figure is in the proposal's summary, so it is on topic.",
    )
    services.sanction_user(
        session,
        user=citizens["bob"],
        actor=demo_user(session, "admin"),
        kind="warn",
        reason="Please keep the discussion civil.",
    )
