"""Facts about the signed-in user that other features need on most requests, loaded in the
same statement as the user (one round trip instead of one each).

A feature registers a boolean SQL expression correlated with ``users.id`` (it may use the
bind parameter ``now``); ``load_user`` selects it beside the user, and the feature reads the
value back for this request with ``get``. A fact is only a shortcut: when it is missing (the
user was not loaded by ``load_user``, or outside a request) ``get`` returns None and the
feature asks the database itself. Values live in ``flask.g``, so they never outlive the
request that loaded them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g, has_app_context
from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import joinedload

from civicforum.accounts.models import User

_FACTS: dict[str, Callable[[], ColumnElement[bool]]] = {}
_statement: Select[Any] | None = None


def register(name: str, expression: Callable[[], ColumnElement[bool]]) -> None:
    """Load ``expression()`` with every signed-in user as fact ``name`` (call at init_app)."""
    global _statement
    _FACTS[name] = expression
    _statement = None


def user_statement() -> Select[Any]:
    """The user (with roles) and every registered fact; parameters ``id`` and ``now``.
    Built once: it runs on every signed-in request."""
    global _statement
    if _statement is None:
        facts = [expression().label(name) for name, expression in _FACTS.items()]
        _statement = (
            select(User, *facts).where(User.id == bindparam("id")).options(joinedload(User.roles))
        )
    return _statement


def remember(user_id: int, row: Any) -> None:
    """Keep the facts of a `user_statement()` row (user first) for this request."""
    g.civicforum_user_facts = (user_id, dict(zip(_FACTS, row[1:], strict=True)))


def get(user: Any, name: str) -> bool | None:
    """Fact ``name`` of ``user`` as loaded for this request, or None if it was not."""
    if not has_app_context():
        return None
    loaded = g.get("civicforum_user_facts")
    if loaded is None or loaded[0] != getattr(user, "id", None):
        return None
    value = loaded[1].get(name)
    return None if value is None else bool(value)
