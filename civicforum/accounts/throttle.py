"""Login throttling that an attacker cannot turn against an account's owner (issue #14 item 3).

A wall (HTTP 429) per account alone let anyone lock a voter out near a ballot's close with ten
wrong passwords. Now the walls stand per (account, client address) and per client address,
so a guesser locks out only their own connection; the account alone gets a delay: past
LOGIN_LIMIT_PER_ACCOUNT failures from anywhere, every further attempt on it waits 1, 2, 4 …
seconds (at most LOGIN_DELAY_MAX_SECONDS) before its password is checked — the right one
too, so the answer tells nothing — and the owner still gets in, a little later. Counts live
in the rate limiter's storage (Redis when configured), shared by every instance.
"""

from __future__ import annotations

import time

from flask import current_app
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse

from civicforum.accounts.services import normalise_email
from civicforum.extensions import config_limit, limiter

ACCOUNT_LIMIT = ("LOGIN_LIMIT_PER_ACCOUNT", "10 per 15 minutes")
ACCOUNT_ADDRESS_LIMIT = ("LOGIN_LIMIT_PER_ACCOUNT_ADDRESS", "10 per 15 minutes")
# Failures counted past the account's threshold, to grow the delay (never a wall).
_HEADROOM = 64

sleep = time.sleep  # patched in tests


def normalised(email: str) -> str:
    return normalise_email(email)[:254]


def account_address_key(email: str) -> str:
    return f"login:{normalised(email)}|{get_remote_address()}"


def _counter() -> RateLimitItem:
    threshold = parse(config_limit(*ACCOUNT_LIMIT))
    return type(threshold)(threshold.amount + _HEADROOM, threshold.multiples)


def _failures(email: str) -> int:
    counter = _counter()
    stats = limiter.limiter.get_window_stats(counter, "login-account", normalised(email))
    return counter.amount - stats.remaining


def record_failure(email: str) -> None:
    """Count a failed password for the account, whichever client sent it."""
    if limiter.enabled:
        limiter.limiter.hit(_counter(), "login-account", normalised(email))


def delay_for(email: str) -> float:
    """Seconds an attempt on this account waits now: 0 below the threshold."""
    if not limiter.enabled:
        return 0.0
    excess = _failures(email) - parse(config_limit(*ACCOUNT_LIMIT)).amount
    if excess < 0:
        return 0.0
    cap = float(current_app.config.get("LOGIN_DELAY_MAX_SECONDS", 5))
    return min(cap, 2.0 ** min(excess, 16))


def wait_before_checking(email: str) -> float:
    """Wait as long as `delay_for` says; the seconds waited."""
    delay = delay_for(email)
    if delay > 0:
        sleep(delay)
    return delay
