"""The account page names a session's browser in words, not its raw user-agent (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask_babel import Babel

from civicforum.accounts.devices import describe

UA = {
    "firefox_linux": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "chrome_windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "edge_windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "safari_iphone": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "chrome_android": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "curl": "curl/8.5.0",
}


@pytest.fixture(autouse=True)
def request_context() -> Iterator[None]:
    app = Flask(__name__)
    Babel(app)
    with app.test_request_context():
        yield


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("firefox_linux", "Firefox on Linux"),
        ("chrome_windows", "Chrome on Windows"),
        ("edge_windows", "Edge on Windows"),
        ("safari_iphone", "Safari on iPhone"),
        ("chrome_android", "Chrome on Android"),
        ("curl", "curl"),
    ],
)
def test_describe(key: str, expected: str) -> None:
    assert describe(UA[key]) == expected


def test_unknown_or_missing() -> None:
    assert describe(None) == "unknown browser"
    assert describe("something odd") == "unknown browser"
