"""Shared fixtures: one migrated app per backend, one rolled-back transaction per test.

SQLite always runs; PostgreSQL runs too when CIVICFORUM_TEST_POSTGRES_URL is set (CI sets
it), and is otherwise skipped with a visible reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session, scoped_session

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TEST_SECRET = "test-only-secret-not-for-production"


def backend_params() -> list[Any]:
    return ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def drop_schema() -> None:
    from civicforum.extensions import db

    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            db.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            for (name,) in conn.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                )
            ).all():
                conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))


def make_test_app(url: str, instance: Path, **extra: Any) -> Flask:
    from civicforum import create_app

    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": url,
            "SESSION_COOKIE_SECURE": False,
            "RATELIMIT_ENABLED": True,
            "INSTANCE_PATH": str(instance),
            # Batches of one: most tests want a cast in the log at once. The pool's real
            # thresholds are tested on their own (tests/integration/ballots/test_secrecy.py).
            "LEDGER_MIX_MIN": 1,
            # Tests send queued mail themselves (Mailbox.wait_for), inside their transaction.
            "MAIL_SEND_IN_PROCESS": False,
            **extra,
        }
    )


def database_url(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'test.sqlite'}"
    url = os.environ.get("CIVICFORUM_TEST_POSTGRES_URL", "")
    if not url:
        pytest.skip("PostgreSQL not tested: CIVICFORUM_TEST_POSTGRES_URL is not set")
    return url


@pytest.fixture(scope="session", params=backend_params())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def app(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    import flask_migrate

    from civicforum.extensions import db

    tmp = tmp_path_factory.mktemp(f"app-{backend}")
    url = database_url(backend, tmp)
    app = make_test_app(url, tmp)
    with app.app_context():
        drop_schema()
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def db_session(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[scoped_session[Session]]:
    from civicforum.extensions import db, limiter

    with app.app_context():
        conn = db.engine.connect()
        outer = conn.begin()
        # Flask-SQLAlchemy picks the bind from db.engines, so route it to this connection;
        # app commits then release SAVEPOINTs and the outer rollback undoes everything.
        monkeypatch.setitem(db.engines, None, conn)
        monkeypatch.setitem(
            db.session.session_factory.kw, "join_transaction_mode", "create_savepoint"
        )
        limiter.reset()
        monkeypatch.setattr(FlaskClient, "open", _as_new_request(FlaskClient.open, db.session))
        monkeypatch.setattr(
            FlaskClient,
            "session_transaction",
            _committed_first(FlaskClient.session_transaction, db.session),
        )
        yield db.session
        db.session.remove()
        outer.rollback()
        conn.close()


def _as_new_request(original: Callable[..., Any], session: Any) -> Callable[..., Any]:
    """Start each test-client request like a real one: empty `g`, no open ORM transaction.

    The test keeps an app context pushed and Flask reuses it for requests, so `g` (flask-
    login's cached user, flask-wtf's CSRF token) would leak from one request — one client —
    to the next. The test's SAVEPOINT is released first, so the request sees what the test
    wrote; db_session's outer rollback still undoes everything afterwards.
    """

    def open_as_new_request(self: FlaskClient, *args: Any, **kwargs: Any) -> Any:
        from flask import g

        session.commit()
        g.__dict__.clear()
        return original(self, *args, **kwargs)

    return open_as_new_request


def _committed_first(original: Callable[..., Any], session: Any) -> Callable[..., Any]:
    """A session transaction saves the session record as a request's end does, which first
    ends the request's database transaction (accounts.sessions): what the test wrote so far
    is committed to its SAVEPOINT first, as `_as_new_request` does before a request."""

    @contextmanager
    def session_transaction(self: FlaskClient, *args: Any, **kwargs: Any) -> Iterator[Any]:
        session.commit()
        with original(self, *args, **kwargs) as sess:
            yield sess

    return session_transaction


@contextmanager
def scratch_postgres_app(tmp: Path, **config: Any) -> Iterator[Flask]:
    """A migrated app on a fresh PostgreSQL database, dropped afterwards.

    For tests that need real commits from several connections (concurrency, processes):
    their rows (append-only ledger entries included) must not leak into the shared test
    database that every other test reads inside its rolled-back transaction.
    """
    import uuid

    import flask_migrate
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from civicforum.extensions import db

    base = os.environ.get("CIVICFORUM_TEST_POSTGRES_URL", "")
    if not base:
        pytest.skip("PostgreSQL not tested: CIVICFORUM_TEST_POSTGRES_URL is not set")
    name = f"civicforum_scratch_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    app = make_test_app(url, tmp, **config)
    try:
        with app.app_context():
            flask_migrate.upgrade()
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def csrf_token_for(client: FlaskClient, app: Flask) -> str:
    """Seed the client's session with a CSRF token and return the signed form value."""
    from flask_wtf.csrf import generate_csrf

    with client.session_transaction() as sess:
        raw = sess.get("csrf_token")
    with app.test_request_context():
        from flask import g, session

        # flask-wtf caches the token on g, which is shared while an app context is pushed.
        g.pop("csrf_token", None)
        if raw:
            session["csrf_token"] = raw
        token = generate_csrf()
        raw = session["csrf_token"]
    with client.session_transaction() as sess:
        sess["csrf_token"] = raw
    return token


