"""Server-side sessions: the cookie carries a random token, the record lives in SQL or Redis.

Logging out, "log out everywhere" and a password change delete records, so a replayed
cookie finds nothing. Only the token's SHA-256 is stored, so a database leak yields no
usable cookie.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import Connection, bindparam, delete, select, update
from werkzeug.datastructures import CallbackDict

from civicforum.accounts import facts
from civicforum.accounts.models import UserSession
from civicforum.db import db, utcnow
from civicforum.web.errors import DATABASE_DOWN

# Session records keep when they began and were last used only to this granularity, and are
# touched at most once per step: a database or Redis copy must not carry a voter's activity
# finely enough to line it up with anything about their ballot (docs/ledger.md §8). The
# casting request itself never touches its session (`untouched`).
GRANULARITY = timedelta(minutes=15)
_UNTOUCHED = "civicforum_session_untouched"


def coarse(moment: datetime) -> datetime:
    """`moment` rounded down to the session records' granularity (15 minutes)."""
    epoch = datetime(2000, 1, 1, tzinfo=moment.tzinfo)
    return moment - (moment - epoch) % GRANULARITY


def untouched() -> None:
    """Do not refresh this request's session record's last use (the cast request)."""
    from flask import g

    setattr(g, _UNTOUCHED, True)


def _is_untouched() -> bool:
    from flask import g

    return bool(getattr(g, _UNTOUCHED, False))


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str
    user_id: int | None
    created_at: datetime
    last_seen_at: datetime
    ip_address: str | None
    user_agent: str | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ServerSession(CallbackDict[str, Any], SessionMixin):
    def __init__(
        self,
        initial: dict[str, Any] | None = None,
        token: str | None = None,
        record: SessionInfo | None = None,
    ) -> None:
        def on_update(_: Any) -> None:
            self.modified = True

        super().__init__(initial or {}, on_update)
        self.token = token
        self.record = record
        self.modified = False
        self.regenerate_requested = False
        self.destroyed = False
        self.unavailable = False  # the store could not be read: never write it back

    @property
    def sid(self) -> str | None:
        return hash_token(self.token) if self.token else None

    def regenerate(self) -> None:
        """Give the session a new token at the next save (on login: no session fixation)."""
        self.regenerate_requested = True
        self.modified = True

    def destroy(self) -> None:
        """Delete the record and expire the cookie (logout)."""
        self.clear()
        self.destroyed = True
        self.modified = True


class SessionStore(Protocol):
    def load(self, sid: str) -> tuple[dict[str, Any], SessionInfo] | None: ...
    def save(
        self,
        sid: str,
        data: dict[str, Any],
        *,
        user_id: int | None,
        expires: datetime,
        ip: str | None,
        agent: str | None,
        seen: datetime | None = None,
    ) -> None: ...
    def touch(self, sid: str, *, expires: datetime) -> None: ...
    def delete(self, sid: str) -> None: ...
    def list_for_user(self, user_id: int) -> list[SessionInfo]: ...
    def delete_for_user(self, user_id: int, *, except_sid: str | None = None) -> int: ...


def _release_request_connection() -> None:
    """End a read-only request's database transaction before saving its session record.

    Saving runs after the view, while the request's session may still hold a pooled connection
    (a GET reads and never commits): writing the record on a second one made every request hold
    two, and 20 concurrent voters exhausted a pool of 5 + 10. Released first, the write reuses
    that connection. A write request's view has committed (releasing it) or failed (and the
    teardown discards its work); GETs write nothing, so ending theirs loses nothing.
    """
    from flask import has_request_context, request

    if has_request_context() and request.method in ("GET", "HEAD"):
        db.session.rollback()


@contextmanager
def _write_connection() -> Iterator[Connection]:
    # Its own short transaction, apart from the request's: a session save must not commit
    # (or be rolled back with) the view's work. Tests bind db.engines to one connection
    # inside an outer transaction, so use a savepoint there.
    bind = db.engine
    if isinstance(bind, Connection):
        with bind.begin_nested():
            yield bind
    else:
        with bind.begin() as conn:
            yield conn


_Record = namedtuple("_Record", UserSession.__table__.c.keys())  # type: ignore[misc]
_LOAD_SESSION = select(UserSession.__table__).where(UserSession.__table__.c.id == bindparam("sid"))


def _read_record(sid: str) -> Any:
    bind = db.engine
    if isinstance(bind, Connection) or bind.dialect.name == "postgresql":
        # In the request's own transaction, whose first statement this is, and with the
        # user and their facts in the same statement (accounts.facts): one round trip for
        # what Flask-Login would load next. (Not on SQLite: there a writing request must
        # begin its transaction IMMEDIATE after this, in web.sqlite_lock.)
        record = facts.session_record(db.session, sid)
        return None if record is None else _Record(*record)
    with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # One statement, no transaction: no BEGIN and COMMIT around it.
        return conn.execute(_LOAD_SESSION, {"sid": sid}).first()


