"""Ballot pages: list, detail, review-then-cast (with and without htmx), receipts, results,
downloads, and the admin pages (only admins define ballots; the server checks every action)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from civicforum.accounts.models import Role
from civicforum.ballots import cast_tokens, services
from civicforum.ballots.models import Ballot, BallotReceipt, BallotStatus, Method
from civicforum.db import utcnow
from civicforum.ledger.promise import parse_promise_file
from civicforum.ledger.proof_file import parse_proof
from civicforum.logstore import storage
from tests.factories import make_user
from tests.factories_ballots import approve, close, make_ballot, rank

HX = {"HX-Request": "true"}


def casts(db_session: Any) -> int:
    return int(db_session.scalar(select(func.count()).select_from(BallotReceipt)) or 0)


def token(ballot: Any, voter: Any) -> str:
    """The one-time cast token a review step issues to `voter` for `ballot`."""
    return cast_tokens.issue(ballot_id=ballot.id, voter_id=voter.id)


def token_in(page: str) -> str:
    """The cast token a rendered confirmation form carries."""
    marker = 'name="cast_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


# ----------------------------------------------------------------------------- list, detail


def test_list_shows_states_and_empty_states(client: FlaskClient, db_session: Any) -> None:
    assert "No ballot is open right now." in client.get("/ballots/").text
    open_ballot = make_ballot(db_session, title="Open one")
    make_ballot(db_session, open_now=False, title="Later one")
    assert "Open one" in client.get("/ballots/?state=open").text
    upcoming = client.get("/ballots/?state=upcoming").text
    assert "Later one" in upcoming and "Open one" not in upcoming
    close(db_session, open_ballot)
    closed = client.get("/ballots/?state=closed").text
    assert "Open one" in closed and "Results" in closed
    fragment = client.get("/ballots/?state=closed", headers=HX)
    assert 'id="ballot-list"' in fragment.text and "<html" not in fragment.text
    assert "HX-Request" in fragment.headers["Vary"]


def test_list_paginates(client: FlaskClient, db_session: Any) -> None:
    for i in range(12):
        make_ballot(db_session, title=f"Ballot number {i:02d}")
    first = client.get("/ballots/").text
    assert "Page 1 of 2" in first
    assert "Page 2 of 2" in client.get("/ballots/?page=2").text
    past = client.get("/ballots/?page=9").text  # past the end: the last page
    assert "Page 2 of 2" in past and "Ballot number" in past


def test_detail_invites_login_for_anonymous(client: FlaskClient, db_session: Any) -> None:
    ballot = make_ballot(db_session)
    page = client.get(f"/ballots/{ballot.id}")
    assert page.status_code == 200 and "Log in to vote." in page.text
    assert 'name="approve"' not in page.text


# ----------------------------------------------------------------------------- voting


def test_review_then_cast_without_js(client: FlaskClient, db_session: Any, login_as: Any) -> None:
    voter = login_as(make_user(db_session))
    ballot = make_ballot(db_session, method=Method.IRV)
    page = client.get(f"/ballots/{ballot.id}").text
    assert 'name="rank-o1"' in page and "Not ranked" in page
    form = {"rank-o1": "2", "rank-o2": "1", "rank-o3": ""}
    review = client.post(f"/ballots/{ballot.id}/review", data=form)
    assert review.status_code == 200 and "Check your ballot" in review.text
    assert casts(db_session) == 0  # reviewing records nothing
    assert '<input type="hidden" name="rank-o2" value="1">' in review.text
    assert '[["o2"], ["o1"]]' in review.text  # exactly as written to the log
    fields = {**form, "action": "cast", "cast_token": token_in(review.text)}
    cast = client.post(f"/ballots/{ballot.id}/cast", data=fields)
    # The receipt is in the cast's own response, whatever happens afterwards.
    assert cast.status_code == 200 and "Your ballot has been recorded" in cast.text
    mine = services.voter_receipt(db_session, ballot=ballot, voter=voter, proof=True)
    assert mine is not None and mine.tracker in cast.text
    assert mine.promise in cast.text  # the signed promise, shown to copy
    receipt = client.get(f"/ballots/{ballot.id}/receipt").text
    assert mine.tracker in receipt and "Bananas" in receipt
    promise = client.get(f"/ballots/{ballot.id}/receipt.tlog-promise")
    assert promise.status_code == 200 and promise.text == mine.promise
    assert promise.headers["Content-Disposition"].startswith("attachment")
    download = client.get(f"/ballots/{ballot.id}/receipt.tlog-proof")
    assert download.status_code == 200
    proof = parse_proof(download.text)
    assert proof.extra == parse_promise_file(mine.promise).entry
    # The promise can also be fetched with the cast token (a POST: no token in a URL).
    by_token = client.post(
        f"/ballots/{ballot.id}/receipt/by-token.tlog-promise",
        data={"cast_token": fields["cast_token"]},
    )
    assert by_token.status_code == 200 and by_token.text == mine.promise


def test_a_retried_cast_returns_the_same_receipt_and_casts_once(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    voter = login_as(make_user(db_session))
    ballot = make_ballot(db_session)
    fields = {"approve": "o1", "action": "cast", "cast_token": token(ballot, voter)}
    first = client.post(f"/ballots/{ballot.id}/cast", data=fields)
    size = storage.log_size(db_session, log="votes")
    again = client.post(f"/ballots/{ballot.id}/cast", data=fields)  # e.g. a lost response
    assert first.status_code == again.status_code == 200
    mine = services.voter_receipt(db_session, ballot=ballot, voter=voter)
    assert mine is not None and mine.promise in first.text and mine.promise in again.text
    assert "already received" in again.text
    assert casts(db_session) == 1 and storage.log_size(db_session, log="votes") == size
    link = services.current_vote(db_session, ballot=ballot, voter=voter)
    assert link is not None and link.changes == 0  # not counted as a vote change
    # After the ballot closed, the same retry still answers with the receipt.
    close(db_session, ballot)
    late = client.post(f"/ballots/{ballot.id}/cast", data=fields)
    assert late.status_code == 200 and mine.promise in late.text


def test_a_cast_token_works_only_for_its_voter_and_ballot(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    voter, other = make_user(db_session), make_user(db_session)
    ballot, second = make_ballot(db_session), make_ballot(db_session)
    login_as(voter)
    for stale in ("", "forged.0000", token(ballot, other), token(second, voter)):
        data = {"approve": "o1", "action": "cast", "cast_token": stale}
        response = client.post(f"/ballots/{ballot.id}/cast", data=data)
        assert response.status_code == 422 and "Review your ballot again" in response.text
    assert casts(db_session) == 0


def test_reloading_the_review_or_cast_step_goes_back_to_the_ballot(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    login_as(make_user(db_session))
    ballot = make_ballot(db_session)
    for step in ("review", "cast"):
        response = client.get(f"/ballots/{ballot.id}/{step}")
        assert response.status_code == 303
        assert response.headers["Location"] == f"/ballots/{ballot.id}"
    assert casts(db_session) == 0


def test_edit_step_returns_to_the_form_with_values(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    login_as(make_user(db_session))
    ballot = make_ballot(db_session, method=Method.APPROVAL)
    response = client.post(f"/ballots/{ballot.id}/cast", data={"approve": ["o2"], "action": "edit"})
    assert response.status_code == 200 and "Review my ballot" in response.text
    assert 'value="o2" checked' in response.text
    assert casts(db_session) == 0


def test_htmx_review_and_cast_swap_only_the_panel(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    login_as(make_user(db_session))
    ballot = make_ballot(db_session)
    review = client.post(f"/ballots/{ballot.id}/review", data={"approve": "o1"}, headers=HX)
    assert review.status_code == 200
    assert review.text.lstrip().startswith('<section id="vote-panel"')
    assert "Check your ballot" in review.text
    data = {"approve": "o1", "action": "cast", "cast_token": token_in(review.text)}
    cast = client.post(f"/ballots/{ballot.id}/cast", data=data, headers=HX)
    assert cast.status_code == 200 and "<html" not in cast.text
    assert "Your ballot has been recorded" in cast.text
    assert casts(db_session) == 1


@pytest.mark.parametrize(
    "method, form, message",
    [
        (Method.APPROVAL, {"approve": "o9"}, "not on this ballot"),
        (Method.APPROVAL, {}, "Your ballot is empty"),
        (Method.APPROVAL, {"approve": "o1", "blank": "1"}, "one or the other"),
        (Method.IRV, {"rank-o1": "1", "rank-o2": "1"}, "same rank"),
        (Method.IRV, {"rank-o1": "1", "rank-o2": "3"}, "skip a number"),
        (Method.IRV, {"rank-o1": "x"}, "whole number"),
        (Method.IRV, {"rank-o1": "7"}, "whole number"),
        (Method.IRV, {"rank-o9": "1"}, "not on this ballot"),
    ],
)
def test_invalid_ballots_are_refused_with_422(
    client: FlaskClient,
    db_session: Any,
    login_as: Any,
    method: Method,
    form: dict[str, str],
    message: str,
) -> None:
    voter = login_as(make_user(db_session))
    ballot = make_ballot(db_session, method=method)
    for step in ("review", "cast"):
        data = {**form, "action": "cast", "cast_token": token(ballot, voter)}
        response = client.post(f"/ballots/{ballot.id}/{step}", data=data)
        assert response.status_code == 422, step
        assert message in response.text and 'role="alert"' in response.text
        fragment = client.post(f"/ballots/{ballot.id}/{step}", data=data, headers=HX)
        assert fragment.status_code == 422 and "<html" not in fragment.text
    assert casts(db_session) == 0


def test_too_many_approvals(client: FlaskClient, db_session: Any, login_as: Any) -> None:
    login_as(make_user(db_session))
    ballot = make_ballot(db_session, max_approvals=1)
    response = client.post(f"/ballots/{ballot.id}/review", data={"approve": ["o1", "o2"]})
    assert response.status_code == 422 and "at most 1" in response.text


def test_second_vote_refused_when_changes_are_not_allowed(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    voter = login_as(make_user(db_session))
    ballot = make_ballot(db_session, vote_changes=False)
    services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o1"))
    page = client.get(f"/ballots/{ballot.id}").text
    assert "does not allow changing" in page and "Review my ballot" not in page
    data = {"approve": "o2", "action": "cast", "cast_token": token(ballot, voter)}
    response = client.post(f"/ballots/{ballot.id}/cast", data=data)
    assert response.status_code == 409 and "already voted" in response.text
    assert casts(db_session) == 1


def test_vote_change_through_the_web(client: FlaskClient, db_session: Any, login_as: Any) -> None:
    voter = login_as(make_user(db_session))
    ballot = make_ballot(db_session, vote_changes=True)
    services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o1"))
    page = client.get(f"/ballots/{ballot.id}").text
    assert "You have voted" in page and 'value="o1" checked' in page
    data = {"approve": "o3", "action": "cast", "cast_token": token(ballot, voter)}
    client.post(f"/ballots/{ballot.id}/cast", data=data)
    close(db_session, ballot)  # a vote change is marked superseded when the ballot closes
    assert services.live_choices(db_session, ballot) == [["o3"]]


def test_vote_changes_are_capped_per_ballot_and_a_refusal_leaves_no_trace(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    # Anti-automation (ASVS 2.4.1): each change appends two entries to the log for good.
    from civicforum.ballots.validation import MAX_VOTE_CHANGES

    voter, other = login_as(make_user(db_session)), make_user(db_session)
    ballot = make_ballot(db_session, vote_changes=True)
    url = f"/ballots/{ballot.id}/cast"

    def cast(key: str, who: Any = voter) -> int:
        data = {"approve": key, "action": "cast", "cast_token": token(ballot, who)}
        return int(client.post(url, data=data).status_code)

    statuses = [cast(f"o{1 + n % 3}") for n in range(1 + MAX_VOTE_CHANGES)]
    assert statuses == [200] * (1 + MAX_VOTE_CHANGES)  # the first vote, then the changes
    size = storage.log_size(db_session, log="votes")
    receipt = services.voter_receipt(db_session, ballot=ballot, voter=voter)
    refused = client.post(
        url, data={"approve": "o1", "action": "cast", "cast_token": token(ballot, voter)}
    )
    assert refused.status_code == 429 and "as many times as allowed" in refused.text
    assert storage.log_size(db_session, log="votes") == size  # nothing appended
    assert services.voter_receipt(db_session, ballot=ballot, voter=voter) == receipt
    login_as(other)  # another voter is not affected
    assert cast("o1", other) == 200


def test_ineligible_and_closed_are_refused(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    voter = login_as(make_user(db_session))
    ballot = make_ballot(db_session, eligibility=services.Eligibility.ROLL_VERIFIED)
    page = client.get(f"/ballots/{ballot.id}").text
    assert "not eligible" in page and "members on the membership roll" in page
    assert 'href="/account/#roll-panel"' in page  # and where to do something about it
    data = {"approve": "o1", "action": "cast", "cast_token": token(ballot, voter)}
    response = client.post(f"/ballots/{ballot.id}/cast", data=data)
    assert response.status_code == 403
    other = make_ballot(db_session)
    other.closes_at = utcnow() - timedelta(seconds=1)
    db_session.flush()
    data["cast_token"] = token(other, voter)
    response = client.post(f"/ballots/{other.id}/cast", data=data)
    assert response.status_code == 409  # the period is over
    assert casts(db_session) == 0


def test_first_cast_after_the_opening_time_opens_the_ballot(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    voter = login_as(make_user(db_session))
    ballot = make_ballot(db_session, open_now=False, max_approvals=1)
    ballot.opens_at = utcnow() - timedelta(seconds=1)
    db_session.flush()
    # The cast re-reads the rules after opening: the approval limit still applies.
    data = {"approve": ["o1", "o2"], "action": "cast", "cast_token": token(ballot, voter)}
    too_many = client.post(f"/ballots/{ballot.id}/cast", data=data)
    assert too_many.status_code == 422 and casts(db_session) == 0
    db_session.refresh(ballot)
    assert ballot.status == BallotStatus.OPEN and ballot.opened_index is not None
    data["approve"] = "o2"
    cast = client.post(f"/ballots/{ballot.id}/cast", data=data)
    assert cast.status_code == 200 and casts(db_session) == 1


def test_anonymous_cannot_cast(client: FlaskClient, db_session: Any) -> None:
    ballot = make_ballot(db_session)
    response = client.post(f"/ballots/{ballot.id}/cast", data={"approve": "o1", "action": "cast"})
    assert response.status_code in (302, 401)
    assert casts(db_session) == 0


def test_cast_needs_csrf(anon_client: FlaskClient, db_session: Any, login_as: Any) -> None:
    voter = login_as(make_user(db_session), on=anon_client)
    ballot = make_ballot(db_session)
    anon_client.environ_base.pop("HTTP_X_CSRF_TOKEN", None)
    data = {"approve": "o1", "action": "cast", "cast_token": token(ballot, voter)}
    response = anon_client.post(f"/ballots/{ballot.id}/cast", data=data)
    assert response.status_code == 400
    assert casts(db_session) == 0


# ----------------------------------------------------------------------------- results


def closed_irv(db_session: Any) -> Ballot:
    voters = [make_user(db_session) for _ in range(10)]
    ballot = make_ballot(db_session, method=Method.IRV, options=("Ann", "Bob", "Cat", "Dan"))
    choices = (
        [rank("o1", "o2")] * 4
        + [rank("o2", "o3")] * 3
        + [rank("o3", "o2")] * 2
        + [rank("o4", "o3")]
    )
    for voter, choice in zip(voters, choices, strict=True):
        services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=choice)
    close(db_session, ballot)
    return ballot


def test_results_page_has_rounds_charts_flow_and_tables(
    client: FlaskClient, db_session: Any
) -> None:
    ballot = closed_irv(db_session)
    page = client.get(f"/ballots/{ballot.id}/results")
    assert page.status_code == 200
    text = page.text
    assert "Round 1" in text and "Round 2" in text
    assert text.count('class="bar-chart"') == len(json.loads(ballot.result_json)["rounds"])
    assert 'class="flow-chart"' in text and "How votes moved" in text
    assert "<caption>" in text and "Eliminated" in text
    winners = json.loads(ballot.result_json)["winners"]
    names = {o.key: o.label for o in ballot.options}
    assert f"<strong>{names[winners[0]]}</strong>" in text


def test_results_hidden_until_closing(client: FlaskClient, db_session: Any) -> None:
    voter = make_user(db_session)
    hidden = make_ballot(db_session, results_hidden=True)
    assert client.get(f"/ballots/{hidden.id}/results").status_code == 404
    assert client.get(f"/ballots/{hidden.id}/results.json").status_code == 404
    assert client.get(f"/ballots/{hidden.id}/cvr.blt").status_code == 404
    shown = make_ballot(db_session, results_hidden=False)
    services.cast_ballot(db_session, ballot=shown, voter=voter, choice=approve("o2"))
    page = client.get(f"/ballots/{shown.id}/results")
    assert page.status_code == 200 and "Provisional count" in page.text


def test_lazy_close_on_read(client: FlaskClient, db_session: Any) -> None:
    voter = make_user(db_session)
    ballot = make_ballot(db_session)
    services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o1"))
    ballot.closes_at = utcnow() - timedelta(seconds=1)
    db_session.flush()
    page = client.get(f"/ballots/{ballot.id}/results")
    assert page.status_code == 200
    db_session.refresh(ballot)
    assert ballot.status == BallotStatus.CLOSED and ballot.result_sha256


def test_downloads_round_trip_through_the_tabulation_readers(
    client: FlaskClient, db_session: Any, tmp_path: Any
) -> None:
    from civicforum.tabulation import tabulate
    from civicforum.tabulation.formats import read_election

    ballot = closed_irv(db_session)
    published = json.loads(client.get(f"/ballots/{ballot.id}/results.json").data)
    assert published["winners"] == json.loads(ballot.result_json)["winners"]
    rows = list(csv.reader(io.StringIO(client.get(f"/ballots/{ballot.id}/results.csv").text)))
    assert rows[0] == ["round", "option", "votes", "status", "threshold"]
    winner = {o.key: o.label for o in ballot.options}[published["winners"][0]]
    for fmt, kind in (
        ("cdf.json", "cdf"),
        ("rctab.csv", "csv"),
        ("blt", "blt"),
        ("election.json", "auto"),
    ):
        response = client.get(f"/ballots/{ballot.id}/cvr.{fmt}")
        assert response.status_code == 200, fmt
        path = tmp_path / f"cvr.{fmt}"
        path.write_bytes(response.data)
        election = read_election(path, format=kind)
        assert election.total_ballots == 10, fmt
        assert tabulate(election).winners == (winner,), fmt


def test_approval_cvr_downloads(client: FlaskClient, db_session: Any, tmp_path: Any) -> None:
    from civicforum.tabulation import tabulate
    from civicforum.tabulation.formats import read_election

    voters = [make_user(db_session) for _ in range(3)]
    ballot = make_ballot(db_session, method=Method.APPROVAL, seats=1)
    for voter, choice in zip(
        voters, (approve("o1", "o2"), approve("o2"), approve("o3")), strict=True
    ):
        services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=choice)
    close(db_session, ballot)
    assert client.get(f"/ballots/{ballot.id}/cvr.blt").status_code == 404
    path = tmp_path / "election.json"
    path.write_bytes(client.get(f"/ballots/{ballot.id}/cvr.election.json").data)
    assert tabulate(read_election(path)).winners == ("Bananas",)
    assert client.get(f"/ballots/{ballot.id}/cvr.cdf.json").status_code == 200


def test_receipt_is_gone_after_closing(client: FlaskClient, db_session: Any, login_as: Any) -> None:
    voter = login_as(make_user(db_session))
    ballot = make_ballot(db_session)
    services.cast_ballot(db_session, ballot=ballot, voter=voter, choice=approve("o1"))
    close(db_session, ballot)
    assert client.get(f"/ballots/{ballot.id}/receipt.tlog-proof").status_code == 404
    assert client.get(f"/ballots/{ballot.id}/receipt.tlog-promise").status_code == 404
    assert "There is no receipt" in client.get(f"/ballots/{ballot.id}/receipt").text
    assert "You took part in this ballot." in client.get(f"/ballots/{ballot.id}").text


# ----------------------------------------------------------------------------- admin


def ballot_form(**changes: Any) -> dict[str, Any]:
    start = utcnow() + timedelta(days=1)
    form = {
        "title": "Park budget",
        "description": "Where should the money go?",
        "method": "approval",
        "seats": "1",
        "max_approvals": "",
        "options_text": "Playground\nBenches\nTrees",
        "opens_at": start.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (start + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        "eligibility": "email_verified",
        "eligibility_role": "citizen",
        "secret": "y",
        "vote_changes": "y",
        "results_hidden": "y",
    }
    form.update(changes)
    return form


def test_only_admins_reach_ballot_admin(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    assert client.get("/admin/ballots/new").status_code == 302  # anonymous: to login
    login_as(make_user(db_session, roles=(Role.CITIZEN, Role.MODERATOR)))
    assert client.get("/admin/ballots/new").status_code == 403
    assert client.post("/admin/ballots/new", data=ballot_form()).status_code == 403
    assert db_session.scalar(select(func.count()).select_from(Ballot)) == 0


def test_admin_defines_edits_opens_closes_and_cancels(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    login_as(make_user(db_session, roles=(Role.CITIZEN, Role.ADMIN)))
    form = client.get("/admin/ballots/new")
    assert form.status_code == 200
    # Hiding results hides them on this site only: the public log lets anyone count.
    assert 'aria-describedby="results-hidden-hint"' in form.text
    assert "anyone can count them" in form.text
    response = client.post("/admin/ballots/new", data=ballot_form())
    assert response.status_code == 303
    ballot = db_session.scalars(select(Ballot)).one()
    assert [o.label for o in ballot.options] == ["Playground", "Benches", "Trees"]
    assert ballot.status == BallotStatus.SCHEDULED and ballot.secret
    edit = client.post(f"/admin/ballots/{ballot.id}/edit", data=ballot_form(title="Park money"))
    assert edit.status_code == 303
    db_session.refresh(ballot)
    assert ballot.title == "Park money"
    assert client.post(f"/admin/ballots/{ballot.id}/open").status_code == 303
    db_session.refresh(ballot)
    assert ballot.status == BallotStatus.OPEN
    refused = client.post(f"/admin/ballots/{ballot.id}/edit", data=ballot_form(title="Nope"))
    assert refused.status_code == 409 and "can no longer be changed" in refused.text
    assert client.post(f"/admin/ballots/{ballot.id}/close").status_code == 303
    db_session.refresh(ballot)
    assert ballot.status == BallotStatus.CLOSED and ballot.result_json
    other = make_ballot(db_session, open_now=False)
    assert client.post(f"/admin/ballots/{other.id}/cancel", data={"reason": ""}).status_code == 422
    response = client.post(f"/admin/ballots/{other.id}/cancel", data={"reason": "Duplicate"})
    assert response.status_code == 303
    db_session.refresh(other)
    assert other.status == BallotStatus.CANCELLED and other.cancel_reason == "Duplicate"
    assert "Duplicate" in client.get("/ballots/?state=closed").text


def test_admin_definition_errors_are_422(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    login_as(make_user(db_session, roles=(Role.CITIZEN, Role.ADMIN)))
    response = client.post("/admin/ballots/new", data=ballot_form(options_text="Only"))
    assert response.status_code == 422 and "at least two options" in response.text
    response = client.post("/admin/ballots/new", data=ballot_form(method="irv", seats="2"))
    assert response.status_code == 422 and "exactly one winner" in response.text
    assert db_session.scalar(select(func.count()).select_from(Ballot)) == 0


def test_admin_times_are_in_the_admins_time_zone(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    login_as(make_user(db_session, roles=(Role.CITIZEN, Role.ADMIN), timezone="Europe/Paris"))
    client.post(
        "/admin/ballots/new",
        data=ballot_form(opens_at="2031-01-10T09:00", closes_at="2031-01-17T18:00"),
    )
    ballot = db_session.scalars(select(Ballot)).one()
    assert ballot.opens_at.isoformat() == "2031-01-10T08:00:00+00:00"  # CET = UTC+1
    page = client.get(f"/ballots/{ballot.id}").text
    assert "9:00" in page  # shown back in the viewer's zone


def test_log_size_unchanged_by_page_views(client: FlaskClient, db_session: Any) -> None:
    ballot = make_ballot(db_session)
    size = storage.log_size(db_session, log="votes")
    client.get(f"/ballots/{ballot.id}")
    client.get("/ballots/")
    assert storage.log_size(db_session, log="votes") == size
