"""Typed declarative base, constraint naming convention, SQLite and pool engine events."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Connection, DateTime, Engine, MetaData, Pool, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, registry, scoped_session
from sqlalchemy.sql.base import Executable
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


db = SQLAlchemy(model_class=Base)


SQLITE_BUSY_TIMEOUT_MS = 10_000


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # pysqlite's own transaction handling breaks SAVEPOINT and BEGIN IMMEDIATE; we emit BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    # Deleted rows are overwritten with zeros, not left in free pages: closing a ballot
    # deletes its voter links, and they must not be recoverable from the file afterwards.
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.close()


def real_session(session: Session | scoped_session[Session]) -> Session:
    """The Session itself: a scoped_session's current one (for its events, info, state)."""
    return session() if isinstance(session, scoped_session) else session


def engine_of(session: Session | scoped_session[Session]) -> Engine:
    """The engine behind a session, also when it is bound to a Connection (the tests)."""
    bind = real_session(session).get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def flush_sqlite_wal_after_commit(session: Session | scoped_session[Session]) -> None:
    """On SQLite, once this transaction commits, copy the WAL into the database file and empty
    it, so that the page images from before a deletion linger in neither file (with
    secure_delete, the new images hold zeros). Best effort: a checkpoint that readers block
    is left to SQLite's next automatic one. Other databases: nothing."""
    engine = engine_of(session)
    if engine.dialect.name != "sqlite":
        return

    def checkpoint(_session: Session) -> None:
        raw = engine.raw_connection()
        try:
            driver = raw.driver_connection
            driver.execute("PRAGMA busy_timeout = 200")  # readers hold it back: give up soon
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            driver.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            raw.close()

    event.listen(real_session(session), "after_commit", checkpoint, once=True)


# Stale connections (a database restart, a firewall dropping idle sockets) are caught by
# pinging a connection that sat in the pool longer than this before handing it out. A busy
# pool's connections were in use a moment ago, so they skip the round trip; should one die
# anyway, its error invalidates the whole pool (SQLAlchemy's disconnect handling) and the
# next requests reconnect.
IDLE_PING_SECONDS = 10.0


@event.listens_for(Pool, "checkin")
def _note_checkin(dbapi_connection: Any, connection_record: Any) -> None:
    connection_record.info["checked_in_at"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_connection: Any, connection_record: Any, connection_proxy: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        return  # a local file: nothing to lose on the way
    idle_since = connection_record.info.get("checked_in_at")
    if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
        return
    # psycopg (the only other driver): ping outside any transaction, as pool_pre_ping does.
    autocommit = dbapi_connection.autocommit
    try:
        dbapi_connection.autocommit = True
        dbapi_connection.execute("SELECT 1")
        dbapi_connection.autocommit = autocommit
    except Exception as exc:  # any failure: the pool replaces the connection and retries
        raise DisconnectionError() from exc


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn: Any) -> None:
    if conn.dialect.name != "sqlite":
        return
    # Writers take the lock up front: a deferred transaction that later upgrades to a writer
    # can fail with SQLITE_BUSY instead of waiting, which would lose a vote under load.
    mode = conn.get_execution_options().get("sqlite_begin", "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())


_KEPT_DRIVER = "civicforum_driver_connection"


def _kept_driver(session: Session) -> tuple[str, Any]:
    """(dialect name, DBAPI connection) of the session's transaction, begun if need be.
    Kept in session.info for the transaction: asking the session for its connection costs
    more CPU than a short statement's own driver work, and a cast asks five times."""
    real = real_session(session)
    kept = real.info.get(_KEPT_DRIVER)
    if kept is not None and kept[0] is real.get_transaction():
        return kept[1], kept[2]
    conn = real.connection()
    kept = (real.get_transaction(), conn.dialect.name, conn.connection.driver_connection)
    real.info[_KEPT_DRIVER] = kept
    return kept[1], kept[2]


def driver_connection(session: Session | Connection) -> Any:
    """The DBAPI connection under `session`'s transaction (begun if need be)."""
    if isinstance(session, Connection):
        return session.connection.driver_connection
    return _kept_driver(session)[1]


# Tables whose writes connection-event listeners must see (web.cache adds the tables it
# watches); OnDriver refuses to write them.
LISTENED_TABLES: set[str] = set()
_WRITES = re.compile(r"\b(?:insert\s+into|update|delete\s+from)\s+(\w+)", re.I)


def writes_listened_table(sql: str) -> bool:
    """Whether SQL text writes (INSERT INTO, UPDATE, DELETE FROM, in CTEs too) a table of
    LISTENED_TABLES."""
    return any(m.group(1).lower() in LISTENED_TABLES for m in _WRITES.finditer(sql))


def driver_rows(driver: Any, sql: str, params: Mapping[str, Any]) -> list[Any]:
    """Run `sql` on a psycopg connection; the result rows (none without a result set).
    Errors come as SQLAlchemy's (IntegrityError, OperationalError...), as if it had run it."""
    import psycopg

    try:
        with driver.cursor() as cur:
            cur.execute(sql, params)
            # rownumber is None without a result set; `description` would build column
            # objects for every column first (a quarter of the driver path on wide rows).
            return [] if cur.rownumber is None else cur.fetchall()
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, params, exc, psycopg.Error) from exc


