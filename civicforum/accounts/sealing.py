"""TOTP secrets sealed at rest, so that a copy of the database (a backup, a stolen file) does
not hand out every account's second factor.

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under a key derived with HKDF from
CIVICFORUM_TOTP_KEY, or else from the secret key. Rotating the secret key without setting
TOTP_KEY to the old one makes the stored secrets unreadable: two-factor users then need an
admin to turn their second factor off (README → Accounts and security).
"""

from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_PREFIX = "f1:"  # a sealed value; the version lets the scheme change later


class SealError(RuntimeError):
    """A stored secret that the configured key cannot open (the key changed)."""


@cache
def _fernet(key_material: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"civicforum totp secret v1"
    ).derive(key_material.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _current() -> Fernet:
    cfg = current_app.config
    return _fernet(str(cfg.get("TOTP_KEY") or cfg["SECRET_KEY"]))


def seal(secret: str) -> str:
    return _PREFIX + _current().encrypt(secret.encode()).decode("ascii")


def unseal(stored: str) -> str:
    if not stored.startswith(_PREFIX):
        raise SealError("a TOTP secret is stored unsealed: run `civicforum db upgrade`")
    try:
        return _current().decrypt(stored.removeprefix(_PREFIX).encode()).decode()
    except InvalidToken:
        raise SealError(
            "the stored TOTP secrets cannot be opened with this key: did CIVICFORUM_SECRET_KEY "
            "change? Set CIVICFORUM_TOTP_KEY to the previous secret key."
        ) from None
