"""Plain, typed factory functions for tests: keyword arguments, safe defaults, flush only."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pyotp
from sqlalchemy.orm import Session

from civicforum.accounts.models import Role, User, UserRole
from civicforum.db import utcnow

_seq = itertools.count(1)
MEMBER_SINCE = timedelta(days=30)
TEST_PASSWORD = "correct horse battery staple"
TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def make_user(
    session: Session,
    *,
    roles: tuple[Role | str, ...] = (Role.CITIZEN,),
    email: str | None = None,
    display_name: str | None = None,
    password: str = TEST_PASSWORD,
    verified: bool = True,
    totp: bool | None = None,
    member_since: datetime | None = None,
    **fields: Any,
) -> User:
    """A member, by default one who joined (verified, with their roles) a month ago: a
    ballot's electorate is fixed at its opening, and most tests open a ballot first and make
    its voters afterwards. Pass `member_since=utcnow()` for someone who joins now."""
    from civicforum.accounts.passwords import hash_password

    n = next(_seq)
    since = member_since or utcnow() - MEMBER_SINCE
    fields.setdefault("created_at", since)
    user = User(
        email=(email or f"user{n}@example.test").lower(),
        display_name=display_name or f"Test User {n}",
        handle=f"c-test{n:06d}",
        password_hash=hash_password(password),
        email_verified_at=since if verified else None,
        **fields,
    )
    user.roles = [UserRole(role=str(r), granted_at=since) for r in roles]
    privileged = {str(r) for r in roles} & {"moderator", "auditor", "admin"}
    if totp or (totp is None and privileged):
        user.totp_secret = TEST_TOTP_SECRET
        user.totp_enabled_at = utcnow()
    session.add(user)
    session.flush()  # need the id for sessions and foreign keys
    return user


def totp_now(secret: str = TEST_TOTP_SECRET) -> str:
    return pyotp.TOTP(secret).now()