class SqlSessionStore:
    table = UserSession.__table__

    def _info(self, row: Any) -> SessionInfo:
        return SessionInfo(
            row.id,
            row.user_id,
            _aware(row.created_at),
            _aware(row.last_seen_at),
            row.ip_address,
            row.user_agent,
        )

    def load(self, sid: str) -> tuple[dict[str, Any], SessionInfo] | None:
        row = _read_record(sid)
        if row is None or _aware(row.expires_at) <= utcnow():
            return None
        return json.loads(row.data), self._info(row)

    def save(
        self,
        sid: str,
        data: dict[str, Any],
        *,
        user_id: int | None,
        expires: datetime,
        ip: str | None,
        agent: str | None,
        seen: datetime | None = None,
    ) -> None:
        _release_request_connection()
        now = coarse(utcnow()) if seen is None else seen
        values = {
            "data": json.dumps(data, separators=(",", ":")),
            "user_id": user_id,
            "expires_at": expires,
            "last_seen_at": now,
        }
        with _write_connection() as conn:
            done = conn.execute(update(self.table).where(self.table.c.id == sid).values(**values))
            if done.rowcount == 0:
                conn.execute(
                    self.table.insert().values(
                        id=sid, created_at=now, ip_address=ip, user_agent=agent, **values
                    )
                )

    def touch(self, sid: str, *, expires: datetime) -> None:
        _release_request_connection()
        with _write_connection() as conn:
            conn.execute(
                update(self.table)
                .where(self.table.c.id == sid)
                .values(last_seen_at=coarse(utcnow()), expires_at=expires)
            )

    def delete(self, sid: str) -> None:
        with _write_connection() as conn:
            conn.execute(delete(self.table).where(self.table.c.id == sid))

    def list_for_user(self, user_id: int) -> list[SessionInfo]:
        with _write_connection() as conn:
            rows = conn.execute(
                select(self.table)
                .where(self.table.c.user_id == user_id, self.table.c.expires_at > utcnow())
                .order_by(self.table.c.last_seen_at.desc())
            ).all()
        return [self._info(r) for r in rows]

    def delete_for_user(self, user_id: int, *, except_sid: str | None = None) -> int:
        stmt = delete(self.table).where(self.table.c.user_id == user_id)
        if except_sid:
            stmt = stmt.where(self.table.c.id != except_sid)
        with _write_connection() as conn:
            return conn.execute(stmt).rowcount

    def purge_expired(self) -> int:
        with _write_connection() as conn:
            return conn.execute(
                delete(self.table).where(self.table.c.expires_at <= utcnow())
            ).rowcount


class RedisSessionStore:
    """Shared store for several instances: one key per session, one set per user."""

    def __init__(self, url: str, prefix: str = "civicforum:") -> None:
        import redis

        self.r = redis.Redis.from_url(url, decode_responses=True)
        self.prefix = prefix

    def _key(self, sid: str) -> str:
        return f"{self.prefix}session:{sid}"

    def _user_key(self, user_id: int) -> str:
        return f"{self.prefix}user-sessions:{user_id}"

    def load(self, sid: str) -> tuple[dict[str, Any], SessionInfo] | None:
        raw = self.r.get(self._key(sid))
        if raw is None:
            return None
        rec = json.loads(raw)
        return rec["data"], self._info(sid, rec)

    @staticmethod
    def _info(sid: str, rec: dict[str, Any]) -> SessionInfo:
        return SessionInfo(
            sid,
            rec.get("user_id"),
            datetime.fromisoformat(rec["created"]),
            datetime.fromisoformat(rec["seen"]),
            rec.get("ip"),
            rec.get("agent"),
        )

    def save(
        self,
        sid: str,
        data: dict[str, Any],
        *,
        user_id: int | None,
        expires: datetime,
        ip: str | None,
        agent: str | None,
        seen: datetime | None = None,
    ) -> None:
        now = coarse(utcnow())
        old = self.r.get(self._key(sid))
        created = json.loads(old)["created"] if old else now.isoformat()
        rec = {
            "data": data,
            "user_id": user_id,
            "created": created,
            "seen": (seen or now).isoformat(),
            "ip": ip,
            "agent": agent,
        }
        pipe = self.r.pipeline()
        # An absolute expiry (EXAT), fixed at login: a TTL counted from each write would
        # date that write to the second.
        pipe.set(self._key(sid), json.dumps(rec), exat=self._exat(expires))
        if user_id is not None:
            pipe.sadd(self._user_key(user_id), sid)
        pipe.execute()

    @staticmethod
    def _exat(expires: datetime) -> int:
        return max(int(expires.timestamp()), int(utcnow().timestamp()) + 1)

    def touch(self, sid: str, *, expires: datetime) -> None:
        raw = self.r.get(self._key(sid))
        if raw is None:
            return
        rec = json.loads(raw)
        rec["seen"] = coarse(utcnow()).isoformat()
        self.r.set(self._key(sid), json.dumps(rec), exat=self._exat(expires))

    def delete(self, sid: str) -> None:
        raw = self.r.get(self._key(sid))
        pipe = self.r.pipeline()
        pipe.delete(self._key(sid))
        if raw is not None and (user_id := json.loads(raw).get("user_id")) is not None:
            pipe.srem(self._user_key(user_id), sid)
        pipe.execute()

    def list_for_user(self, user_id: int) -> list[SessionInfo]:
        out = []
        for sid in self.r.smembers(self._user_key(user_id)):
            loaded = self.load(sid)
            if loaded is None:
                self.r.srem(self._user_key(user_id), sid)
            elif loaded[1].user_id == user_id:
                out.append(loaded[1])
        return sorted(out, key=lambda s: s.last_seen_at, reverse=True)

    def delete_for_user(self, user_id: int, *, except_sid: str | None = None) -> int:
        sids = [s for s in self.r.smembers(self._user_key(user_id)) if s != except_sid]
        if not sids:
            return 0
        deleted = int(self.r.delete(*[self._key(s) for s in sids]))
        self.r.srem(self._user_key(user_id), *sids)
        return deleted


