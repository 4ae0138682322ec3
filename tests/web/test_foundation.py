"""Security baseline and the generic web layer."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_user


def test_home_page_has_strict_csp_and_landmarks(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "HX-Request" in response.headers["Vary"]
    html = response.text
    assert '<main id="main"' in html and 'class="skip-link"' in html
    assert '"allowEval": false' in html


def test_post_without_csrf_token_is_refused_and_changes_nothing(
    anon_client: FlaskClient, db_session
) -> None:
    from sqlalchemy import func, select

    from civicforum.accounts.models import User

    before = db_session.scalar(select(func.count()).select_from(User))
    response = anon_client.post(
        "/account/register",
        data={
            "display_name": "Mallory",
            "email": "mallory@example.test",
            "password": "a long enough password",
        },
    )
    assert response.status_code == 400
    assert db_session.scalar(select(func.count()).select_from(User)) == before


def test_ids_too_large_for_the_database_are_404s_not_500s(app: Flask, client: FlaskClient) -> None:
    # Every GET route whose only arguments are <int:...>: an id past 64 bits overflowed the
    # driver (SQLite) before, a 500.
    checked = 0
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<int:\w+>", str(10**20), rule.rule)
        if "GET" not in (rule.methods or ()) or "<" in path or path == rule.rule:
            continue
        status = client.get(path).status_code
        assert status in (302, 404), (path, status)
        checked += 1
    assert checked >= 10


def test_unknown_page_is_a_helpful_404_page_and_fragment(client: FlaskClient) -> None:
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "<html" in page.text and "home page" in page.text
    fragment = client.get("/no/such/page", headers={"HX-Request": "true"})
    assert fragment.status_code == 404 and "<html" not in fragment.text
    assert 'role="alert"' in fragment.text


def test_oversized_body_is_413(client: FlaskClient) -> None:
    response = client.post("/account/login", data={"email": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413


def test_citizen_opening_admin_page_gets_403(client: FlaskClient, db_session, login_as) -> None:
    login_as(make_user(db_session))
    assert client.get("/admin/").status_code == 403


def test_anonymous_opening_admin_page_goes_to_login(client: FlaskClient) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_admin_without_two_factor_is_sent_to_setup(client, db_session, login_as) -> None:
    admin = make_user(db_session, roles=("citizen", "admin"), totp=False)
    login_as(admin)
    response = client.get("/admin/")
    assert response.status_code == 302 and "totp" in response.headers["Location"]


def test_admin_with_two_factor_opens_admin(client, db_session, login_as) -> None:
    login_as(make_user(db_session, roles=("citizen", "admin")))
    assert client.get("/admin/").status_code == 200


def test_log_lines_cannot_be_forged(caplog) -> None:
    import logging

    from civicforum.web.logs import OneLineFilter

    logger = logging.getLogger("civicforum.test-forgery")
    logger.addFilter(OneLineFilter())
    with caplog.at_level(logging.INFO, logger="civicforum.test-forgery"):
        logger.info("login failed for %s", "eve\n2026-01-01 INFO admin logged in")
    assert caplog.records[-1].getMessage().count("\n") == 0
    assert "\\n2026" in caplog.records[-1].getMessage()


def test_session_idle_timeout_is_enforced_server_side(app, client, db_session, login_as) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from civicforum.accounts.models import UserSession
    from civicforum.db import utcnow

    user = login_as(make_user(db_session))
    assert client.get("/account/").status_code == 200
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    db_session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id)
        .values(last_seen_at=utcnow() - idle)
    )
    response = client.get("/account/")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_secure_cookie_uses_host_prefix_and_placeholder_secret_refused(tmp_path) -> None:
    import pytest

    from tests.conftest import make_test_app

    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    app = make_test_app(url, tmp_path, SESSION_COOKIE_SECURE=True)
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-civicforum"
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        make_test_app(url, tmp_path, SECRET_KEY="change-me")


def test_home_page_lists_open_ballots_and_proposals_or_says_there_are_none(client) -> None:
    html = client.get("/").text
    assert "No ballot is open right now." in html
    assert "Verify a receipt" in html


def test_home_page_shows_an_open_ballot_and_a_proposal_collecting_supports(
    client, db_session
) -> None:
    from tests.factories_ballots import make_ballot
    from tests.factories_proposals import make_category, make_proposal

    ballot = make_ballot(db_session)
    proposal = make_proposal(db_session, category=make_category(db_session), title="Bike lanes")
    db_session.commit()
    html = client.get("/").text
    assert f'/ballots/{ballot.id}"' in html and ballot.title in html
    assert f'/proposals/{proposal.id}"' in html and "Bike lanes" in html
    assert "No ballot is open right now." not in html
