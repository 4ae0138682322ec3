"""Small helpers shared by the account view tests."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token_for
from tests.factories import TEST_PASSWORD, totp_now


def new_client(app: Flask, *, address: str | None = None) -> FlaskClient:
    """Another browser: its own cookie jar and CSRF token (and client address, if given)."""
    other = app.test_client()
    if address:
        other.environ_base["REMOTE_ADDR"] = address
    other.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(other, app)
    return other


def password_login(
    client: FlaskClient, email: str, password: str = TEST_PASSWORD, *, next: str | None = None
) -> Any:
    url = "/account/login" + (f"?next={next}" if next else "")
    return client.post(url, data={"email": email, "password": password})


def full_login(client: FlaskClient, app: Flask, user: Any, *, code: str | None = None) -> Any:
    """Password, then the TOTP challenge when the account has 2FA; refreshes the CSRF token."""
    response = password_login(client, user.email)
    if "/totp/challenge" in response.headers.get("Location", ""):
        response = client.post("/account/totp/challenge", data={"code": code or totp_now()})
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_for(client, app)
    return response


def cookie(client: FlaskClient, app: Flask) -> str | None:
    found = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return found.value if found else None


def whoami(client: FlaskClient) -> int:
    """Status of the account page: 200 logged in, 302 to login when anonymous."""
    return client.get("/account/").status_code


def without_csrf_tokens(page: str) -> str:
    """`page` without its CSRF tokens, which carry the second they were signed in: two
    answers meant to be alike differ there when they straddle a second."""
    return re.sub(r'(name="csrf_token" value=|"X-CSRF-Token": )"[^"]+"', r"\1", page)
