"""A lost database: every visitor, signed in or not, gets the app's own 503 page with
Retry-After, rendered without the database, saying what may have happened to what they sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import make_test_app

UNREACHABLE = {
    # A SQLite file in a folder that does not exist cannot be opened.
    "sqlite": lambda tmp: f"sqlite:///{tmp / 'missing' / 'gone.sqlite'}",
    # Nothing listens on port 9 (discard) of the loopback interface here.
    "postgresql": lambda tmp: "postgresql://postgres@127.0.0.1:9/civicforum",
}


@pytest.fixture(params=sorted(UNREACHABLE))
def down(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    # The deployment ran before: its signing key is in the instance folder (a missing key with
    # an unreadable database stops start-up, logstore.keys).
    make_test_app(f"sqlite:///{tmp_path / 'before.sqlite'}", tmp_path)
    app = make_test_app(UNREACHABLE[request.param](tmp_path), tmp_path)
    yield app


def test_anonymous_visitor_gets_the_outage_page(down: Flask) -> None:
    page = down.test_client().get("/proposals/")
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "30"
    assert "The site is temporarily unavailable" in page.text
    assert "Nothing was changed" in page.text


def test_signed_in_member_gets_the_same_page_not_a_bare_500(down: Flask) -> None:
    client = down.test_client()
    client.set_cookie(down.config["SESSION_COOKIE_NAME"], "a-session-token-from-before")
    page = client.get("/ballots/")
    assert page.status_code == 503 and "<html" in page.text
    assert "The site is temporarily unavailable" in page.text
    # The cookie is left alone: the member is still signed in once the database is back.
    assert "Set-Cookie" not in page.headers


def test_a_cast_during_the_outage_says_the_ballot_may_have_been_recorded(down: Flask) -> None:
    client = down.test_client()
    client.set_cookie(down.config["SESSION_COOKIE_NAME"], "a-session-token-from-before")
    response = client.post("/ballots/1/cast", data={"approve": "o1", "action": "cast"})
    assert response.status_code == 503
    assert "may or may not have been recorded" in response.text
    assert "send this same confirmation again" in response.text
    fragment = client.post(
        "/ballots/1/cast", data={"approve": "o1"}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 503 and "<html" not in fragment.text
    assert "may or may not have been recorded" in fragment.text


def test_other_writes_say_they_may_not_have_been_saved(down: Flask) -> None:
    client = down.test_client()
    client.set_cookie(down.config["SESSION_COOKIE_NAME"], "a-session-token-from-before")
    response = client.post("/account/login", data={"email": "a@example.test", "password": "x"})
    assert response.status_code == 503
    assert "may not have been saved" in response.text
    api = client.get("/ledger/votes/checkpoints", headers={"Accept": "application/json"})
    assert api.status_code == 503 and api.json is not None and "error" in api.json
