"""One-time codes are used once even when sent many times at once (issue #14 item 2).

Real requests in parallel threads against a scratch PostgreSQL database (real commits from
several connections): a TOTP code, a recovery code, a reset link and a verification link
each sent six times at the same moment open one session, or change one password, at most.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from civicforum.accounts import services
from civicforum.accounts.models import RecoveryCode, User
from civicforum.audit.models import AuditEvent
from tests.conftest import csrf_token_for, scratch_postgres_app
from tests.factories import make_user, totp_now
from tests.web.accounts.helpers import password_login

pytestmark = pytest.mark.postgres

PARALLEL = 6
RECOVERY = "abcd-efgh-jkmn-pqrs"
NEW_PASSWORD = "a brand new passphrase for tests"


@pytest.fixture
def scratch(backend: str, tmp_path: Path) -> Iterator[Flask]:
    if backend != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite serialises writers)")
    with scratch_postgres_app(tmp_path) as app:
        yield app


def _user(app: Flask, **fields: Any) -> User:
    from civicforum.extensions import db

    with app.app_context():
        user = make_user(db.session, **fields)
        db.session.add(
            RecoveryCode(user_id=user.id, code_hash=services.recovery_code_hash(RECOVERY))
        )
        db.session.commit()
        db.session.refresh(user)  # loaded, to be read after the session is gone
        db.session.expunge(user)
        return user


def _clients(app: Flask) -> list[FlaskClient]:
    clients = []
    for _ in range(PARALLEL):
        client = app.test_client()
        client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(client, app)
        clients.append(client)
    return clients


def _race(clients: list[FlaskClient], send: Callable[[FlaskClient], Any]) -> list[Any]:
    """`send` on every client at the same moment; the responses in client order."""
    barrier = threading.Barrier(len(clients))
    responses: list[Any] = [None] * len(clients)

    def run(i: int) -> None:
        barrier.wait()
        responses[i] = send(clients[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return responses


def _signed_in(responses: list[Any]) -> int:
    return sum(r.status_code == 303 and r.headers["Location"] == "/" for r in responses)


@pytest.mark.parametrize("code", ["totp", "recovery"])
def test_one_code_sent_at_once_opens_one_session(scratch: Flask, code: str) -> None:
    user = _user(scratch, roles=("citizen", "moderator"))
    clients = _clients(scratch)
    for client in clients:  # the password step, each in its own browser
        assert "/totp/challenge" in password_login(client, user.email).headers["Location"]
        client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(client, scratch)
    value = totp_now() if code == "totp" else RECOVERY
    responses = _race(clients, lambda c: c.post("/account/totp/challenge", data={"code": value}))
    assert _signed_in(responses) == 1, [r.status_code for r in responses]
    assert sorted(r.status_code for r in responses) == [303] + [422] * (PARALLEL - 1)


def test_one_reset_link_sent_at_once_changes_the_password_once(scratch: Flask) -> None:
    user = _user(scratch)
    with scratch.test_request_context():
        path = f"/account/reset/{services.reset_token(user)}"
    responses = _race(
        _clients(scratch),
        lambda c: c.post(path, data={"password": NEW_PASSWORD}),
    )
    changed = [r for r in responses if r.status_code == 303]
    assert len(changed) == 1, [r.status_code for r in responses]
    assert _events(scratch, "accounts:password:reset") == 1


def test_one_verification_link_sent_at_once_is_used_once(scratch: Flask) -> None:
    user = _user(scratch, verified=False)
    with scratch.test_request_context():
        path = f"/account/verify/{services.verification_token(user)}"
    responses = _race(_clients(scratch), lambda c: c.post(path))
    assert sorted(r.status_code for r in responses) == [303] + [400] * (PARALLEL - 1)
    assert _events(scratch, "accounts:email:verify") == 1


def _events(app: Flask, kind: str) -> int:
    from civicforum.extensions import db

    with app.app_context():
        return int(
            db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == kind)
            )
            or 0
        )
