"""Login, throttling, redirects, and server-side sessions ending for real."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from civicforum.accounts import services
from tests.conftest import Mailbox, csrf_token_for
from tests.factories import TEST_PASSWORD, make_user
from tests.web.accounts.helpers import (
    cookie,
    full_login,
    new_client,
    password_login,
    whoami,
    without_csrf_tokens,
)


def test_login_starts_a_new_session_and_follows_a_safe_next(
    app: Flask, client: FlaskClient, db_session: Any
) -> None:
    user = make_user(db_session)
    client.get("/account/login")
    before = cookie(client, app)
    response = password_login(client, user.email, next="/account/settings")
    assert response.status_code == 303 and response.headers["Location"] == "/account/settings"
    assert cookie(client, app) not in (None, before)  # no session fixation
    assert whoami(client) == 200


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example", "/\\evil.example", "javascript:alert(1)"]
)
def test_next_to_another_site_is_ignored(client: FlaskClient, db_session: Any, target: str) -> None:
    user = make_user(db_session)
    response = password_login(client, user.email, next=target)
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_unknown_email_and_wrong_password_get_the_same_answer(
    client: FlaskClient, db_session: Any
) -> None:
    user = make_user(db_session)
    wrong = password_login(client, user.email, "wrong password here")
    unknown = password_login(client, "nobody@example.test", "wrong password here")
    assert wrong.status_code == unknown.status_code == 422
    assert "Email or password is not correct." in wrong.text
    # Alike but for the CSRF tokens, which carry the second they were signed in.
    assert without_csrf_tokens(wrong.text.replace(user.email, "X")) == without_csrf_tokens(
        unknown.text.replace("nobody@example.test", "X")
    )
    assert "wrong password here" not in wrong.text


def test_unknown_email_costs_the_same_argon2_work_as_a_wrong_password(
    client: FlaskClient, db_session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Timing: an extra hash for unknown emails doubled their answer time (enumeration).
    from argon2 import PasswordHasher

    calls: list[str] = []
    for name in ("hash", "verify"):
        real = getattr(PasswordHasher, name)
        monkeypatch.setattr(
            PasswordHasher,
            name,
            lambda self, *a, _real=real, _name=name, **k: (
                calls.append(_name) or _real(self, *a, **k)
            ),
        )
    user = make_user(db_session)
    password_login(client, "first-unknown@example.test", "wrong password here")
    work = {}
    for email in (user.email, "second-unknown@example.test"):
        calls.clear()
        assert password_login(client, email, "wrong password here").status_code == 422
        work[email] = sorted(calls)
    assert work[user.email] == work["second-unknown@example.test"] == ["verify"]


def test_fifty_rapid_failed_logins_are_throttled_with_retry_after(
    client: FlaskClient, db_session: Any
) -> None:
    user = make_user(db_session)
    statuses = [
        password_login(client, user.email, f"guess number {n}").status_code for n in range(50)
    ]
    assert statuses[:10] == [422] * 10 and statuses[-1] == 429
    last = password_login(client, user.email, "guess again please")
    assert last.status_code == 429 and int(last.headers["Retry-After"]) > 0
    # Even the right password waits: the throttle is checked before the password.
    assert password_login(client, user.email).status_code == 429


def test_an_attacker_elsewhere_delays_the_owner_but_never_locks_her_out(
    app: Flask, client: FlaskClient, db_session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #14 item 3: ten wrong passwords from elsewhere once locked the owner out."""
    from civicforum.accounts import throttle

    waited: list[float] = []
    monkeypatch.setattr(throttle, "sleep", waited.append)
    user = make_user(db_session)
    attacker = new_client(app, address="203.0.113.9")
    statuses = [password_login(attacker, user.email, f"guess {n}").status_code for n in range(12)]
    assert statuses == [422] * 10 + [429] * 2  # the wall stands for the attacker's connection
    refused = password_login(attacker, user.email, "guess again")
    assert int(refused.headers["Retry-After"]) > 0
    assert 'href="/account/reset"' in refused.text  # the way in for an owner behind it
    assert waited == []
    # A second connection keeps guessing: every attempt on the account now waits, longer
    # each time, the right password too, so the delay tells nothing.
    second = new_client(app, address="198.51.100.7")
    for n in range(3):
        assert password_login(second, user.email, f"other guess {n}").status_code == 422
    assert waited == [1.0, 2.0, 4.0]
    # The owner, from her own connection, gets in with her password.
    assert password_login(client, user.email).status_code == 303
    assert waited[-1] == app.config["LOGIN_DELAY_MAX_SECONDS"]
    assert whoami(client) == 200


