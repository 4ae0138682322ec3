"""Absolute URLs come from configuration, never from the request (issue #14 item 1).

A reset requested with `Host: evil.tld` once mailed `http://evil.tld/account/reset/<token>`,
handing the token to whoever answers for evil.tld. Requests for a host outside
TRUSTED_HOSTS now get 400, and every mailed link is built on BASE_URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from civicforum import create_app
from tests.conftest import TEST_SECRET, Mailbox
from tests.factories import make_user


def _config_of(tmp_path: Path, **config: Any) -> Any:
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "INSTANCE_PATH": str(tmp_path),
            **config,
        }
    ).config


@pytest.mark.parametrize("host", ["evil.tld", "evil.tld:5000", "127.0.0.1.evil.tld"])
def test_a_request_for_an_untrusted_host_is_refused(
    client: FlaskClient, db_session: Any, mailbox: Mailbox, host: str
) -> None:
    user = make_user(db_session)
    response = client.post("/account/reset", data={"email": user.email}, headers={"Host": host})
    assert response.status_code == 400
    assert "host name" in response.text
    assert mailbox.messages == []


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:5000"])
def test_the_local_host_names_are_trusted_by_default(client: FlaskClient, host: str) -> None:
    assert client.get("/", headers={"Host": host}).status_code == 200


def test_the_reset_link_is_built_on_base_url_whatever_the_request_says(
    app: Flask,
    client: FlaskClient,
    db_session: Any,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "BASE_URL", "https://vote.example.org")
    user = make_user(db_session)
    response = client.post(
        "/account/reset",
        data={"email": user.email},
        headers={"X-Forwarded-Host": "evil.tld", "Forwarded": "host=evil.tld"},
    )
    assert response.status_code == 303
    link = mailbox.link(mailbox.wait_for(to=user.email), "/account/reset/")
    assert link.startswith("https://vote.example.org/account/reset/")


def test_base_url_and_trusted_hosts_defaults(tmp_path: Path) -> None:
    local = _config_of(tmp_path)
    assert local["BASE_URL"] == "http://127.0.0.1:5000"
    assert local["TRUSTED_HOSTS"] == ["127.0.0.1", "localhost"]
    public = _config_of(tmp_path, BASE_URL="https://vote.example.org/")
    assert public["BASE_URL"] == "https://vote.example.org"
    assert public["TRUSTED_HOSTS"] == ["vote.example.org"]
    listed = _config_of(tmp_path, BASE_URL="https://vote.example.org", TRUSTED_HOSTS="a.org, b.org")
    assert listed["TRUSTED_HOSTS"] == ["a.org", "b.org"]


@pytest.mark.parametrize(
    "config",
    [
        {"BASE_URL": "vote.example.org"},
        {"BASE_URL": "ftp://vote.example.org"},
        {"BASE_URL": "https://user@vote.example.org"},
        {"BASE_URL": "https://vote.example.org/?next=x"},
        {"TRUSTED_HOSTS": []},
    ],
)
def test_an_unusable_public_address_stops_start_up(tmp_path: Path, config: Any) -> None:
    with pytest.raises(RuntimeError, match="CIVICFORUM_(BASE_URL|TRUSTED_HOSTS)"):
        _config_of(tmp_path, **config)
