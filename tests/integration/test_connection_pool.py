"""The pool pings only connections that sat idle (civicforum.db), instead of every checkout."""

from __future__ import annotations

import os
from collections.abc import Iterator

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