def test_reset_requests_by_someone_else_leave_the_owner_a_working_link(
    app: Flask, client: FlaskClient, db_session: Any, mailbox: Mailbox
) -> None:
    user = make_user(db_session)
    attacker = new_client(app, address="203.0.113.9")
    for _ in range(3):
        assert attacker.post("/account/reset", data={"email": user.email}).status_code == 303
    refused = client.post("/account/reset", data={"email": user.email})
    assert refused.status_code == 429 and "open the newest one" in refused.text
    # The mails the attacker caused reached the owner, and their links work.
    link = mailbox.link(mailbox.wait_for(to=user.email), "/account/reset/")
    path = "/" + link.split("/", 3)[3]
    assert client.post(path, data={"password": "my new long password"}).status_code == 303


def test_failures_across_many_accounts_are_throttled_per_address(
    client: FlaskClient, db_session: Any
) -> None:
    statuses = [
        password_login(client, f"stuffing{n}@example.test", "some leaked password").status_code
        for n in range(50)
    ]
    assert 429 in statuses and statuses.index(429) == 30
    assert all(s == 422 for s in statuses[:30])


def test_successful_logins_are_not_counted(
    client: FlaskClient, db_session: Any, app: Flask
) -> None:
    user = make_user(db_session)
    for _ in range(12):
        assert password_login(client, user.email).status_code == 303
        client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(client, app)
        client.post("/account/logout")
        client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(client, app)


def _replay(app: Flask, value: str) -> FlaskClient:
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], value)
    return thief


def test_cookie_replayed_after_logout_is_anonymous(
    app: Flask, client: FlaskClient, db_session: Any
) -> None:
    full_login(client, app, make_user(db_session))
    stolen = cookie(client, app)
    assert stolen and whoami(_replay(app, stolen)) == 200
    assert client.post("/account/logout").status_code == 303
    assert whoami(_replay(app, stolen)) == 302
    assert whoami(client) == 302


def test_log_out_everywhere_ends_every_session(
    app: Flask, client: FlaskClient, db_session: Any
) -> None:
    user = make_user(db_session)
    phone = new_client(app)
    full_login(client, app, user)
    full_login(phone, app, user)
    stolen = cookie(phone, app)
    assert client.post("/account/logout-everywhere").status_code == 303
    assert whoami(client) == 302 and whoami(phone) == 302
    assert whoami(_replay(app, stolen or "")) == 302


def test_password_change_ends_the_other_sessions_only(
    app: Flask, client: FlaskClient, db_session: Any
) -> None:
    user = make_user(db_session)
    phone = new_client(app)
    full_login(client, app, user)
    full_login(phone, app, user)
    stolen = cookie(phone, app)
    own_before = cookie(client, app)
    response = client.post(
        "/account/password",
        data={"current_password": TEST_PASSWORD, "password": "a brand new passphrase"},
    )
    assert response.status_code == 303
    assert whoami(client) == 200
    assert whoami(phone) == 302 and whoami(_replay(app, stolen or "")) == 302
    # This session goes on under a new token: the one from before the change is dead too.
    assert cookie(client, app) != own_before and whoami(_replay(app, own_before or "")) == 302
    assert services.authenticate(db_session, email=user.email, password="a brand new passphrase")


def test_password_change_needs_the_current_password(
    app: Flask, client: FlaskClient, db_session: Any
) -> None:
    user = make_user(db_session)
    full_login(client, app, user)
    response = client.post(
        "/account/password",
        data={"current_password": "not my password!", "password": "a brand new passphrase"},
    )
    assert response.status_code == 422 and "current password is not correct" in response.text
    assert services.authenticate(db_session, email=user.email, password=TEST_PASSWORD)


def test_password_change_without_csrf_token_changes_nothing(
    app: Flask, client: FlaskClient, db_session: Any
) -> None:
    user = make_user(db_session)
    full_login(client, app, user)
    del client.environ_base["HTTP_X_CSRF_TOKEN"]
    response = client.post(
        "/account/password",
        data={"current_password": TEST_PASSWORD, "password": "a brand new passphrase"},
    )
    assert response.status_code == 400
    assert services.authenticate(db_session, email=user.email, password=TEST_PASSWORD)