@pytest.fixture
def client(app: Flask, db_session: Any) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(client, app)
    return client


@pytest.fixture
def anon_client(app: Flask, db_session: Any) -> FlaskClient:
    """A client that sends no CSRF token (to prove the guard)."""
    return app.test_client()


@pytest.fixture
def login_as(client: FlaskClient, app: Flask) -> Callable[..., Any]:
    """Log `user` in on `client` directly (as a completed login, 2FA included by default)."""

    def login(user: Any, *, mfa: bool = True, on: FlaskClient | None = None) -> Any:
        from flask_login.utils import _create_identifier

        target = on or client
        with app.test_request_context(environ_base=target.environ_base):
            identifier = _create_identifier()
        with target.session_transaction() as sess:
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True
            sess["_id"] = identifier
            sess["_sv"] = user.session_version
            if mfa and user.totp_secret:
                sess["mfa"] = True
        if on is not None:
            on.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(on, app)
        return user

    return login


class Mailbox:
    """Messages received by a real local SMTP server (aiosmtpd), for mail tests."""

    def __init__(self) -> None:
        import threading
        from email.message import EmailMessage

        self.messages: list[EmailMessage] = []
        self._cond = threading.Condition()
        # Sends the queued mail first (the test app has no sender thread); None: a live
        # server's sender thread does.
        self.drain: Callable[[], object] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._cond:
            self.messages.append(message)  # type: ignore[arg-type]
            self._cond.notify_all()
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._cond:
            self.messages.clear()

    def wait_for(self, to: str, *, timeout: float = 10.0) -> Any:
        """The latest message to `to`, waiting up to `timeout` seconds for it to arrive."""
        if self.drain is not None:
            self.drain()
        with self._cond:
            found = self._cond.wait_for(
                lambda: [m for m in self.messages if to.lower() in str(m["To"]).lower()],
                timeout=timeout,
            )
        assert found, f"no mail to {to} arrived within {timeout} s"
        return found[-1]

    @staticmethod
    def body(message: Any) -> str:
        return str(message.get_body(preferencelist=("plain",)).get_content())

    def link(self, message: Any, path: str) -> str:
        """The first URL in the message whose path starts with `path` (e.g. "/account/verify/")."""
        import re

        for url in re.findall(r"https?://\S+", self.body(message)):
            if url.split("/", 3)[-1].startswith(path.lstrip("/")):
                return url
        raise AssertionError(f"no {path} link in mail:\n{self.body(message)}")


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[str, int, Mailbox]]:
    """A real SMTP server on 127.0.0.1 (free port): (host, port, mailbox)."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield "127.0.0.1", port, mailbox
    controller.stop()


@pytest.fixture
def mailbox(
    app: Flask, smtp_server: tuple[str, int, Mailbox], monkeypatch: pytest.MonkeyPatch
) -> Mailbox:
    """Route the test app's mail to the local SMTP server for one test; returns its mailbox."""
    host, port, box = smtp_server
    monkeypatch.setitem(app.config, "MAIL_SERVER", host)
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    box.clear()
    monkeypatch.setattr(box, "drain", lambda: send_queued_mail(app))
    return box


def send_queued_mail(app: Flask) -> tuple[int, int]:
    """What the sender thread or `civicforum mail send` does: deliver the queued mail."""
    from civicforum.mail.cli import send_due

    with app.app_context():
        return send_due()
