"""Issue 15, items 2 and 3: a period already over is refused at definition, a count of no
ballots declares no winner (and adopts nothing), and a provisional count that meets a tie
only the closing lot can break is shown up to that tie, called undecided, never a 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from civicforum.accounts.models import Role
from civicforum.ballots import services
from civicforum.ballots.models import Ballot, Method
from civicforum.db import utcnow
from tests.factories import make_user
from tests.factories_ballots import approve, blank, close, make_ballot, rank
from tests.web.ballots.test_views import ballot_form


def cast_all(session: Any, choices: list[Any], **ballot: Any) -> Any:
    """An open ballot showing its count, and one member's cast per choice (members before it
    opened: its electorate is fixed at opening)."""
    voters = [make_user(session) for _ in choices]
    opened = make_ballot(session, results_hidden=False, **ballot)
    for voter, choice in zip(voters, choices, strict=True):
        services.cast_ballot(session, ballot=opened, voter=voter, choice=choice)
    return opened


def test_a_period_already_over_is_refused_with_what_to_do(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    login_as(make_user(db_session, roles=(Role.CITIZEN, Role.ADMIN)))
    past = utcnow() - timedelta(days=3)
    data = ballot_form(
        opens_at=past.strftime("%Y-%m-%dT%H:%M"),
        closes_at=(past + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
    )
    response = client.post("/admin/ballots/new", data=data)
    assert response.status_code == 422
    assert "This voting period is already over: choose a closing time in the future." in (
        response.text
    )
    assert db_session.scalar(select(func.count()).select_from(Ballot)) == 0


def test_the_saved_message_says_when_voting_opens_and_closes(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    login_as(make_user(db_session, roles=(Role.CITIZEN, Role.ADMIN)))
    response = client.post("/admin/ballots/new", data=ballot_form(), follow_redirects=True)
    assert "Voting opens on" in response.text and "and closes on" in response.text
    assert "It opens at its opening time" not in response.text
    started = utcnow() - timedelta(hours=1)
    response = client.post(
        "/admin/ballots/new",
        data=ballot_form(
            title="Started already",
            opens_at=started.strftime("%Y-%m-%dT%H:%M"),
            closes_at=(started + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        ),
        follow_redirects=True,
    )
    assert "Voting is open now and closes on" in response.text


def test_no_ballots_no_winner_and_nothing_adopted(client: FlaskClient, db_session: Any) -> None:
    ballot = make_ballot(db_session, method=Method.IRV, options=("A", "B", "C"))
    close(db_session, ballot)
    page = client.get(f"/ballots/{ballot.id}/results")
    assert page.status_code == 200
    assert "No ballots were cast, so nobody won and no proposal was adopted." in page.text
    assert 'data-testid="winners"' not in page.text
    assert "Ties and how they were broken" not in page.text


def test_only_blank_ballots_no_winner(client: FlaskClient, db_session: Any) -> None:
    voter = make_user(db_session)  # members before opening: the electorate is fixed then
    ballot = make_ballot(db_session)
    services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=blank())
    close(db_session, ballot)
    page = client.get(f"/ballots/{ballot.id}/results").text
    assert "Every ballot was blank, so nobody won" in page and "Winner" not in page


def test_a_linked_proposal_is_not_adopted_by_a_lot_among_empty_options(db_session: Any) -> None:
    from civicforum.proposals.models import ProposalState
    from tests.factories_proposals import make_proposal

    proposals = [make_proposal(db_session, state=ProposalState.QUALIFIED) for _ in range(2)]
    ballot = make_ballot(db_session, options=(), proposal_ids=tuple(p.id for p in proposals))
    close(db_session, ballot)
    db_session.refresh(proposals[0])
    db_session.refresh(proposals[1])
    assert {str(p.state) for p in proposals} == {"rejected"}


def test_provisional_count_with_no_ballots_is_shown(client: FlaskClient, db_session: Any) -> None:
    ballot = make_ballot(db_session, results_hidden=False)
    page = client.get(f"/ballots/{ballot.id}/results")
    assert page.status_code == 200
    assert "No ballot has expressed a choice yet." in page.text


def test_provisional_count_stops_at_a_tie_and_calls_it_undecided(
    client: FlaskClient, db_session: Any
) -> None:
    # Round 1: Ann 3, Bob 2, Cat 2: Bob and Cat tie for elimination with no earlier round.
    choices = [rank("o1")] * 3 + [rank("o2", "o1")] * 2 + [rank("o3", "o2")] * 2
    ballot = cast_all(db_session, choices, method=Method.IRV, options=("Ann", "Bob", "Cat"))
    page = client.get(f"/ballots/{ballot.id}/results")
    assert page.status_code == 200
    text = page.text
    assert "Bob, Cat are tied in round 1" in text and "undecided" in text
    assert "Round 2" not in text and 'data-testid="winners"' not in text
    assert "Ties and how they were broken" not in text
    # The ballot page's link to it therefore works too.
    detail = client.get(f"/ballots/{ballot.id}").text
    assert f'href="/ballots/{ballot.id}/results"' in detail


def test_provisional_approval_tie_is_undecided(client: FlaskClient, db_session: Any) -> None:
    ballot = cast_all(
        db_session, [approve("o1"), approve("o2"), approve("o3", "o1"), approve("o2")]
    )
    text = client.get(f"/ballots/{ballot.id}/results").text
    assert "Apples, Bananas are tied in round 1" in text


def test_provisional_count_without_a_tie_names_who_leads(
    client: FlaskClient, db_session: Any
) -> None:
    ballot = cast_all(db_session, [approve("o1"), approve("o1", "o2")])
    text = client.get(f"/ballots/{ballot.id}/results").text
    assert "Leading now" in text and "<strong>Apples</strong>" in text
    assert ">Winner<" not in text


def test_decided_winners_reads_a_result_or_its_published_json() -> None:
    from civicforum.ballots import counting
    from civicforum.tabulation import result_to_json

    empty, _bytes = counting.count("approval", ["o1", "o2"], {"seats": 1}, [], b"seed")
    assert empty.winners and counting.decided_winners(empty) == ()  # the lot drew one
    assert counting.decided_winners(result_to_json(empty)) == ()
    voted, _bytes = counting.count("approval", ["o1", "o2"], {"seats": 1}, [["o2"]], b"seed")
    assert counting.decided_winners(voted) == ("o2",)
    assert counting.decided_winners(result_to_json(voted)) == ("o2",)