@dataclass(frozen=True, slots=True)
class _DriverForm:
    sql: str
    compiled: Any
    binds: dict[str, Callable[[Any], Any] | None]  # per-execution parameter: its converter
    constants: dict[str, Any]  # IN lists and literals fixed in the statement, converted
    results: list[Callable[[Any], Any] | None]  # per result column; empty if none converts


class OnDriver:
    """A Core statement that PostgreSQL runs straight on psycopg, in the session's
    transaction: compiled once, its values converted by the same type processors SQLAlchemy
    would use, without SQLAlchemy's per-execution layers. On the busiest paths (a cast, the
    signed-in user's load) those layers cost two to three times the driver's own CPU for a
    short statement. Other databases run it on the session's connection as usual.

    It bypasses connection events, so it refuses to write the tables listeners watch
    (`LISTENED_TABLES`: the page cache's, `web.cache.watch`). IN lists must be fixed in the
    statement (they are expanded once), not given per execution, and an INSERT or UPDATE
    must give every column with a Python-side default its value.
    """

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._form: _DriverForm | None = None

    def _compile(self, dialect: Any, params: Mapping[str, Any]) -> _DriverForm:
        compiled = self.statement.compile(dialect=dialect)
        if writes_listened_table(compiled.string):
            raise ValueError("OnDriver: listeners watch writes to a table it writes")
        if compiled.insert_prefetch or compiled.update_prefetch:  # SQLAlchemy computes those
            raise ValueError("OnDriver: give every column a value (no Python-side defaults)")
        fixed = {b.key for b in compiled.binds.values() if b.expanding or b.literal_execute}
        binds = {
            compiled.bind_names[b]: b.type.dialect_impl(dialect).bind_processor(dialect)
            for b in compiled.binds.values()
            if b.key not in fixed
        }
        sql, constants = compiled.string, {}
        if fixed:
            if any(compiled.binds[key].required or key in params for key in fixed):
                raise ValueError("OnDriver: an IN list or literal value given per execution")
            state = compiled.construct_expanded_state(params)
            sql = state.statement
            constants = {
                name: state.processors[name](value) if name in state.processors else value
                for name, value in state.parameters.items()
                if name not in binds
            }
        columns = getattr(self.statement, "exported_columns", ())
        results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        return _DriverForm(sql, compiled, binds, constants, results if any(results) else [])

    def rows(self, session: Session, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """Execute with `params`; the result rows (none for a statement without any)."""
        dialect, driver = _kept_driver(session)
        if dialect != "postgresql":
            result = session.connection().execute(self.statement, params)
            return result.all() if result.returns_rows else []
        form = self._form = self._form or self._compile(session.get_bind().dialect, params)
        given = form.compiled.construct_params(params)
        values = dict(form.constants)
        for name, convert in form.binds.items():
            values[name] = given[name] if convert is None else convert(given[name])
        rows = driver_rows(driver, form.sql, values)
        if form.results:
            rows = [
                tuple(v if p is None else p(v) for v, p in zip(row, form.results, strict=True))
                for row in rows
            ]
        return rows


# Full-text indexes made by migrations with raw SQL (SQLite FTS5 virtual tables and their
# shadow tables) have no model; schema comparisons must not propose dropping them.
_SEARCH_INDEX_TABLE = re.compile(r"_fts(_[a-z]+)?$")


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic filter: skip reflected full-text index tables that have no model."""
    return not (
        type_ == "table"
        and reflected
        and compare_to is None
        and name is not None
        and _SEARCH_INDEX_TABLE.search(name)
    )
