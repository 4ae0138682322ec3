"""Ballot options linked to proposals: on ballot when saved, adopted/rejected at publication."""

from __future__ import annotations

from typing import Any

import pytest

from civicforum.ballots import errors, services
from civicforum.ballots.models import Method
from civicforum.proposals.models import ProposalState
from tests.factories import make_user
from tests.factories_ballots import approve, close, make_ballot
from tests.factories_proposals import make_proposal


def test_linked_proposals_follow_the_ballot(db_session: Any) -> None:
    winner = make_proposal(db_session, state=ProposalState.QUALIFIED)
    loser = make_proposal(db_session, state=ProposalState.QUALIFIED)
    voters = [make_user(db_session) for _ in range(2)]
    ballot = make_ballot(
        db_session,
        method=Method.APPROVAL,
        options=("Do nothing",),
        proposal_ids=(winner.id, loser.id),
    )
    assert winner.state == ProposalState.ON_BALLOT and loser.state == ProposalState.ON_BALLOT
    keys = {o.proposal_id: o.key for o in ballot.options}
    for voter in voters:
        services.cast_ballot(
            db_session, ballot=ballot, voter=voter, choice=approve(keys[winner.id])
        )
    close(db_session, ballot)
    db_session.refresh(winner)
    db_session.refresh(loser)
    assert winner.state == ProposalState.ADOPTED
    assert loser.state == ProposalState.REJECTED


def test_only_qualified_unballoted_proposals_can_be_linked(db_session: Any) -> None:
    published = make_proposal(db_session, state=ProposalState.PUBLISHED)
    with pytest.raises(errors.InvalidBallotDefinitionError):
        make_ballot(db_session, proposal_ids=(published.id,))
    qualified = make_proposal(db_session, state=ProposalState.QUALIFIED)
    first = make_ballot(db_session, open_now=False, proposal_ids=(qualified.id,))
    assert (qualified.id, qualified.title) not in services.qualified_proposals(db_session)
    with pytest.raises(errors.InvalidBallotDefinitionError):
        make_ballot(db_session, proposal_ids=(qualified.id,))
    # Cancelling leaves it "on ballot" (no way back in the lifecycle) but free to re-link.
    services.cancel_ballot(db_session, ballot=first, reason="Redo", actor=None)
    assert qualified.id in dict(services.qualified_proposals(db_session))
    make_ballot(db_session, proposal_ids=(qualified.id,))
