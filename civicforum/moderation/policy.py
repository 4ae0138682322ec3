"""Who may take part right now: the seam other features call before a user posts or votes.

The moderation issue replaces the bodies with sanctions and pre-moderation rules; the
signatures are the contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from civicforum.web.errors import CivicforumError


@dataclass(frozen=True)
class Restriction:
    kind: str  # "suspended" | "banned"
    reason: str
    until: datetime | None  # None: permanent


class RestrictedAccountError(CivicforumError):
    """Your account may read but not take part."""

    status_code = 403


def active_restriction(session: Session, user: Any) -> Restriction | None:
    """The sanction that currently stops `user` from posting, flagging, supporting or voting."""
    return None


def ensure_can_participate(session: Session, user: Any) -> None:
    """Raise RestrictedAccountError (403, with reason and end date) if the user is sanctioned."""
    restriction = active_restriction(session, user)
    if restriction is not None:
        until = restriction.until.isoformat() if restriction.until else "permanently"
        raise RestrictedAccountError(
            f"Your account is {restriction.kind} ({until}): {restriction.reason}"
        )


def needs_premoderation(session: Session, user: Any) -> bool:
    """True when a new comment by `user` must wait for a moderator before others see it."""
    return False
