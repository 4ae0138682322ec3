"""Account services against the database (both backends), plus session stores and mail."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from civicforum.accounts import services
from civicforum.accounts.errors import (
    FieldError,
    InvalidCodeError,
    InvalidTokenError,
    LastAdminError,
)
from civicforum.accounts.models import RecoveryCode, Role, RollEntry
from civicforum.db import utcnow
from tests.factories import TEST_TOTP_SECRET, make_user


def test_password_policy(app: Flask) -> None:
    with app.test_request_context():
        services.check_password_policy("x" * 12, email="a@b.test", display_name="Ann")
        services.check_password_policy("é" * 64 + " ", email="a@b.test", display_name="Ann")
        # too short; the email; the display name; a breached password (in zxcvbn's list)
        for bad in ("x" * 11, " A@B.test ", "Ann Annabel Lee", "QwertY123456"):
            with pytest.raises(FieldError) as err:
                services.check_password_policy(
                    bad, email="a@b.test", display_name="Ann Annabel Lee"
                )
            assert err.value.field == "password"


def test_register_refuses_duplicate_email_case_insensitively(app: Flask, db_session: Any) -> None:
    make_user(db_session, email="dup@example.test")
    with app.test_request_context(), pytest.raises(FieldError) as err:
        services.register_user(
            db_session, email=" DUP@example.TEST", display_name="Dupe", password="long enough pass"
        )
    assert err.value.field == "email"


def test_email_uniqueness_is_enforced_by_the_database(db_session: Any) -> None:
    make_user(db_session, email="unique@example.test")
    with pytest.raises(IntegrityError):
        make_user(db_session, email="unique@example.test")


def test_reset_token_is_single_use(app: Flask, db_session: Any) -> None:
    user = make_user(db_session)
    with app.test_request_context():
        token = services.reset_token(user)
        version = user.session_version
        services.reset_password(db_session, token=token, password="first new password")
        assert user.session_version == version + 1
        with pytest.raises(InvalidTokenError):
            services.reset_password(db_session, token=token, password="second new password")


def test_totp_step_is_accepted_once_and_drift_is_bounded(app: Flask, db_session: Any) -> None:
    user = make_user(db_session, totp=True)
    totp = pyotp.TOTP(TEST_TOTP_SECRET)
    now = utcnow()
    with app.test_request_context():
        assert services.check_second_factor(db_session, user=user, code=totp.at(now))
        assert not services.check_second_factor(db_session, user=user, code=totp.at(now))
        # The previous step is older than the one just used: a replay, refused.
        assert not services.check_second_factor(
            db_session, user=user, code=totp.at(now - timedelta(seconds=30))
        )
        assert services.check_second_factor(
            db_session, user=user, code=totp.at(now + timedelta(seconds=30))
        )
        far = totp.at(now + timedelta(minutes=5))
        assert not services.check_second_factor(db_session, user=user, code=far)


def test_enable_totp_stores_hashed_recovery_codes_that_work_once(
    app: Flask, db_session: Any
) -> None:
    user = make_user(db_session, totp=False)
    secret = services.new_totp_secret()
    with app.test_request_context():
        with pytest.raises(InvalidCodeError):
            services.enable_totp(db_session, user=user, secret=secret, code="000000x")
        codes = services.enable_totp(
            db_session, user=user, secret=secret, code=pyotp.TOTP(secret).now()
        )
        stored = db_session.scalars(
            select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)
        ).all()
        assert len(codes) == len(stored) == 10
        assert not set(codes) & set(stored)
        assert services.check_second_factor(db_session, user=user, code=codes[0])
        assert not services.check_second_factor(db_session, user=user, code=codes[0])
        assert services.remaining_recovery_codes(db_session, user=user) == 9


def test_last_admin_keeps_the_role_but_one_of_two_can_go(db_session: Any) -> None:
    admin = make_user(db_session, roles=(Role.ADMIN,))
    with pytest.raises(LastAdminError):
        services.revoke_role(db_session, actor=admin, user=admin, role=Role.ADMIN)
    other = make_user(db_session, roles=(Role.CITIZEN,))
    assert services.grant_role(db_session, actor=admin, user=other, role=Role.ADMIN)
    assert not services.grant_role(db_session, actor=admin, user=other, role=Role.ADMIN)
    assert services.revoke_role(db_session, actor=admin, user=admin, role=Role.ADMIN)
    assert not admin.has_role(Role.ADMIN)


def test_roll_hashes_are_keyed_normalised_and_claimable_once(app: Flask, db_session: Any) -> None:
    admin = make_user(db_session, roles=(Role.ADMIN,))
    a, b = make_user(db_session), make_user(db_session)
    with app.test_request_context():
        result = services.import_roll(
            db_session, actor=admin, identifiers=["  ABC-1", "abc-1 ", "X"]
        )
        assert (result.added, result.already_present) == (2, 0)
        again = services.import_roll(db_session, actor=admin, identifiers=["abc-1", "Y"])
        assert (again.added, again.already_present) == (1, 1)
        assert services.roll_hash("ABC-1") == services.roll_hash(" abc-1")
        import hashlib

        assert services.roll_hash("abc-1") != hashlib.sha256(b"abc-1").hexdigest()
        services.claim_roll_identifier(db_session, user=a, identifier="Abc-1")
        assert a.is_roll_verified
        with pytest.raises(FieldError):
            services.claim_roll_identifier(db_session, user=b, identifier="abc-1")
        assert not b.is_roll_verified


def test_roll_claim_uniqueness_is_enforced_by_the_database(db_session: Any) -> None:
    a = make_user(db_session)
    db_session.add(RollEntry(keyed_hash="1" * 64, claimed_by_id=a.id))
    db_session.flush()
    db_session.add(RollEntry(keyed_hash="2" * 64, claimed_by_id=a.id))
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_search_users_paginates(db_session: Any) -> None:
    for n in range(7):
        make_user(db_session, email=f"page{n}@paginate.test", display_name=f"Pager {n}")
    page = services.search_users(db_session, query="paginate.test", page=2, per_page=3)
    assert (page.total, page.pages, page.has_prev, page.has_next) == (7, 3, True, True)
    assert [u.email for u in page.items] == [f"page{n}@paginate.test" for n in (3, 4, 5)]
    assert services.search_users(db_session, query="Pager 6").total == 1
    assert (
        services.search_users(db_session, query="%").total
        == services.search_users(db_session).total
    )


def test_demo_seed_creates_documented_accounts(app: Flask, db_session: Any) -> None:
    from civicforum.accounts import demo

    with app.test_request_context():
        demo.seed(db_session)
        demo.seed(db_session)  # idempotent
        for spec in demo.ACCOUNTS:
            user = services.authenticate(db_session, email=spec.email, password=spec.password)
            assert user is not None and user.role_names == {str(r) for r in spec.roles}
            assert user.is_email_verified
            assert (user.totp_secret == spec.totp_secret) and (
                user.has_totp == bool(spec.totp_secret)
            )
            assert user.is_roll_verified == bool(spec.roll_identifier)
        admin = demo.demo_user(db_session, "admin")
        assert services.check_second_factor(db_session, user=admin, code=demo.DEMO_RECOVERY)


# --- session stores ---------------------------------------------------------------------


def _exercise_store(store: Any) -> None:
    from civicforum.accounts.sessions import hash_token

    user_id = 10_000 + secrets.randbelow(10_000)
    expires = utcnow() + timedelta(hours=1)
    sids = [hash_token(secrets.token_urlsafe(32)) for _ in range(3)]
    for sid in sids:
        store.save(
            sid,
            {"_user_id": str(user_id)},
            user_id=user_id,
            expires=expires,
            ip="192.0.2.1",
            agent="UA",
        )
    loaded = store.load(sids[0])
    assert loaded is not None and loaded[0] == {"_user_id": str(user_id)}
    assert loaded[1].ip_address == "192.0.2.1"
    assert {s.id for s in store.list_for_user(user_id)} == set(sids)
    store.delete(sids[0])
    assert store.load(sids[0]) is None
    assert store.delete_for_user(user_id, except_sid=sids[1]) == 1
    assert [s.id for s in store.list_for_user(user_id)] == [sids[1]]
    store.delete_for_user(user_id)
    assert store.list_for_user(user_id) == []


def test_sql_session_store(app: Flask, db_session: Any) -> None:
    from civicforum.accounts.sessions import SqlSessionStore, hash_token

    user = make_user(db_session)
    store = SqlSessionStore()

    sid = hash_token("token-for-sql-store")
    store.save(
        sid, {"a": 1}, user_id=user.id, expires=utcnow() + timedelta(hours=1), ip=None, agent=None
    )
    assert store.load(sid) is not None and [s.id for s in store.list_for_user(user.id)] == [sid]
    assert store.delete_for_user(user.id) == 1 and store.load(sid) is None


def _redis_url() -> str:
    url = os.environ.get("CIVICFORUM_TEST_REDIS_URL", "")
    if not url:
        pytest.skip("Redis session store not tested: CIVICFORUM_TEST_REDIS_URL is not set")
    return url


def test_redis_session_store() -> None:
    from civicforum.accounts.sessions import RedisSessionStore

    _exercise_store(
        RedisSessionStore(_redis_url(), prefix=f"civicforum-test-{secrets.token_hex(4)}:")
    )


def test_sessions_purge_command_deletes_only_expired_records(app: Flask, db_session: Any) -> None:
    from datetime import timedelta

    from sqlalchemy import func, select

    from civicforum.accounts.cli import sessions_cli
    from civicforum.accounts.models import UserSession
    from civicforum.db import utcnow

    now = utcnow()
    db_session.add_all(
        [
            UserSession(id="a" * 64, expires_at=now - timedelta(minutes=1)),
            UserSession(id="b" * 64, expires_at=now + timedelta(days=1)),
        ]
    )
    db_session.commit()
    result = app.test_cli_runner().invoke(sessions_cli, ["purge"])
    assert result.exit_code == 0 and "1 expired" in result.output
    assert db_session.scalars(select(UserSession.id)).all() == ["b" * 64]
    assert db_session.scalar(select(func.count()).select_from(UserSession)) == 1
