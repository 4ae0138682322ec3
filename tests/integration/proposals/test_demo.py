"""The demo seeders produce every state and a 2,000-comment discussion, quickly."""

from __future__ import annotations

from sqlalchemy import func, select

from civicforum.deliberation import demo as deliberation_demo
from civicforum.proposals import demo as proposals_demo
from civicforum.proposals.models import Proposal, ProposalState


def test_demo_seed(db_session) -> None:
    proposals_demo.seed(db_session)
    deliberation_demo.seed(db_session)
    states = set(db_session.scalars(select(Proposal.state).distinct()))
    assert states == set(ProposalState)
    assert db_session.scalar(select(func.count()).select_from(Proposal)) >= 30
    assert db_session.scalar(select(func.max(Proposal.comment_count))) >= 2_000
    proposals_demo.seed(db_session)  # a second run adds nothing
    assert db_session.scalar(select(func.count()).select_from(Proposal)) == 30
