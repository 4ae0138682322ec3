"""argon2id password hashing with parameters from the config (rehash when they change)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# Verifying against this keeps the response time of an unknown email equal to a known one.
_DUMMY_PASSWORD = "not-a-real-password-just-for-timing"


def hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    return hasher().hash(password)


@cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    # Hashed once per parameter set: hashing it on every unknown email would cost a hash on
    # top of the verify, and the doubled time would tell which emails have an account.
    return PasswordHasher(time_cost, memory_cost, parallelism).hash(_DUMMY_PASSWORD)


def verify_password(stored_hash: str | None, password: str) -> bool:
    ph = hasher()
    checked = stored_hash or _dummy_hash(ph.time_cost, ph.memory_cost, ph.parallelism)
    try:
        return ph.verify(checked, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return hasher().check_needs_rehash(stored_hash)


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords from public breach corpora: an offline
    # list (ASVS 6.2.4/6.2.12) that needs no network call at registration time.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common_password(password: str) -> bool:
    """True for a password found in breach corpora (compared case-insensitively)."""
    return password.casefold() in _common_passwords()
