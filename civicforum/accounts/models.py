"""Accounts: users, roles, role changes, recovery codes and the voter roll."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicforum.accounts import sealing
from civicforum.db import db, utcnow


class Role(enum.StrEnum):
    CITIZEN = "citizen"
    MODERATOR = "moderator"
    AUDITOR = "auditor"
    ADMIN = "admin"


# Roles whose pages stay closed until the holder has two-factor authentication.
PRIVILEGED_ROLES = frozenset({Role.MODERATOR, Role.AUDITOR, Role.ADMIN})


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased so uniqueness is case-insensitive on both backends.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    # Public, stable pseudonym shown next to public ballots and in the civic record.
    handle: Mapped[str] = mapped_column(String(32), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    email_verified_at: Mapped[datetime | None]
    roll_verified_at: Mapped[datetime | None]
    # Bumped by "log out everywhere" and password changes: older sessions stop working.
    session_version: Mapped[int] = mapped_column(default=1)
    locale: Mapped[str | None] = mapped_column(String(10))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Sealed at rest (accounts.sealing): the column holds ciphertext, `totp_secret` the secret.
    totp_sealed: Mapped[str | None] = mapped_column("totp_secret", String(255))
    # Last accepted TOTP time step: a code is accepted once (RFC 6238 §5.2 replay).
    totp_last_step: Mapped[int | None]
    totp_enabled_at: Mapped[datetime | None]
    notify_email_digest: Mapped[bool] = mapped_column(default=False)

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def totp_secret(self) -> str | None:
        return sealing.unseal(self.totp_sealed) if self.totp_sealed else None

    @totp_secret.setter
    def totp_secret(self, secret: str | None) -> None:
        self.totp_sealed = sealing.seal(secret) if secret else None

    @property
    def role_names(self) -> frozenset[str]:
        # The names read with the user for this request (accounts.facts), until the roles
        # themselves are loaded (to change them, say): from then on, the collection.
        names = self.__dict__.get("_role_names")
        if names is not None and "roles" not in self.__dict__:
            return names
        return frozenset(r.role for r in self.roles)

    def preload_role_names(self, names: frozenset[str]) -> None:
        self.__dict__["_role_names"] = names

    def set_second_factor(self, passed: bool) -> None:
        """Whether this request's session passed the second factor (the user's load says)."""
        self.__dict__["_second_factor"] = passed

    @property
    def active_role_names(self) -> frozenset[str]:
        """The roles this request acts with: `role_names`, less the privileged ones until
        the session passed the second factor. A role granted to someone who has not set up
        TOTP, or who signed in with the password alone, must not open what it guards on
        public pages either (removed proposals, pending comments: issue #14 item 6)."""
        if self.__dict__.get("_second_factor", True):
            return self.role_names
        return self.role_names - PRIVILEGED_ROLES

    def has_role(self, role: Role | str) -> bool:
        """Acting with `role` in this request (see `active_role_names`)."""
        return str(role) in self.active_role_names

    @property
    def is_email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_roll_verified(self) -> bool:
        return self.roll_verified_at is not None

    @property
    def has_totp(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def is_privileged(self) -> bool:
        """Holds a role that requires two-factor authentication."""
        return bool(self.role_names & PRIVILEGED_ROLES)

    @property
    def needs_totp(self) -> bool:
        return self.is_privileged and not self.has_totp


class UserRole(db.Model):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")


class RoleChange(db.Model):
    """Append-only record of every grant and revocation."""

    __tablename__ = "role_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(10))  # "grant" | "revoke"

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class RecoveryCode(db.Model):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class RollEntry(db.Model):
    """One voter-roll identifier, kept only as a keyed hash (HMAC), claimable once."""

    __tablename__ = "roll_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    keyed_hash: Mapped[str] = mapped_column(String(64), unique=True)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )
    claimed_at: Mapped[datetime | None]


class UserSession(db.Model):
    """Server-side session record; the cookie holds only a random token whose hash is the id."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(token) hex
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    data: Mapped[str] = mapped_column(db.Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))
