from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import g
from flask.testing import FlaskClient


@pytest.fixture(autouse=True)
def request_boundary(monkeypatch: pytest.MonkeyPatch, db_session: Any) -> Iterator[None]:
    """Start each test-client request like a real one: empty `g`, no open ORM transaction.

    The db_session fixture keeps an app context pushed and Flask reuses it for requests, so
    `g` (flask-login's cached current user, flask-wtf's CSRF token) would leak from one
    request — one client — to the next. Account tests juggle several clients, so `g` is
    emptied first. The test's own SAVEPOINT is released too, so the request sees what the
    test wrote (and SQLite's BEGIN IMMEDIATE finds no open connection); the outer rollback
    of db_session still undoes everything.
    """
    original = FlaskClient.open

    def open_as_new_request(self: FlaskClient, *args: Any, **kwargs: Any) -> Any:
        db_session.commit()
        g.__dict__.clear()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FlaskClient, "open", open_as_new_request)
    yield
