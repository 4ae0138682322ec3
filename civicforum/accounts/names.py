"""Display names that cannot pass for staff (issue #14 item 7).

"Ada Admin", a Cyrillic look-alike "Аda Admin" and "Morgan Moderator" were accepted, and a
name is what readers see next to a comment. Role words, and the names of the members who
hold a staff role, are now reserved by their confusable skeleton (Unicode UTS #39, from ICU's
SpoofChecker through PyICU: the reference implementation, kept current with Unicode's
confusables data, rather than a hand list of look-alikes). Two texts whose skeletons are equal
look alike. Staff are shown by a badge drawn from their roles (`staff_badges`), never by
their name.
"""

from __future__ import annotations

import re
import unicodedata

import icu
from flask import g, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicforum.accounts.models import PRIVILEGED_ROLES, Role, User, UserRole

# Role words in the site's languages (English, French) and what staff are called. Matched
# as whole words ("Badminton" is no "admin"), camelCase and digits included ("AdaAdm1n").
RESERVED_WORDS = (
    *sorted(str(r) for r in PRIVILEGED_ROLES),
    "administrator",
    "administrateur",
    "administratrice",
    "mod",
    "modérateur",
    "modératrice",
    "moderateur",
    "moderatrice",
    "auditeur",
    "auditrice",
    "staff",
    "official",
    "officiel",
    "civicforum",
)
# Shown as badges next to a staff member's name, in this order.
BADGE_ROLES = (Role.ADMIN, Role.MODERATOR, Role.AUDITOR)

_WORD = re.compile(r"[^\W_]+")

Skeletons = tuple[str, str]


def skeletons(text: str) -> Skeletons:
    """The UTS #39 skeletons of `text` in lower and in upper case: the skeleton is
    case-sensitive ("m" reads as "rn", "I" as "l"), and a look-alike may use either case."""
    checker = icu.SpoofChecker()
    return checker.getSkeleton(0, text.casefold()), checker.getSkeleton(0, text.upper())


def _alike(a: Skeletons, b: Skeletons) -> bool:
    return a[0] == b[0] or a[1] == b[1]


def words(name: str) -> list[str]:
    """The words of a name: runs of letters and digits, split at camelCase humps."""
    found = []
    for run in _WORD.findall(unicodedata.normalize("NFKC", name)):
        start = 0
        for i in range(1, len(run)):
            if run[i].isupper() and run[i - 1].islower():
                found.append(run[start:i])
                start = i
        found.append(run[start:])
    return found


def reserved_word_in(name: str) -> str | None:
    """The role word a name contains or imitates, if any."""
    reserved = [(word, skeletons(word)) for word in RESERVED_WORDS]
    for word in words(name):
        mine = skeletons(word)
        for role_word, theirs in reserved:
            if _alike(mine, theirs):
                return role_word
    return None


def imitates_staff(session: Session, name: str, *, user_id: int | None = None) -> bool:
    """True when `name` looks like the name of a member with a staff role (other than
    `user_id`): the same skeleton once spaces and punctuation are left out."""
    mine = skeletons("".join(words(name)))
    staff = session.execute(
        select(User.id, User.display_name)
        .where(User.roles.any(UserRole.role.in_([str(r) for r in PRIVILEGED_ROLES])))
        .where(User.id != (user_id or 0))
    )
    return any(_alike(mine, skeletons("".join(words(theirs)))) for _uid, theirs in staff)


def staff_badges(session: Session, user: object) -> tuple[str, ...]:
    """The staff roles of `user` to show beside their name: from their roles, never their
    name. One query per request for all staff (a few rows), however many names a page shows."""
    staff: dict[int, set[str]] | None = g.get("civicforum_staff") if has_app_context() else None
    if staff is None:
        staff = {}
        rows = session.execute(
            select(UserRole.user_id, UserRole.role).where(
                UserRole.role.in_([str(r) for r in BADGE_ROLES])
            )
        )
        for uid, role in rows:
            staff.setdefault(uid, set()).add(role)
        if has_app_context():
            g.civicforum_staff = staff
    held = staff.get(getattr(user, "id", None) or 0, set())
    return tuple(str(r) for r in BADGE_ROLES if str(r) in held)
