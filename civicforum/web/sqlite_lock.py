"""SQLite: take the write lock at the start of a state-changing request.

A deferred transaction that reads first and writes later cannot wait for the lock when
another writer committed in between (SQLITE_BUSY_SNAPSHOT fails at once, busy_timeout or
not), so a vote could fail under load. `BEGIN IMMEDIATE` makes writers queue instead.
PostgreSQL needs none of this: its row locks do the serialising.
"""

from __future__ import annotations

from flask import Flask, Response, request
from sqlalchemy import Connection

from civicforum.extensions import db

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def begin_immediate() -> None:
    # Only a transaction not yet begun can begin IMMEDIATE; under the test harness all work
    # already shares one Connection inside an outer transaction.
    if (
        request.method in UNSAFE_METHODS
        and _is_sqlite()
        and not db.session().in_transaction()
        and not isinstance(db.engine, Connection)
    ):
        db.session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def release_lock(response: Response) -> Response:
    # Whatever the view did not commit is discarded at teardown anyway; ending it here
    # releases the write lock before the session record is saved on another connection,
    # which would otherwise wait for our own lock. When every query shares one bound
    # Connection (the test harness), there is no second connection and nothing to release.
    if request.method in UNSAFE_METHODS and _is_sqlite() and not isinstance(db.engine, Connection):
        db.session.rollback()
    return response


def init_app(app: Flask) -> None:
    app.before_request(begin_immediate)
    app.after_request(release_lock)
