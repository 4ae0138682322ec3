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


def test_each_deployment_keeps_its_redis_keys_under_its_own_prefix(tmp_path: Any) -> None:
    from datetime import timedelta

    from civicforum.accounts.sessions import current_store, hash_token
    from civicforum.db import utcnow
    from tests.conftest import make_test_app

    url = _redis_url()
    apps = [
        make_test_app(f"sqlite:///{tmp_path / name}.sqlite", tmp_path / name, **extra)
        for name, extra in (
            ("a", {"SECRET_KEY": "test-only-secret-of-deployment-a", "REDIS_URL": url}),
            ("a2", {"SECRET_KEY": "test-only-secret-of-deployment-a", "REDIS_URL": url}),
            ("b", {"SECRET_KEY": "test-only-secret-of-deployment-b", "REDIS_URL": url}),
            ("c", {"REDIS_URL": url, "REDIS_PREFIX": "town-hall:"}),
        )
    ]
    a, a2, b, c = (app.config["REDIS_PREFIX"] for app in apps)
    assert a == a2 != b  # instances of one deployment share it; two deployments never do
    assert c == "town-hall:"
    assert apps[0].config["RATELIMIT_KEY_PREFIX"].startswith(a)
    assert apps[0].config["PAGE_CACHE_REDIS_PREFIX"].startswith(a)
    stores = [current_store(app) for app in apps]
    sid = hash_token(secrets.token_urlsafe(16))
    expires = utcnow() + timedelta(hours=1)
    stores[0].save(sid, {"_user_id": "1"}, user_id=1, expires=expires, ip=None, agent=None)
    try:
        assert stores[1].load(sid) is not None  # another instance of the same deployment
        assert stores[2].load(sid) is None and stores[3].load(sid) is None  # others: nothing
    finally:
        stores[0].delete(sid)
