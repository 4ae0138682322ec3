"""Two-factor authentication: set-up, challenge, replay, recovery codes, role guards."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from civicforum.accounts.models import Role
from tests.conftest import csrf_token_for
from tests.factories import TEST_PASSWORD, TEST_TOTP_SECRET, make_user, totp_now
from tests.web.accounts.helpers import password_login, whoami


def _challenge(client: FlaskClient, code: str) -> Any:
    return client.post("/account/totp/challenge", data={"code": code})


def test_login_with_totp_needs_the_code_and_refuses_wrong_and_reused_ones(
    app: Flask, client: FlaskClient, db_session: Any
) -> None:
    user = make_user(db_session, totp=True)
    response = password_login(client, user.email, next="/account/settings")
    assert response.status_code == 303 and "/account/totp/challenge" in response.headers["Location"]
    assert whoami(client) == 302  # not logged in before the second factor

    wrong = _challenge(client, "000000" if totp_now() != "000000" else "111111")
    assert wrong.status_code == 422 and "not correct or was already used" in wrong.text
    code = totp_now()
    ok = client.post(
        response.headers["Location"].replace("http://localhost", ""), data={"code": code}
    )
    assert ok.status_code == 303 and ok.headers["Location"] == "/account/settings"
    assert whoami(client) == 200

    other = app.test_client()
    other.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(other, app)
    password_login(other, user.email)
    replay = _challenge(other, code)
    assert replay.status_code == 422 and whoami(other) == 302


def test_challenge_without_a_password_step_goes_to_login(client: FlaskClient) -> None:
    response = client.post("/account/totp/challenge", data={"code": "123456"})
    assert response.status_code == 303 and "/account/login" in response.headers["Location"]


def test_totp_attempts_are_throttled(client: FlaskClient, db_session: Any) -> None:
    user = make_user(db_session, totp=True)
    password_login(client, user.email)
    statuses = [_challenge(client, f"{n:06d}").status_code for n in range(12)]
    assert statuses[-1] == 429 and 429 not in statuses[:10]


def _setup_page_secret(client: FlaskClient) -> str:
    page = client.get("/account/totp/setup")
    assert page.status_code == 200 and "otpauth://totp/" in page.text
    assert 'src="data:image/svg+xml' in page.text  # server-rendered QR code
    match = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.text)
    assert match
    return match.group(1).replace(" ", "")


def test_setup_confirms_with_a_code_and_shows_ten_recovery_codes_once(
    app: Flask, client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    user = login_as(make_user(db_session, roles=(Role.CITIZEN, Role.ADMIN), totp=False))
    assert client.get("/admin/").headers["Location"].startswith("/account/totp/setup")
    secret = _setup_page_secret(client)
    assert _setup_page_secret(client) == secret  # stable until confirmed
    # Kept in the session record until then, sealed like the users' own.
    from civicforum.accounts.models import UserSession

    stored = " ".join(str(s.data) for s in db_session.scalars(select(UserSession)))
    assert "f1:" in stored and secret not in stored

    bad = client.post("/account/totp/setup", data={"code": "12345x"})
    assert bad.status_code == 422
    before = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    done = client.post("/account/totp/setup?next=/admin/", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    after = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert before and after and after.value != before.value  # a new token with the new privilege
    codes = re.findall(r"<code>([a-z0-9-]{19})</code>", done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert 'href="/admin/"' in done.text
    db_session.refresh(user)
    assert user.has_totp and user.totp_secret == secret
    assert client.get("/admin/").status_code == 200  # this session did the second factor
    assert client.get("/account/totp/setup").status_code == 303
    assert not re.findall(r"<code>([a-z0-9-]{19})</code>", client.get("/account/").text)


def test_recovery_code_works_once(
    app: Flask, client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    user = login_as(make_user(db_session, totp=False))
    secret = _setup_page_secret(client)
    done = client.post("/account/totp/setup", data={"code": pyotp.TOTP(secret).now()})
    code = re.findall(r"<code>([a-z0-9-]{19})</code>", done.text)[3]

    first = app.test_client()
    first.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(first, app)
    password_login(first, user.email)
    assert _challenge(first, code.upper()).status_code == 303
    assert whoami(first) == 200

    second = app.test_client()
    second.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(second, app)
    password_login(second, user.email)
    assert _challenge(second, code).status_code == 422
    assert whoami(second) == 302


def test_privileged_login_without_totp_is_sent_to_setup(
    client: FlaskClient, db_session: Any
) -> None:
    user = make_user(db_session, roles=(Role.CITIZEN, Role.MODERATOR), totp=False)
    response = password_login(client, user.email, next="/admin/")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/account/totp/setup")


def test_moderator_without_two_factor_is_sent_to_setup_by_the_guard(
    app: Flask, db_session: Any
) -> None:
    from flask_login import login_user

    from civicforum.accounts.guards import check_role

    moderator = make_user(db_session, roles=(Role.CITIZEN, Role.MODERATOR), totp=False)
    with app.test_request_context("/moderation/queue"):
        login_user(moderator)
        response = check_role(Role.MODERATOR)
    assert response is not None and response.status_code == 302  # type: ignore[union-attr]
    assert response.headers["Location"].startswith("/account/totp/setup?next=/moderation/queue")  # type: ignore[union-attr]


def test_admin_moderator_without_two_factor_opening_admin_goes_to_setup(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    login_as(make_user(db_session, roles=(Role.MODERATOR, Role.ADMIN), totp=False))
    response = client.get("/admin/")
    assert response.status_code == 302 and "/account/totp/setup" in response.headers["Location"]


def test_privileged_user_with_totp_but_no_second_factor_goes_to_challenge(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    login_as(make_user(db_session, roles=(Role.ADMIN,)), mfa=False)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/account/totp/challenge" in response.headers["Location"]
    assert _challenge(client, totp_now()).status_code == 303
    assert client.get("/admin/").status_code == 200


def test_citizen_can_disable_totp_with_password_and_code(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    user = login_as(make_user(db_session, totp=True))
    wrong = client.post(
        "/account/totp/disable", data={"password": "wrong password!", "code": totp_now()}
    )
    assert wrong.status_code == 422
    response = client.post(
        "/account/totp/disable", data={"password": TEST_PASSWORD, "code": totp_now()}
    )
    assert response.status_code == 303
    db_session.refresh(user)
    assert not user.has_totp and user.totp_secret is None


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.AUDITOR, Role.ADMIN])
def test_privileged_roles_cannot_disable_totp(
    client: FlaskClient, db_session: Any, login_as: Any, role: Role
) -> None:
    user = login_as(make_user(db_session, roles=(Role.CITIZEN, role)))
    response = client.post(
        "/account/totp/disable", data={"password": TEST_PASSWORD, "code": totp_now()}
    )
    assert response.status_code == 409
    db_session.refresh(user)
    assert user.has_totp and user.totp_secret == TEST_TOTP_SECRET