class ServerSessionInterface(SessionInterface):
    def __init__(self, store: SessionStore) -> None:
        self.store = store

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        token = request.cookies.get(self.get_cookie_name(app))
        if token and len(token) <= 128:
            sid = hash_token(token)
            try:
                loaded = self.store.load(sid)
            except DATABASE_DOWN:
                # The request is answered with the outage page (web.errors), knowing which
                # page was asked for; the cookie and the stored session are left as they are.
                from flask import g

                g.database_down = True
                session = ServerSession(token=token)
                session.unavailable = True
                return session
            if loaded is not None:
                data, info = loaded
                idle = timedelta(minutes=int(app.config["SESSION_IDLE_MINUTES"]))
                if utcnow() - info.last_seen_at <= idle:
                    return ServerSession(data, token=token, record=info)
                # Inactivity timeout, enforced here on the server (ASVS 7.3.1).
                self.store.delete(sid)
        return ServerSession()

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        if session.unavailable:
            return
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        if session.destroyed or (not session and session.modified):
            if session.sid:
                self.store.delete(session.sid)
            if session.token:
                response.delete_cookie(name, domain=domain, path=path)
            return
        if not session:
            return
        lifetime = timedelta(days=int(app.config["SESSION_LIFETIME_DAYS"]))
        if session.regenerate_requested and session.sid:
            self.store.delete(session.sid)
            session.token = None
        # Absolute timeout: counted from the session's creation, never extended by activity.
        started = session.record.created_at if session.record and session.token else utcnow()
        expires = started + lifetime
        keep_seen = _is_untouched() and session.record is not None and session.token
        if session.modified or session.token is None:
            if session.token is None:
                session.token = secrets.token_urlsafe(32)
            from flask import request

            self.store.save(
                hash_token(session.token),
                dict(session),
                user_id=_user_id(session),
                expires=expires,
                ip=request.remote_addr,
                agent=(request.user_agent.string or "")[:200] or None,
                seen=session.record.last_seen_at if keep_seen and session.record else None,
            )
        elif session.record and not keep_seen and coarse(utcnow()) > session.record.last_seen_at:
            self.store.touch(session.sid or "", expires=expires)
        else:
            return
        response.set_cookie(
            name,
            session.token,
            max_age=max(0, int((expires - utcnow()).total_seconds())),
            domain=domain,
            path=path,
            secure=self.get_cookie_secure(app),
            httponly=True,
            samesite=self.get_cookie_samesite(app),
        )
        response.vary.add("Cookie")


def _user_id(session: ServerSession) -> int | None:
    raw = session.get("_user_id")
    return int(raw) if raw is not None and str(raw).isdigit() else None


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def make_store(app: Flask) -> SessionStore:
    if app.config.get("REDIS_URL"):
        return RedisSessionStore(app.config["REDIS_URL"], prefix=app.config["REDIS_PREFIX"])
    return SqlSessionStore()


def current_store(app: Flask) -> SessionStore:
    interface = app.session_interface
    assert isinstance(interface, ServerSessionInterface)
    return interface.store
