"""Account services: they add and flush, the caller commits."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicforum.accounts.models import Role, User, UserRole
from civicforum.accounts.passwords import hash_password, needs_rehash, verify_password


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def new_handle(session: Session) -> str:
    """A random public pseudonym (never derived from the email)."""
    while True:
        handle = "c-" + secrets.token_hex(5)
        if session.scalar(select(func.count()).where(User.handle == handle)) == 0:
            return handle


def create_user(
    session: Session,
    *,
    email: str,
    display_name: str,
    password: str,
    roles: tuple[Role | str, ...] = (Role.CITIZEN,),
) -> User:
    """Create an account with the given roles; the caller commits."""
    user = User(
        email=normalise_email(email),
        display_name=display_name.strip(),
        handle=new_handle(session),
        password_hash=hash_password(password),
    )
    user.roles = [UserRole(role=str(r)) for r in roles]
    session.add(user)
    session.flush()  # surfaces a duplicate email as IntegrityError here
    return user


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The user if the password matches (rehashing when parameters changed); else None."""
    user = find_user_by_email(session, email)
    if not verify_password(user.password_hash if user else None, password):
        return None
    assert user is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user
