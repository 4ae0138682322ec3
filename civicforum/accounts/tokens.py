"""Signed, expiring tokens for email verification and password reset (itsdangerous).

A reset token also carries a fragment of the current password hash, so it stops working as
soon as the password changes (single use) without storing anything server-side.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from civicforum.accounts.errors import InvalidTokenError

VERIFY_EMAIL = "civicforum.verify-email"
RESET_PASSWORD = "civicforum.reset-password"


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose)


def password_fragment(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def make_token(purpose: str, payload: dict[str, Any]) -> str:
    return str(_serializer(purpose).dumps(payload))


def read_token(purpose: str, token: str, *, max_age: int) -> dict[str, Any]:
    """The payload of a valid, unexpired token for `purpose`; InvalidTokenError otherwise."""
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except BadSignature:  # SignatureExpired is a subclass
        raise InvalidTokenError() from None
    if not isinstance(payload, dict):
        raise InvalidTokenError()
    return payload


def verify_max_age() -> int:
    return int(current_app.config.get("TOKEN_MAX_AGE_SECONDS", 24 * 3600))


def reset_max_age() -> int:
    # Short-lived: a reset link in a mailbox is a password (ASVS 6.4.1).
    return int(current_app.config.get("RESET_TOKEN_MAX_AGE_SECONDS", 3600))
