"""TOTP secrets are sealed at rest: the column never holds the secret itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from civicforum.accounts import sealing
from tests.conftest import make_test_app
from tests.factories import TEST_TOTP_SECRET, make_user


def test_the_column_holds_ciphertext_and_the_model_the_secret(db_session: Any) -> None:
    user = make_user(db_session, totp=True)
    db_session.flush()
    stored = db_session.scalar(text("SELECT totp_secret FROM users WHERE id = :i"), {"i": user.id})
    assert stored.startswith("f1:") and TEST_TOTP_SECRET not in stored
    db_session.expire(user)
    assert user.totp_secret == TEST_TOTP_SECRET


def test_another_key_cannot_open_them_and_says_what_to_do(app: Any, db_session: Any) -> None:
    user = make_user(db_session, totp=True)
    app.config["TOTP_KEY"] = "a different key than the one that sealed it"
    try:
        with pytest.raises(sealing.SealError, match="CIVICFORUM_TOTP_KEY"):
            _ = user.totp_secret
    finally:
        del app.config["TOTP_KEY"]


def test_the_migration_seals_existing_secrets_and_the_downgrade_opens_them(
    tmp_path: Path,
) -> None:
    import flask_migrate

    from civicforum.extensions import db

    app = make_test_app(f"sqlite:///{tmp_path / 'm.sqlite'}", tmp_path / "instance")
    with app.app_context():
        flask_migrate.upgrade(revision="0009")
        db.session.execute(
            text(
                "INSERT INTO users (email, display_name, handle, password_hash, created_at, "
                "session_version, notify_email_digest, totp_secret) VALUES ('a@example.test', "
                "'A', 'h-a', 'x', '2026-12-04 00:00:00', 1, 0, :s)"
            ),
            {"s": TEST_TOTP_SECRET},
        )
        db.session.commit()
        flask_migrate.upgrade(revision="0010")
        sealed = db.session.scalar(text("SELECT totp_secret FROM users"))
        assert sealed.startswith("f1:") and sealing.unseal(sealed) == TEST_TOTP_SECRET
        db.session.rollback()  # end the read: the downgrade writes from its own connection
        flask_migrate.downgrade(revision="0009")
        assert db.session.scalar(text("SELECT totp_secret FROM users")) == TEST_TOTP_SECRET
        db.session.remove()
        db.engine.dispose()
