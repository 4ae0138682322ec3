"""Account services: they add and flush, the caller commits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyotp
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from civicforum.accounts import names, tokens
from civicforum.accounts.errors import (
    FieldError,
    InvalidCodeError,
    InvalidTokenError,
    LastAdminError,
    RollClaimError,
    TotpRequiredError,
)
from civicforum.accounts.models import (
    RecoveryCode,
    Role,
    RoleChange,
    RollEntry,
    User,
    UserRole,
)
from civicforum.accounts.passwords import (
    hash_password,
    is_common_password,
    needs_rehash,
    verify_password,
)
from civicforum.audit.services import record_event
from civicforum.db import utcnow
from civicforum.web.pagination import Page, paginate

MIN_PASSWORD_LENGTH = 12
RECOVERY_CODE_COUNT = 10


def _update_if(session: Session, user: User, condition: ColumnElement[bool], **values: Any) -> bool:
    """Store `values` in the user's row only if `condition` still holds there; the object
    gets the stored values. The one way to spend a one-time code (issue #14 item 2): of
    concurrent transactions, one wins; on PostgreSQL the others wait for its commit, then
    find the condition false (SQLite runs one writer at a time). A read, a check and an
    ORM write instead let six requests with one TOTP code open six sessions."""
    columns = [getattr(User, name) for name in values]
    row = session.execute(
        update(User)
        .where(User.id == user.id, condition)
        .values(**values)
        .returning(*columns)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        return False
    for name, value in zip(values, row, strict=True):
        set_committed_value(user, name, value)
    return True


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


# --- passwords and registration -----------------------------------------------------------


def check_password_policy(password: str, *, email: str, display_name: str) -> None:
    """Raise FieldError("password") unless the password meets the policy (no composition rules)."""
    # Compared as typed, never truncated or case-folded for verification (ASVS 6.2.8); the
    # equality check below folds case only to refuse trivial variants of the name or email.
    if len(password) < MIN_PASSWORD_LENGTH:
        raise FieldError(
            _("Use at least %(n)s characters.", n=MIN_PASSWORD_LENGTH), field="password"
        )
    folded = password.strip().casefold()
    if folded in {email.strip().casefold(), display_name.strip().casefold()}:
        raise FieldError(
            _("The password must not be your email or display name."), field="password"
        )
    if is_common_password(password):
        raise FieldError(
            _("This password appears in lists of breached passwords. Choose another one."),
            field="password",
        )


def check_display_name(session: Session, name: str, *, user: User | None = None) -> None:
    """Raise FieldError("display_name") for a name that reads as a staff role or imitates a
    staff member's name (by UTS #39 skeleton: look-alike letters count)."""
    word = names.reserved_word_in(name)
    if word is not None:
        raise FieldError(
            _(
                "Names that read as a staff role (“%(word)s”) are kept for nobody: staff are "
                "marked by a badge. Choose another name.",
                word=word,
            ),
            field="display_name",
        )
    if names.imitates_staff(session, name, user_id=user.id if user else None):
        raise FieldError(
            _("This name looks like the name of a staff member. Choose another one."),
            field="display_name",
        )


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


def register_user(session: Session, *, email: str, display_name: str, password: str) -> User:
    """Create a citizen account (email not yet verified); the caller commits and sends mail."""
    check_password_policy(password, email=email, display_name=display_name)
    check_display_name(session, display_name)
    if find_user_by_email(session, email) is not None:
        # Registration necessarily tells that an address is taken; login and reset never do.
        raise FieldError(_("An account with this email already exists."), field="email")
    user = create_user(session, email=email, display_name=display_name, password=password)
    record_event(session, "accounts:user:register", actor=user, subject=user)
    return user


def verification_token(user: User) -> str:
    return tokens.make_token(tokens.VERIFY_EMAIL, {"uid": user.id, "email": user.email})


def verify_email(session: Session, *, token: str) -> User:
    """Mark the email of the token's account verified, once; InvalidTokenError otherwise
    (a used link too)."""
    payload = tokens.read_token(tokens.VERIFY_EMAIL, token, max_age=tokens.verify_max_age())
    user = session.get(User, payload.get("uid"))
    if user is None or user.email != payload.get("email"):
        raise InvalidTokenError()
    if not _update_if(session, user, User.email_verified_at.is_(None), email_verified_at=utcnow()):
        raise InvalidTokenError(_("This link was already used: your address is confirmed."))
    record_event(session, "accounts:email:verify", actor=user, subject=user)
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


def _set_password(session: Session, user: User, password: str, kind: str) -> bool:
    """Replace the password the caller checked; False if another request replaced it since
    (two uses of one reset link at once: only one wins)."""
    check_password_policy(password, email=user.email, display_name=user.display_name)
    if not _update_if(
        session,
        user,
        User.password_hash == user.password_hash,
        password_hash=hash_password(password),
        # Every other session of this user stops working (load_user compares the version).
        session_version=User.session_version + 1,
    ):
        return False
    record_event(session, kind, actor=user, subject=user)
    return True


def reset_token(user: User) -> str:
    return tokens.make_token(
        tokens.RESET_PASSWORD,
        {"uid": user.id, "ph": tokens.password_fragment(user.password_hash)},
    )


def user_for_reset_token(session: Session, *, token: str) -> User:
    """The account a reset token is for, if it is valid, unexpired and unused."""
    payload = tokens.read_token(tokens.RESET_PASSWORD, token, max_age=tokens.reset_max_age())
    user = session.get(User, payload.get("uid"))
    if user is None or not hmac.compare_digest(
        str(payload.get("ph", "")), tokens.password_fragment(user.password_hash)
    ):
        raise InvalidTokenError()
    return user


def reset_password(session: Session, *, token: str, password: str) -> User:
    """Set a new password from a reset link (which then stops working); the caller commits."""
    user = user_for_reset_token(session, token=token)
    if not _set_password(session, user, password, "accounts:password:reset"):
        raise InvalidTokenError()  # used by a request that committed meanwhile
    if user.email_verified_at is None:
        # The reset link arrived by mail, which proves the address.
        user.email_verified_at = utcnow()
    return user


def change_password(session: Session, *, user: User, current: str, new: str) -> None:
    """Change the password after checking the current one; bumps the session version."""
    if not verify_password(user.password_hash, current) or not _set_password(
        session, user, new, "accounts:password:change"
    ):
        raise FieldError(_("The current password is not correct."), field="current_password")


def end_all_sessions(session: Session, *, user: User, actor: User | None = None) -> None:
    """Invalidate every session of the user ("log out everywhere", or an admin ending them:
    `actor`); the caller commits, then deletes the stored sessions."""
    user.session_version += 1
    record_event(session, "accounts:session:end-all", actor=actor or user, subject=user)


def update_settings(
    session: Session,
    *,
    user: User,
    display_name: str,
    locale: str | None,
    timezone: str | None,
    notify_email_digest: bool,
) -> None:
    """Store the account settings; the caller commits. FieldError for a reserved name."""
    if display_name.strip() != user.display_name:
        check_display_name(session, display_name.strip(), user=user)
    changed = {}
    for field, value in (
        ("display_name", display_name.strip()),
        ("locale", locale or None),
        ("timezone", timezone or None),
        ("notify_email_digest", bool(notify_email_digest)),
    ):
        if getattr(user, field) != value:
            changed[field] = value
            setattr(user, field, value)
    if changed:
        record_event(
            session,
            "accounts:settings:change",
            actor=user,
            subject=user,
            data={"fields": sorted(changed)},
        )


# --- two-factor authentication ------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32(32)  # 160 bits, RFC 4226's recommended key length


def totp_uri(user: User, secret: str) -> str:
    issuer = str(current_app.config.get("SITE_NAME", "civicforum"))
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def _matching_step(secret: str, code: str) -> int | None:
    """The time step whose code equals `code` (now, or one step either side for clock drift)."""
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(utcnow())
    for step in (now_step, now_step - 1, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _accept_totp(session: Session, user: User, secret: str, code: str) -> bool:
    step = _matching_step(secret, code)
    # RFC 6238 §5.2: a code is accepted once; anything at or before the last step is a replay.
    return step is not None and _update_if(
        session,
        user,
        or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        totp_last_step=step,
    )


def recovery_code_hash(code: str) -> str:
    return hashlib.sha256(_clean_code(code).encode()).hexdigest()


def _clean_code(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def _new_recovery_codes(session: Session, user: User) -> list[str]:
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = []
    for _n in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(alphabet) for _i in range(16))  # ~79 bits
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
        session.add(RecoveryCode(user_id=user.id, code_hash=recovery_code_hash(codes[-1])))
    return codes


def enable_totp(session: Session, *, user: User, secret: str, code: str) -> list[str]:
    """Turn on 2FA after a correct code; returns the recovery codes (shown once, stored hashed)."""
    if not _accept_totp(session, user, secret, code.strip().replace(" ", "")):
        raise InvalidCodeError()
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    codes = _new_recovery_codes(session, user)
    record_event(session, "accounts:totp:enable", actor=user, subject=user)
    return codes


def regenerate_recovery_codes(session: Session, *, user: User, code: str) -> list[str]:
    """Replace the recovery codes after a valid second factor; the caller commits."""
    if not check_second_factor(session, user=user, code=code):
        raise InvalidCodeError()
    codes = _new_recovery_codes(session, user)
    record_event(session, "accounts:totp:recovery-codes", actor=user, subject=user)
    return codes


def check_second_factor(session: Session, *, user: User, code: str) -> bool:
    """True for a fresh TOTP code or an unused recovery code (which is then used up)."""
    if not user.totp_secret or not user.has_totp:
        return False
    cleaned = code.strip().replace(" ", "")
    if cleaned.isdigit() and len(cleaned) == 6:
        return _accept_totp(session, user, user.totp_secret, cleaned)
    if len(_clean_code(code)) != 16:
        return False
    # Spent by a conditional UPDATE, like a TOTP step (see _update_if): one request wins.
    spent = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == recovery_code_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not spent.rowcount:  # type: ignore[attr-defined]
        return False
    record_event(session, "accounts:totp:recovery-code-used", actor=user, subject=user)
    return True


def remaining_recovery_codes(session: Session, *, user: User) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def disable_totp(session: Session, *, user: User, password: str, code: str) -> None:
    """Turn off 2FA (password and a second factor needed); refused for privileged roles."""
    if user.is_privileged:
        raise TotpRequiredError()
    if not verify_password(user.password_hash, password):
        raise FieldError(_("The password is not correct."), field="password")
    if not check_second_factor(session, user=user, code=code):
        raise FieldError(str(InvalidCodeError().message), field="code")
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    record_event(session, "accounts:totp:disable", actor=user, subject=user)


# --- roles --------------------------------------------------------------------------------


def search_users(
    session: Session, *, query: str = "", role: str = "", page: int = 1, per_page: int = 25
) -> Page:
    """Users whose email or display name contains `query`, optionally holding `role`."""
    stmt = select(User).order_by(User.id)
    if query.strip():
        like = f"%{query.strip().lower().replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(User.email.like(like), func.lower(User.display_name).like(like)))
    if role in {str(r) for r in Role}:
        stmt = stmt.where(User.roles.any(UserRole.role == role))
    return paginate(session, stmt, page=page, per_page=per_page)


def role_history(session: Session, *, user: User) -> list[RoleChange]:
    return list(
        session.scalars(
            select(RoleChange)
            .where(RoleChange.user_id == user.id)
            .order_by(RoleChange.at.desc(), RoleChange.id.desc())
        )
    )


def _count_admins(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(UserRole).where(UserRole.role == str(Role.ADMIN))
        )
        or 0
    )


def grant_role(session: Session, *, actor: User | None, user: User, role: Role) -> bool:
    """Give `user` the role (recorded in RoleChange and audit); False if already held."""
    if str(role) in user.role_names:  # granted, whether or not she acts with it now
        return False
    user.roles.append(UserRole(role=str(role)))
    session.add(
        RoleChange(
            actor_id=actor.id if actor else None, user_id=user.id, role=str(role), action="grant"
        )
    )
    record_event(
        session, "accounts:role:grant", actor=actor, subject=user, data={"role": str(role)}
    )
    return True


def revoke_role(session: Session, *, actor: User | None, user: User, role: Role) -> bool:
    """Take the role away (recorded); the last admin keeps theirs. False if not held."""
    held = next((r for r in user.roles if r.role == str(role)), None)
    if held is None:
        return False
    if role is Role.ADMIN and _count_admins(session) <= 1:
        raise LastAdminError()
    user.roles.remove(held)
    session.add(
        RoleChange(
            actor_id=actor.id if actor else None, user_id=user.id, role=str(role), action="revoke"
        )
    )
    record_event(
        session, "accounts:role:revoke", actor=actor, subject=user, data={"role": str(role)}
    )
    return True


# --- voter roll ---------------------------------------------------------------------------


def normalise_identifier(identifier: str) -> str:
    return identifier.strip().casefold()


def roll_key() -> bytes:
    """The HMAC key for roll identifiers: ROLL_KEY if set, else derived from the secret key.

    Derived rather than kept in an instance file so every instance sharing the secret key
    computes the same hashes. Rotating the secret key means importing the roll again.
    """
    configured = current_app.config.get("ROLL_KEY")
    if configured:
        return str(configured).encode()
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"civicforum voter roll key v1", hashlib.sha256).digest()


