"""The Redis session store behind the real app: logout ends the session for good."""

from __future__ import annotations

import os
import secrets
from typing import Any

import pytest
from flask import Flask

from tests.factories import TEST_PASSWORD, make_user


def _redis_url() -> str:
    url = os.environ.get("CIVICFORUM_TEST_REDIS_URL", "")
    if not url:
        pytest.skip("Redis session store not tested: CIVICFORUM_TEST_REDIS_URL is not set")
    return url


def test_logout_replay_is_rejected_with_the_redis_store(
    app: Flask, db_session: Any, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from civicforum.accounts.sessions import RedisSessionStore
    from tests.conftest import csrf_token_for

    store = RedisSessionStore(_redis_url(), prefix=f"civicforum-test-{secrets.token_hex(4)}:")
    monkeypatch.setattr(app.session_interface, "store", store)
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(client, app)
    user = make_user(db_session)
    response = client.post("/account/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 303
    stolen = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    assert [s.user_id for s in store.list_for_user(user.id)] == [user.id]
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(client, app)
    assert client.post("/account/logout").status_code == 303
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    assert thief.get("/account/").status_code == 302
    assert store.list_for_user(user.id) == []
