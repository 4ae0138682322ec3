"""Absolute URLs, always on the configured public address (BASE_URL)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of `endpoint` under BASE_URL, inside a request or not.

    Never from the request: `url_for(..., _external=True)` takes the host from the Host
    header (or X-Forwarded-Host behind some proxies), so a password-reset request sent with
    `Host: evil.tld` mailed the victim a link that hands the token to evil.tld."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
