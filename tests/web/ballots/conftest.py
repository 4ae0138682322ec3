from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient


@pytest.fixture(autouse=True)
def request_boundary(
    monkeypatch: pytest.MonkeyPatch, app: Flask, db_session: Any
) -> Iterator[None]:
    """Each test-client request in its own app context and ORM session, as in production.

    Same approach as tests/web/moderation/conftest.py (TODO #4: one shared fixture once the
    integrator merges them): the test's SAVEPOINT is released first, so the request sees the
    test's rows and SQLite's BEGIN IMMEDIATE finds no transaction already open.
    """
    original = FlaskClient.open

    def open_in_fresh_context(self: FlaskClient, *args: Any, **kwargs: Any) -> Any:
        db_session.commit()
        with app.app_context():
            return original(self, *args, **kwargs)

    monkeypatch.setattr(FlaskClient, "open", open_in_fresh_context)
    yield