def roll_hash(identifier: str) -> str:
    return hmac.new(
        roll_key(), normalise_identifier(identifier).encode(), hashlib.sha256
    ).hexdigest()


@dataclass(frozen=True)
class RollImport:
    added: int
    already_present: int


def import_roll(session: Session, *, actor: User, identifiers: Iterable[str]) -> RollImport:
    """Add identifiers (stored only as keyed hashes); existing ones are kept as they are."""
    hashes = {roll_hash(i) for i in identifiers if normalise_identifier(i)}
    existing: set[str] = set()
    chunk = sorted(hashes)
    for start in range(0, len(chunk), 500):
        existing.update(
            session.scalars(
                select(RollEntry.keyed_hash).where(
                    RollEntry.keyed_hash.in_(chunk[start : start + 500])
                )
            )
        )
    new = hashes - existing
    session.add_all(RollEntry(keyed_hash=h) for h in sorted(new))
    result = RollImport(added=len(new), already_present=len(existing))
    record_event(
        session,
        "accounts:roll:import",
        actor=actor,
        data={"added": result.added, "already_present": result.already_present},
    )
    return result


def roll_summary(session: Session) -> tuple[int, int]:
    """(entries on the roll, entries claimed)."""
    total = session.scalar(select(func.count()).select_from(RollEntry)) or 0
    claimed = (
        session.scalar(
            select(func.count()).select_from(RollEntry).where(RollEntry.claimed_by_id.is_not(None))
        )
        or 0
    )
    return int(total), int(claimed)


def claim_roll_identifier(session: Session, *, user: User, identifier: str) -> None:
    """Prove roll membership: the identifier must be on the roll and claimed by nobody else."""
    if user.is_roll_verified:
        raise RollClaimError(_("Your account is already verified against the roll."))
    entry = session.scalar(select(RollEntry).where(RollEntry.keyed_hash == roll_hash(identifier)))
    if entry is None:
        raise FieldError(_("This identifier is not on the roll."), field="identifier")
    if entry.claimed_by_id is not None:
        raise FieldError(
            _(
                "This identifier was already claimed by another account. "
                "Contact the administrators."
            ),
            field="identifier",
        )
    entry.claimed_by_id = user.id
    entry.claimed_at = user.roll_verified_at = utcnow()
    session.flush()  # the unique constraint settles a race between two claims here
    record_event(session, "accounts:roll:claim", actor=user, subject=user)
