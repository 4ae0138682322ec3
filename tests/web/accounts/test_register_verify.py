"""Registration, email verification (over a real SMTP server) and bad input."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from civicforum.accounts import services
from civicforum.accounts.models import User
from civicforum.audit.models import AuditEvent
from tests.conftest import Mailbox, csrf_token_for, send_queued_mail
from tests.factories import make_user
from tests.web.accounts.helpers import whoami

GOOD = {
    "display_name": "Rosa Register",
    "email": "rosa@example.test",
    "password": "twelve chars ok!",
}


def _users(db_session: Any) -> int:
    return int(db_session.scalar(select(func.count()).select_from(User)))


def test_register_logs_in_and_mails_a_link_that_verifies(
    app: Flask, client: FlaskClient, db_session: Any, mailbox: Mailbox
) -> None:
    response = client.post("/account/register", data=GOOD)
    assert response.status_code == 303 and response.headers["Location"] == "/account/"
    assert whoami(client) == 200
    # Login starts a new session and a new CSRF token; refresh the one the client sends.
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(client, app)
    user = services.find_user_by_email(db_session, "rosa@example.test")
    assert user is not None and not user.is_email_verified and user.has_role("citizen")
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.kind == "accounts:user:register"))

    message = mailbox.wait_for(to="rosa@example.test")
    link = mailbox.link(message, "/account/verify/")
    path = "/" + link.split("/", 3)[3]
    page = client.get(path)
    assert page.status_code == 200 and "Confirm my email address" in page.text
    db_session.refresh(user)
    assert not user.is_email_verified  # GET never changes state (mail scanners prefetch)
    assert client.post(path).status_code == 303
    db_session.refresh(user)
    assert user.is_email_verified


def test_duplicate_email_is_case_insensitive_and_keeps_input(
    client: FlaskClient, db_session: Any
) -> None:
    make_user(db_session, email="taken@example.test")
    before = _users(db_session)
    response = client.post("/account/register", data={**GOOD, "email": "  TAKEN@Example.TEST "})
    assert response.status_code == 422
    assert "An account with this email already exists." in response.text
    assert 'value="Rosa Register"' in response.text and "TAKEN@Example.TEST" in response.text
    assert GOOD["password"] not in response.text
    assert _users(db_session) == before


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short pass", "Use at least 12 characters."),
        ("rosa@example.test", "must not be your email or display name"),
        ("ROSA REGISTER", "must not be your email or display name"),
    ],
)
def test_weak_passwords_are_refused(
    client: FlaskClient, db_session: Any, password: str, message: str
) -> None:
    before = _users(db_session)
    response = client.post("/account/register", data={**GOOD, "password": password})
    assert response.status_code == 422 and message in response.text
    assert 'value="rosa@example.test"' in response.text
    assert _users(db_session) == before


def test_long_and_unicode_passwords_are_kept_exactly(client: FlaskClient, db_session: Any) -> None:
    password = "ünïcødé pass " + "x" * 50 + "  "  # 65 characters, trailing spaces
    assert client.post("/account/register", data={**GOOD, "password": password}).status_code == 303
    assert services.authenticate(db_session, email=GOOD["email"], password=password)
    assert not services.authenticate(db_session, email=GOOD["email"], password=password.strip())


def test_missing_and_malformed_fields_rerender_with_errors(client: FlaskClient) -> None:
    response = client.post("/account/register", data={"display_name": "Zed", "email": "nope"})
    assert response.status_code == 422
    assert response.text.count('class="field-error"') >= 2
    assert 'value="Zed"' in response.text and 'value="nope"' in response.text
    fragment = client.post("/account/register", data={}, headers={"HX-Request": "true"})
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert 'id="register-form"' in fragment.text


def test_a_malformed_email_and_a_short_password_are_reported_together(
    client: FlaskClient, db_session: Any
) -> None:
    before = _users(db_session)
    response = client.post("/account/register", data={**GOOD, "email": "nope", "password": "short"})
    assert response.status_code == 422
    assert response.text.count('class="field-error"') == 2  # the email's and the password's
    assert _users(db_session) == before


def test_register_without_csrf_token_changes_nothing(
    anon_client: FlaskClient, db_session: Any
) -> None:
    before = _users(db_session)
    assert anon_client.post("/account/register", data=GOOD).status_code == 400
    assert _users(db_session) == before


def _token_path(app: Flask, db_session: Any, user: User) -> str:
    with app.test_request_context():
        return f"/account/verify/{services.verification_token(user)}"


def test_tampered_verification_token_is_refused(
    app: Flask, client: FlaskClient, db_session: Any
) -> None:
    user = make_user(db_session, verified=False)
    path = _token_path(app, db_session, user)
    tampered = path[:-3] + ("abc" if not path.endswith("abc") else "xyz")
    response = client.post(tampered)
    assert response.status_code == 400 and "invalid or has expired" in response.text
    db_session.refresh(user)
    assert not user.is_email_verified


def test_expired_verification_token_is_refused(
    app: Flask, client: FlaskClient, db_session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import itsdangerous.timed

    user = make_user(db_session, verified=False)
    path = _token_path(app, db_session, user)
    later = time.time() + app.config["TOKEN_MAX_AGE_SECONDS"] + 60

    class Clock:
        @staticmethod
        def time() -> float:
            return later

    monkeypatch.setattr(itsdangerous.timed, "time", Clock)
    assert client.post(path).status_code == 400
    db_session.refresh(user)
    assert not user.is_email_verified


def test_token_for_an_old_email_does_not_verify_a_new_one(
    app: Flask, client: FlaskClient, db_session: Any
) -> None:
    user = make_user(db_session, verified=False, email="old@example.test")
    path = _token_path(app, db_session, user)
    user.email = "new@example.test"
    db_session.flush()
    assert client.post(path).status_code == 400


def test_resend_verification_mails_again(
    client: FlaskClient, db_session: Any, login_as: Any, mailbox: Mailbox
) -> None:
    user = login_as(make_user(db_session, verified=False))
    assert client.post("/account/verify/resend").status_code == 303
    assert mailbox.link(mailbox.wait_for(to=user.email), "/account/verify/")
    assert whoami(client) == 200


def test_without_smtp_the_link_in_the_log_works_as_shown(
    app: Flask, client: FlaskClient, db_session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """`.ci/start` has no SMTP: the mail goes to the log, and its link, copied from there
    into a browser, opens the page (it gave a 404: issue #15 item 5)."""
    with caplog.at_level("WARNING", logger="civicforum"):
        client.post("/account/register", data={**GOOD, "email": "logged@example.test"})
        send_queued_mail(app)  # what the sender thread does after the request
    shown = caplog.text
    assert "MAIL_SERVER is not set" in shown
    found = re.search(r"https?://\S+/account/verify/\S+", shown)
    assert found, shown
    # As a browser reads the copied text: WHATWG URL parsing takes a backslash for a slash.
    path = urlsplit(found.group(0).replace("\\", "/")).path
    assert client.get(path).status_code == 200
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(client, app)  # signed in anew
    assert client.post(path).status_code == 303
    user = db_session.scalar(select(User).where(User.email == "logged@example.test"))
    db_session.refresh(user)
    assert user.is_email_verified


def test_a_verification_link_works_once(app: Flask, client: FlaskClient, db_session: Any) -> None:
    user = make_user(db_session, verified=False)
    path = _token_path(app, db_session, user)
    assert client.post(path).status_code == 303
    again = client.post(path)
    assert again.status_code == 400 and "already used" in again.text
    kinds = db_session.scalars(select(AuditEvent.kind).where(AuditEvent.subject_id == user.id))
    assert list(kinds).count("accounts:email:verify") == 1
