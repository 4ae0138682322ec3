"""One-time cast tokens: what makes a retried cast request answer instead of vote again.

The review step puts a fresh token in the confirmation form: a random nonce and a MAC over the
ballot, the voter and the nonce, under a key derived from the secret key, so nothing is stored
until the cast. The cast stores its receipt under the token's SHA-256 (``BallotReceipt``); the
same token again gets that receipt back (``services.cast_ballot``). The MAC binds the token to
its voter and ballot, so a token seen by someone else casts nothing for them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app

from civicforum.ballots.errors import StaleCastFormError


def _key() -> bytes:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"civicforum cast token key v1", hashlib.sha256).digest()


def _mac(nonce: str, *, ballot_id: int, voter_id: int) -> str:
    message = f"{ballot_id}:{voter_id}:{nonce}".encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()[:32]


def issue(*, ballot_id: int, voter_id: int) -> str:
    """A fresh token for one confirmation form."""
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_mac(nonce, ballot_id=ballot_id, voter_id=voter_id)}"


def check(token: str, *, ballot_id: int, voter_id: int) -> None:
    """Refuse a token not issued to this voter for this ballot (StaleCastFormError, 422)."""
    nonce, _, mac = token.partition(".")
    if not nonce or len(token) > 100:
        raise StaleCastFormError()
    if not hmac.compare_digest(mac, _mac(nonce, ballot_id=ballot_id, voter_id=voter_id)):
        raise StaleCastFormError()
