"""db.OnDriver: a Core statement run on the driver (PostgreSQL) gives what SQLAlchemy gives;
accounts.facts builds the signed-in user from such a row without a query of its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, inspect, select, text, update
from sqlalchemy.exc import IntegrityError, StatementError

from civicforum.accounts import facts
from civicforum.accounts.models import Role, User, UserRole
from civicforum.db import OnDriver
from tests.factories import make_user


def test_rows_are_what_sqlalchemy_returns_with_utc_datetimes(db_session: Any) -> None:
    user = make_user(db_session)
    stmt = select(User.id, User.email, User.created_at).where(User.id == bindparam("id"))
    rows = OnDriver(stmt).rows(db_session, {"id": user.id})
    assert [tuple(r) for r in rows] == [tuple(r) for r in db_session.execute(stmt, {"id": user.id})]
    assert rows[0][2].tzinfo == UTC


def test_values_go_through_the_column_types(db_session: Any) -> None:
    user = make_user(db_session)
    stmt = OnDriver(
        update(User).where(User.id == bindparam("uid")).values(email_verified_at=bindparam("at"))
    )
    with pytest.raises((ValueError, StatementError), match="naive"):  # UTCDateTime's own check ran
        stmt.rows(db_session, {"uid": user.id, "at": datetime(2026, 1, 1)})
    at = datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(microseconds=5)
    assert stmt.rows(db_session, {"uid": user.id, "at": at}) == []
    db_session.expire_all()
    assert db_session.get(User, user.id).email_verified_at == at


def test_an_in_list_fixed_in_the_statement_is_expanded(db_session: Any) -> None:
    a, b, _c = (make_user(db_session) for _ in range(3))
    stmt = select(User.id).where(User.email.in_([a.email, b.email]), User.id > bindparam("after"))
    rows = OnDriver(stmt.order_by(User.id)).rows(db_session, {"after": 0})
    assert [r[0] for r in rows] == [a.id, b.id]


def test_a_refused_statement_raises_sqlalchemys_error(db_session: Any) -> None:
    user = make_user(db_session, roles=(Role.CITIZEN,))
    again = insert(UserRole).values(
        user_id=bindparam("u"), role="citizen", granted_at=bindparam("at")
    )
    savepoint = db_session.begin_nested()
    with pytest.raises(IntegrityError):  # what the views catch, not the driver's own class
        OnDriver(again).rows(db_session, {"u": user.id, "at": datetime.now(UTC)})
    savepoint.rollback()
    assert db_session.get(User, user.id) is not None  # the transaction goes on


def test_what_the_driver_path_cannot_do_is_refused_when_compiled(app: Any) -> None:
    from sqlalchemy.dialects.postgresql import psycopg as pg_dialect

    from civicforum.deliberation.models import Comment

    dialect = pg_dialect.dialect()
    per_execution = select(User.id).where(User.id.in_(bindparam("ids", expanding=True)))
    with pytest.raises(ValueError, match="per execution"):
        OnDriver(per_execution)._compile(dialect, {"ids": [1, 2]})
    # The page cache learns of writes to the tables it watches through connection events,
    # which the driver path skips.
    hide = update(Comment).where(Comment.id == bindparam("cid")).values(body_html="x")
    with pytest.raises(ValueError, match="listeners watch"):
        OnDriver(hide)._compile(dialect, {})
    with pytest.raises(ValueError, match="listeners watch"):
        OnDriver(text("DELETE FROM comments WHERE id = :cid"))._compile(dialect, {})
    # Python-side defaults are computed by SQLAlchemy's execution, which the driver skips.
    with pytest.raises(ValueError, match="defaults"):
        OnDriver(insert(User).values(email=bindparam("e")))._compile(dialect, {})
    assert OnDriver(select(Comment.id))._compile(dialect, {}).sql  # reading them is fine


def test_the_loaded_user_is_persistent_and_its_roles_come_with_it(
    app: Any, db_session: Any
) -> None:
    user_id = make_user(db_session, roles=(Role.CITIZEN, Role.MODERATOR)).id
    db_session.commit()
    db_session.expunge_all()
    with app.test_request_context("/"):
        user = facts.load_user(db_session, user_id)
        assert user is not None and inspect(user).persistent
        assert "roles" not in user.__dict__  # not loaded: the names came in the same row
        assert user.role_names == {"citizen", "moderator"}
        user.display_name = "Renamed"  # tracked like any loaded object
        user.roles.append(UserRole(role=Role.ADMIN.value))  # loads the collection first
        db_session.flush()
        assert user.role_names == {"citizen", "moderator", "admin"}
        assert facts.load_user(db_session, user_id) is user  # the identity map's object
    db_session.expire_all()
    again = db_session.get(User, user_id)
    assert again.display_name == "Renamed" and again.has_role(Role.ADMIN)


def test_a_missing_user_loads_as_none(app: Any, db_session: Any) -> None:
    with app.test_request_context("/"):
        assert facts.load_user(db_session, 10**9) is None
