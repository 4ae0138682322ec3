"""The signed-in user's load: the user, their role names and the facts about them that other
features need on most requests, in one statement (one round trip instead of one each).

A feature registers a boolean SQL expression correlated with ``users.id`` (it may use the
bind parameter ``now``); the user's load selects it beside the user (on PostgreSQL the SQL
session store reads the session record, the user and the facts in one statement), and the
feature reads the value back for this request with ``get``. A fact is only a shortcut: when
it is missing (the user was not loaded for this request, or outside a request) ``get``
returns None and the feature asks the database itself. Values live in ``flask.g``, so they
never outlive the request that loaded them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import g, has_app_context
from sqlalchemy import ColumnElement, Select, bindparam, func, inspect, select
from sqlalchemy.orm import Session, make_transient_to_detached

from civicforum.accounts.models import User, UserRole, UserSession
from civicforum.db import OnDriver, utcnow

_FACTS: dict[str, Callable[[], ColumnElement[bool]]] = {}
_statements: dict[str, OnDriver] = {}
# The user's columns by attribute name, in the order the statements select them.
_USER_ATTRS = [(prop.key, prop.columns[0]) for prop in inspect(User).column_attrs]
_USER_ID = [key for key, _column in _USER_ATTRS].index("id")


def register(name: str, expression: Callable[[], ColumnElement[bool]]) -> None:
    """Load ``expression()`` with every signed-in user as fact ``name`` (call at init_app)."""
    _FACTS[name] = expression
    _statements.clear()


def _user_select(*first: Any) -> Select[Any]:
    # Plain columns, not an ORM entity: the statement runs on the driver (db.OnDriver), and
    # the role names come as one aggregated string instead of a joined row per role.
    roles = (
        select(func.aggregate_strings(UserRole.role, ","))
        .where(UserRole.user_id == User.id)
        .scalar_subquery()
    )
    facts = [expression().label(name) for name, expression in _FACTS.items()]
    return select(*first, *(column for _key, column in _USER_ATTRS), roles, *facts)


def _user_statement() -> OnDriver:
    # Built once: it runs on every signed-in request.
    if "user" not in _statements:
        _statements["user"] = OnDriver(_user_select().where(User.id == bindparam("id")))
    return _statements["user"]


def _session_statement() -> OnDriver:
    if "session" not in _statements:
        table = UserSession.__table__
        _statements["session"] = OnDriver(
            _user_select(*table.c)
            .select_from(table)
            .outerjoin(User, User.id == table.c.user_id)
            .where(table.c.id == bindparam("sid"))
        )
    return _statements["session"]


def _user(session: Session, values: Sequence[Any]) -> User:
    """The session's User for a row of ``_user_select`` (user columns, role names, facts),
    made persistent without a query of its own; its fact values kept for this request."""
    width = len(_USER_ATTRS)
    user_id, roles = values[_USER_ID], values[width]
    key = inspect(User).identity_key_from_primary_key([user_id])
    user = session.identity_map.get(key)
    if user is None:
        user = User(**{k: v for (k, _c), v in zip(_USER_ATTRS, values[:width], strict=True)})
        make_transient_to_detached(user)  # as if loaded: no history, relationships unloaded
        session.add(user)
        user.preload_role_names(frozenset(roles.split(",")) if roles else frozenset())
    g.civicforum_user_facts = (user_id, dict(zip(_FACTS, values[width + 1 :], strict=True)))
    return user


def load_user(session: Session, user_id: int) -> User | None:
    """The user ``user_id`` (None if there is none), read with their roles and facts, unless
    the session store read them already for this request."""
    user = g.pop("civicforum_preloaded_user", None) if has_app_context() else None
    if user is not None and user.id == user_id:
        return user
    rows = _user_statement().rows(session, {"id": user_id, "now": utcnow()})
    return _user(session, rows[0]) if rows else None


def session_record(session: Session, sid: str) -> Sequence[Any] | None:
    """A session record's columns (in table order), reading its user, their roles and facts
    in the same statement for ``load_user`` to take."""
    rows = _session_statement().rows(session, {"sid": sid, "now": utcnow()})
    if not rows:
        return None
    width = len(UserSession.__table__.c)
    if rows[0][width] is not None:  # the record's user exists
        g.civicforum_preloaded_user = _user(session, rows[0][width:])
    return rows[0][:width]


def get(user: Any, name: str) -> bool | None:
    """Fact ``name`` of ``user`` as loaded for this request, or None if it was not."""
    if not has_app_context():
        return None
    loaded = g.get("civicforum_user_facts")
    if loaded is None or loaded[0] != getattr(user, "id", None):
        return None
    value = loaded[1].get(name)
    return None if value is None else bool(value)
