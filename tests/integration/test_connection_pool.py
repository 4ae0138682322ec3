"""The pool pings only connections that sat idle (civicforum.db), instead of every checkout."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from civicforum import db as civic_db


@pytest.fixture
def url() -> str:
    url = os.environ.get("CIVICFORUM_TEST_POSTGRES_URL", "")
    if not url:
        pytest.skip("PostgreSQL not tested: CIVICFORUM_TEST_POSTGRES_URL is not set")
    return url


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    yield engine
    engine.dispose()


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def kill(url: str, pid: int) -> None:
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_recently_used_connection_is_not_pinged(
    engine: Engine, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(civic_db, "IDLE_PING_SECONDS", 3600.0)
    first = backend_pid(engine)
    kill(url, first)
    # No ping on checkout: the dead connection's first statement fails...
    with pytest.raises(OperationalError):
        backend_pid(engine)
    # ...and that error invalidated the pool, so the next request reconnects.
    assert backend_pid(engine) != first


def test_an_idle_connection_whose_server_side_died_is_replaced(
    engine: Engine, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(civic_db, "IDLE_PING_SECONDS", 0.0)
    first = backend_pid(engine)
    kill(url, first)
    # Idle long enough: the checkout pings, drops the dead connection and connects again,
    # so the caller never sees the error.
    assert backend_pid(engine) != first


def test_a_request_never_holds_two_connections(tmp_path: Any, monkeypatch: Any) -> None:
    """Saving a signed-in member's session record after a page that read the database reuses
    the request's connection (accounts.sessions): with two per request, 20 concurrent voters
    exhausted the embedded default's pool of 5 + 10."""
    from datetime import timedelta

    import flask_migrate
    from sqlalchemy import event

    from civicforum.accounts import sessions
    from civicforum.db import utcnow
    from civicforum.extensions import db
    from tests.conftest import make_test_app
    from tests.factories import TEST_PASSWORD, make_user

    app = make_test_app(f"sqlite:///{tmp_path / 'pool.sqlite'}", tmp_path)
    with app.app_context():
        flask_migrate.upgrade()
        user = make_user(db.session)
        db.session.commit()
        email = user.email
        engine = db.engine
    held = {"now": 0, "most": 0}

    @event.listens_for(engine, "checkout")
    def _out(*_args: Any) -> None:
        held["now"] += 1
        held["most"] = max(held["most"], held["now"])

    @event.listens_for(engine, "checkin")
    def _in(*_args: Any) -> None:
        held["now"] -= 1

    client = app.test_client()
    login_page = client.get("/account/login").text
    token = login_page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/account/login", data={"email": email, "password": TEST_PASSWORD, "csrf_token": token}
    )
    # A quarter of an hour later the record's last use is refreshed after the page is read.
    later = utcnow() + timedelta(minutes=20)
    monkeypatch.setattr(sessions, "utcnow", lambda: later)
    held["most"] = held["now"] = 0
    assert client.get("/ballots/").status_code == 200
    assert held["most"] == 1, held
