"""Who may take part right now: the seam other features call before a user posts or votes.

Other features call, inside their services and before writing anything:
- `ensure_can_participate(session, user)` before posting, flagging, supporting or voting;
- `needs_premoderation(session, user)` when creating a comment (True → status "pending");
- `check_comment_rate(session, user)` and `ensure_not_duplicate(session, user, body)`
  before creating a comment.
The counts behind rate limits come from the database, so they hold across app instances.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session

from civicforum.accounts import facts
from civicforum.db import utcnow
from civicforum.moderation.errors import DuplicateCommentError, RateLimitedError
from civicforum.moderation.models import ModerationFlag, Sanction, SanctionKind
from civicforum.moderation.text import _, format_datetime
from civicforum.settings.services import SettingSpec, get_setting, register_setting
from civicforum.web.errors import CivicforumError

FLAG_THRESHOLD = register_setting(
    SettingSpec(
        "moderation.flag_threshold",
        lambda: str(_l("Reports that hide an item pending review")),
        3,
        minimum=1,
        maximum=100,
    )
)
PREMODERATION = register_setting(
    SettingSpec(
        "moderation.premoderation",
        lambda: str(_l("Pre-moderation of comments")),
        "off",
        kind=str,
        choices=(
            ("off", lambda: str(_l("Off"))),
            ("new", lambda: str(_l("New accounts"))),
            ("all", lambda: str(_l("Everyone"))),
        ),
    )
)
PREMODERATION_DAYS = register_setting(
    SettingSpec(
        "moderation.premoderation_days",
        lambda: str(_l("New account: younger than (days)")),
        7,
        minimum=0,
        maximum=365,
    )
)
PREMODERATION_APPROVED = register_setting(
    SettingSpec(
        "moderation.premoderation_min_approved",
        lambda: str(_l("New account: fewer approved comments than")),
        3,
        minimum=0,
        maximum=1000,
    )
)
COMMENT_RATE = register_setting(
    SettingSpec(
        "moderation.comments_per_10_minutes",
        lambda: str(_l("Comments per account per 10 minutes")),
        10,
        minimum=1,
        maximum=1000,
    )
)
FLAG_RATE = register_setting(
    SettingSpec(
        "moderation.flags_per_hour",
        lambda: str(_l("Reports per account per hour")),
        20,
        minimum=1,
        maximum=1000,
    )
)
DUPLICATE_HOURS = register_setting(
    SettingSpec(
        "moderation.duplicate_window_hours",
        lambda: str(_l("Identical comments refused within (hours)")),
        24,
        minimum=0,
        maximum=24 * 30,
    )
)
SETTINGS = (
    FLAG_THRESHOLD,
    PREMODERATION,
    PREMODERATION_DAYS,
    PREMODERATION_APPROVED,
    COMMENT_RATE,
    FLAG_RATE,
    DUPLICATE_HOURS,
)

# Moderators and admins are trusted with the queue; their own comments are never held.
TRUSTED_ROLES = frozenset({"moderator", "admin"})


@dataclass(frozen=True)
class Restriction:
    kind: str  # "suspended" | "banned"
    reason: str
    until: datetime | None  # None: permanent

    def describe(self) -> str:
        """A sentence for the user: what, until when, why."""
        if self.until is None:
            return _("Your account is banned: %(reason)s", reason=self.reason)
        return _(
            "Your account is suspended until %(until)s: %(reason)s",
            until=format_datetime(self.until, "medium"),
            reason=self.reason,
        )


SANCTIONED = "moderation.sanctioned"


class RestrictedAccountError(CivicforumError):
    """Your account may read but not take part."""

    status_code = 403


def _in_force(user_id: Any) -> Any:
    return and_(
        Sanction.user_id == user_id,
        Sanction.kind.in_([SanctionKind.SUSPEND, SanctionKind.BAN]),
        Sanction.lifted_at.is_(None),
        or_(Sanction.ends_at.is_(None), Sanction.ends_at > bindparam("now")),
    )


# Built once, and only the three columns a restriction needs (no ORM objects).
_ACTIVE_SANCTION = (
    select(Sanction.kind, Sanction.reason, Sanction.ends_at)
    .where(_in_force(bindparam("user_id")))
    # A ban outranks any suspension; among suspensions the one ending last applies.
    .order_by((Sanction.kind == SanctionKind.BAN).desc(), Sanction.ends_at.desc())
    .limit(1)
)


def sanctioned_fact() -> Any:
    """Whether the user has a sanction in force: loaded with the signed-in user on every
    request (accounts.facts), so the common case, no sanction, costs no query of its own."""
    from civicforum.accounts.models import User

    return exists().where(_in_force(User.id))


def active_restriction(session: Session, user: Any) -> Restriction | None:
    """The sanction that currently stops `user` from posting, flagging, supporting or voting."""
    if user is None or not getattr(user, "is_authenticated", False) or user.id is None:
        return None
    if facts.get(user, SANCTIONED) is False:  # loaded with the user for this request
        return None
    sanction = session.execute(_ACTIVE_SANCTION, {"user_id": user.id, "now": utcnow()}).first()
    if sanction is None:
        return None
    kind = "banned" if sanction.kind == SanctionKind.BAN else "suspended"
    return Restriction(kind=kind, reason=sanction.reason, until=sanction.ends_at)


def ensure_can_participate(session: Session, user: Any) -> None:
    """Raise RestrictedAccountError (403, with reason and end date) if the user is sanctioned."""
    restriction = active_restriction(session, user)
    if restriction is not None:
        raise RestrictedAccountError(restriction.describe())


def needs_premoderation(session: Session, user: Any) -> bool:
    """True when a new comment by `user` must wait for a moderator before others see it."""
    mode = get_setting(session, PREMODERATION.key)
    if mode == "off" or TRUSTED_ROLES & set(getattr(user, "active_role_names", ())):
        return False
    if mode == "all":
        return True
    days = int(get_setting(session, PREMODERATION_DAYS.key))
    if user.created_at > utcnow() - timedelta(days=days):
        return True
    from civicforum.moderation import queries

    needed = int(get_setting(session, PREMODERATION_APPROVED.key))
    return needed > 0 and queries.approved_comment_count(session, user.id) < needed


def check_comment_rate(session: Session, user: Any) -> None:
    """Raise RateLimitedError (429) when `user` posted too many comments in 10 minutes."""
    from civicforum.moderation import queries

    limit = int(get_setting(session, COMMENT_RATE.key))
    since = utcnow() - timedelta(minutes=10)
    if queries.comments_since(session, user.id, since) >= limit:
        raise RateLimitedError(
            _(
                "You have posted %(n)s comments in the last 10 minutes, the most allowed. "
                "Please wait a few minutes before posting again.",
                n=limit,
            )
        )


def check_flag_rate(session: Session, user: Any) -> None:
    """Raise RateLimitedError (429) when `user` sent too many reports in the last hour."""
    limit = int(get_setting(session, FLAG_RATE.key))
    since = utcnow() - timedelta(hours=1)
    count = session.scalar(
        select(func.count())
        .select_from(ModerationFlag)
        .where(ModerationFlag.flagger_id == user.id, ModerationFlag.created_at >= since)
    )
    if (count or 0) >= limit:
        raise RateLimitedError(
            _(
                "You have sent %(n)s reports in the last hour, the most allowed. "
                "Moderators will look at them; please try again later.",
                n=limit,
            )
        )


_SPACE = re.compile(r"\s+")


def normalise_text(body: str) -> str:
    """Compare texts ignoring case, Unicode form and runs of white space."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", body)).strip().casefold()


def ensure_not_duplicate(session: Session, user: Any, body: str) -> None:
    """Raise DuplicateCommentError (409) if `user` recently posted the same text anywhere."""
    from civicforum.moderation import queries

    hours = int(get_setting(session, DUPLICATE_HOURS.key))
    wanted = normalise_text(body)
    if hours == 0 or not wanted:
        return
    since = utcnow() - timedelta(hours=hours)
    for previous in queries.recent_comment_bodies(session, user.id, since):
        if normalise_text(previous) == wanted:
            raise DuplicateCommentError(
                _("You have already posted this text. Please write something new.")
            )
