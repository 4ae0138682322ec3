"""Demo accounts for `civicforum seed-demo` (development only; listed in the README).

The fixed TOTP secrets exist only here: real accounts always get a random secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicforum.accounts import services
from civicforum.accounts.models import RecoveryCode, Role, RollEntry, User
from civicforum.db import utcnow

DOMAIN = "demo.civicforum.test"
# One documented recovery code for each demo account with two-factor authentication.
DEMO_RECOVERY = "demo-code-demo-code"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    display_name: str
    password: str
    roles: tuple[Role, ...]
    totp_secret: str | None = None
    roll_identifier: str | None = None


ACCOUNTS = (
    DemoAccount(
        f"citizen@{DOMAIN}",
        "Camille Citizen",
        "demo-citizen-password",
        (Role.CITIZEN,),
        roll_identifier="DEMO-0001",
    ),
    DemoAccount(
        f"moderator@{DOMAIN}",
        "Morgan Moderator",
        "demo-moderator-password",
        (Role.CITIZEN, Role.MODERATOR),
        totp_secret="DEMOMODERATORTOTPSECRETAAAAAAAAA",
    ),
    DemoAccount(
        f"auditor@{DOMAIN}",
        "Avery Auditor",
        "demo-auditor-password",
        (Role.CITIZEN, Role.AUDITOR),
        totp_secret="DEMOAUDITORTOTPSECRETAAAAAAAAAAA",
    ),
    DemoAccount(
        f"admin@{DOMAIN}",
        "Ada Admin",
        "demo-admin-password",
        (Role.CITIZEN, Role.ADMIN),
        totp_secret="DEMOADMINTOTPSECRETAAAAAAAAAAAAA",
    ),
    # Extra citizens so other features' demo content has several authors and voters.
    DemoAccount(
        f"alice@{DOMAIN}",
        "Alice Example (demo citizen)",
        "demo-citizen-password",
        (Role.CITIZEN,),
        roll_identifier="DEMO-0002",
    ),
    DemoAccount(
        f"bob@{DOMAIN}",
        "Bob Example (demo citizen)",
        "demo-citizen-password",
        (Role.CITIZEN,),
        roll_identifier="DEMO-0003",
    ),
    DemoAccount(
        f"chloe@{DOMAIN}",
        "Chloe Example (demo citizen, not on the roll)",
        "demo-citizen-password",
        (Role.CITIZEN,),
    ),
)

# On the demo roll; DEMO-0004 to DEMO-0010 are left for trying the claim form.
ROLL_IDENTIFIERS = tuple(f"DEMO-{n:04d}" for n in range(1, 11))


# Demo members joined well before the demo ballots opened: a ballot's electorate is fixed at
# its opening time (ballots.electorate), so members verified "now" could not vote in them.
MEMBER_SINCE = timedelta(days=60)


def backdate_member(user: User) -> None:
    """Date the account, its verification, roll claim and roles as of MEMBER_SINCE ago."""
    since = utcnow() - MEMBER_SINCE
    user.created_at = since
    if user.email_verified_at is not None:
        user.email_verified_at = since
    if user.roll_verified_at is not None:
        user.roll_verified_at = since
    for role in user.roles:
        role.granted_at = since


def demo_user(session: Session, key: str) -> User:
    """A demo account by the part before the @ ("citizen", "alice", ...), for other seeders."""
    user = services.find_user_by_email(session, f"{key}@{DOMAIN}")
    if user is None:
        raise LookupError(f"demo account {key!r} does not exist; seed accounts first")
    return user


def seed(session: Session) -> None:
    """Create the demo accounts and roll (skipping ones that exist); the caller commits."""
    cfg = current_app.config
    if not (cfg.get("DEMO_MODE") or cfg.get("TESTING")):
        raise RuntimeError(
            "Demo accounts have published passwords; set CIVICFORUM_DEMO_MODE=true to seed them."
        )
    admin = None
    for spec in ACCOUNTS:
        if services.find_user_by_email(session, spec.email) is not None:
            continue
        user = services.create_user(
            session,
            email=spec.email,
            display_name=spec.display_name,
            password=spec.password,
            roles=spec.roles,
        )
        user.email_verified_at = utcnow()
        if spec.totp_secret:
            user.totp_secret = spec.totp_secret
            user.totp_enabled_at = utcnow()
            session.add(
                RecoveryCode(user_id=user.id, code_hash=services.recovery_code_hash(DEMO_RECOVERY))
            )
        if Role.ADMIN in spec.roles:
            admin = user
    if admin is None:
        admin = demo_user(session, "admin")
    if not session.scalar(select(func.count()).select_from(RollEntry)):
        services.import_roll(session, actor=admin, identifiers=ROLL_IDENTIFIERS)
        session.flush()  # the entries must exist before the claims below
        for spec in ACCOUNTS:
            if spec.roll_identifier:
                services.claim_roll_identifier(
                    session,
                    user=demo_user(session, spec.email.split("@")[0]),
                    identifier=spec.roll_identifier,
                )
    for spec in ACCOUNTS:
        backdate_member(demo_user(session, spec.email.split("@")[0]))
