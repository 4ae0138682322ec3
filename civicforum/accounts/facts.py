"""Facts about the signed-in user that other features need on most requests, loaded in the
same statement as the user (one round trip instead of one each).

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
from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import joinedload

from civicforum.accounts.models import User, UserSession

_FACTS: dict[str, Callable[[], ColumnElement[bool]]] = {}
_statements: dict[str, Select[Any]] = {}


def register(name: str, expression: Callable[[], ColumnElement[bool]]) -> None:
    """Load ``expression()`` with every signed-in user as fact ``name`` (call at init_app)."""
    _FACTS[name] = expression
    _statements.clear()


def _user_select(*first: Any) -> Select[Any]:
    facts = [expression().label(name) for name, expression in _FACTS.items()]
    return select(*first, User, *facts).options(joinedload(User.roles))


def user_statement() -> Select[Any]:
    """The user (with roles), then every registered fact; parameters ``id`` and ``now``.
    Built once: it runs on every signed-in request."""
    if "user" not in _statements:
        _statements["user"] = _user_select().where(User.id == bindparam("id"))
    return _statements["user"]


def session_statement() -> Select[Any]:
    """A session record's columns, its user (or None) with roles, then the facts; parameters
    ``sid`` and ``now``: the session store reads the record and the user in one statement."""
    if "session" not in _statements:
        table = UserSession.__table__
        _statements["session"] = (
            _user_select(*table.c)
            .select_from(table)
            .outerjoin(User, User.id == table.c.user_id)
            .where(table.c.id == bindparam("sid"))
        )
    return _statements["session"]


def remember(user_id: int, values: Sequence[Any]) -> None:
    """Keep the fact values (in registration order) of ``user_id`` for this request."""
    g.civicforum_user_facts = (user_id, dict(zip(_FACTS, values, strict=True)))


def preload(user: User, values: Sequence[Any]) -> None:
    """The session store read the user with the session record: ``load_user`` takes it."""
    g.civicforum_preloaded_user = user
    remember(user.id, values)


def preloaded(user_id: int) -> User | None:
    user = g.pop("civicforum_preloaded_user", None) if has_app_context() else None
    return user if user is not None and user.id == user_id else None


def get(user: Any, name: str) -> bool | None:
    """Fact ``name`` of ``user`` as loaded for this request, or None if it was not."""
    if not has_app_context():
        return None
    loaded = g.get("civicforum_user_facts")
    if loaded is None or loaded[0] != getattr(user, "id", None):
        return None
    value = loaded[1].get(name)
    return None if value is None else bool(value)