def test_account_page_lists_sessions_and_ends_one(
    app: Flask, client: FlaskClient, db_session: Any
) -> None:
    user = make_user(db_session)
    phone = new_client(app)
    full_login(client, app, user)
    full_login(phone, app, user, code=None)
    page = client.get("/account/")
    assert page.status_code == 200 and page.text.count('name="sid"') == 2
    assert "(this session)" in page.text

    from civicforum.accounts.sessions import current_store, hash_token

    phone_sid = hash_token(cookie(phone, app) or "")
    listed = {s.id for s in current_store(app).list_for_user(user.id)}
    assert phone_sid in listed and len(listed) == 2
    assert client.post("/account/sessions/end", data={"sid": phone_sid}).status_code == 303
    assert whoami(phone) == 302 and whoami(client) == 200


def test_a_session_of_another_user_cannot_be_ended(
    app: Flask, client: FlaskClient, db_session: Any
) -> None:
    me, other = make_user(db_session), make_user(db_session)
    phone = new_client(app)
    full_login(client, app, me)
    full_login(phone, app, other)
    from civicforum.accounts.sessions import hash_token

    victim = hash_token(cookie(phone, app) or "")
    assert client.post("/account/sessions/end", data={"sid": victim}).status_code == 404
    assert whoami(phone) == 200


def test_reset_answers_alike_and_the_link_works_once(
    app: Flask, client: FlaskClient, db_session: Any, mailbox: Mailbox
) -> None:
    user = make_user(db_session)
    phone = new_client(app)
    full_login(phone, app, user)
    known = client.post("/account/reset", data={"email": user.email.upper()})
    known_page = client.get(known.headers["Location"]).text
    unknown = client.post("/account/reset", data={"email": "nobody@example.test"})
    unknown_page = client.get(unknown.headers["Location"]).text
    assert known.headers["Location"] == unknown.headers["Location"]
    # Alike but for the CSRF tokens, which carry the second they were signed in.
    assert "If an account exists" in known_page
    assert without_csrf_tokens(known_page) == without_csrf_tokens(unknown_page)

    link = mailbox.link(mailbox.wait_for(to=user.email), "/account/reset/")
    assert not [m for m in mailbox.messages if "nobody" in str(m["To"])]
    path = "/" + link.split("/", 3)[3]
    assert client.get(path).status_code == 200
    short = client.post(path, data={"password": "too short"})
    assert short.status_code == 422 and "at least 12" in short.text
    assert client.post(path, data={"password": "my new long password"}).status_code == 303
    assert services.authenticate(db_session, email=user.email, password="my new long password")
    assert whoami(phone) == 302  # the reset ended every session

    reused = client.post(path, data={"password": "another new password"})
    assert reused.status_code == 400 and "already used" in reused.text
    assert services.authenticate(db_session, email=user.email, password="my new long password")


def test_reset_mail_leaves_outside_the_request_for_any_address(
    app: Flask,
    client: FlaskClient,
    db_session: Any,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No SMTP inside the request, and the same database work for a registered address as
    for an unknown one: the answer takes as long either way (issue #14 item 9)."""
    from civicforum.mail import services as mail
    from civicforum.mail.models import OutgoingMail

    def no_smtp_in_a_request(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("SMTP was reached while answering the request")

    user = make_user(db_session)
    queued = []
    with monkeypatch.context() as patch:
        patch.setattr(mail, "_deliver", no_smtp_in_a_request)
        for email in (user.email, "nobody@example.test"):
            before = set(db_session.scalars(select(OutgoingMail.id)))
            assert client.post("/account/reset", data={"email": email}).status_code == 303
            queued.append(set(db_session.scalars(select(OutgoingMail.id))) - before)
    assert [len(ids) for ids in queued] == [1, 1]
    assert mailbox.messages == []
    # The sender delivers after the request: one mail, to the owner; the placeholder is dropped.
    assert mailbox.link(mailbox.wait_for(to=user.email), "/account/reset/")
    assert [str(m["To"]) for m in mailbox.messages] == [user.email]


def test_tampered_reset_token_is_refused(app: Flask, client: FlaskClient, db_session: Any) -> None:
    user = make_user(db_session)
    with app.test_request_context():
        token = services.reset_token(user)
    response = client.post(f"/account/reset/{token}x", data={"password": "my new long password"})
    assert response.status_code == 400
    assert services.authenticate(db_session, email=user.email, password=TEST_PASSWORD)


def test_expired_reset_token_is_refused(
    app: Flask, client: FlaskClient, db_session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import itsdangerous.timed

    user = make_user(db_session)
    with app.test_request_context():
        token = services.reset_token(user)
    real = itsdangerous.timed.time.time

    class Clock:
        @staticmethod
        def time() -> float:
            return real() + 2 * 3600

    monkeypatch.setattr(itsdangerous.timed, "time", Clock)
    assert (
        client.post(f"/account/reset/{token}", data={"password": "new long password!"}).status_code
        == 400
    )
