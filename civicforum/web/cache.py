"""Shared response cache for anonymous GETs of public pages, never stale.

How it stays correct (read this before "simplifying" anything here):

* **Data version.** One row (`page_versions`, id 1) holds a counter. Every commit whose
  transaction wrote a row of a *watched* model (features call `watch()` for the models their
  public pages show) bumps it in that same transaction (`before_commit`), so the new data and
  the new version become visible together, on every instance behind a load balancer. The
  counter's row lock orders the bumps; writers hold it only during their own commit.
* **Key.** (URL root + path + sorted query, locale, htmx request kind, data version). The
  version is read *before* the view reads any data: on PostgreSQL (READ COMMITTED) a page can
  then only be newer than its version, never older; on SQLite it is the same snapshot.
* **Who.** Only GET/HEAD from a visitor with no session data, no remember cookie and no
  Authorization header; only 200 responses that set no cookie and whose session is still
  empty afterwards (no CSRF token, no flash). Logged-in pages are never cached.
* **Time.** Pages that change with the clock alone (a support period ending) tell the cache
  when they stop being valid with `valid_until()`.
* **Storage.** A bounded LRU per process, plus Redis when `REDIS_URL` is set (entries expire
  after `PAGE_CACHE_TTL` seconds). Entries of old versions are simply never asked for again.

Browsers and proxies still get `Cache-Control: no-store` (set by `web.security`): only this
server-side cache, whose key includes the data version, may reuse a page.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any

from flask import Flask, Response, current_app, g, request, session
from flask.typing import ResponseReturnValue
from sqlalchemy import BigInteger, Engine, event, select, update
from sqlalchemy.orm import Mapped, Session, attributes, mapped_column

from civicforum.db import LISTENED_TABLES, db, writes_listened_table

EXTENSION = "civicforum_page_cache"
_DIRTY = "page_cache_dirty"  # Session.info flag: this transaction wrote a watched row


class PageVersion(db.Model):
    """Single row (id 1): the data version of public pages, bumped by watched writes."""

    __tablename__ = "page_versions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)


# --- what invalidates pages -----------------------------------------------------------------

# Watched tables (db.LISTENED_TABLES: any write counts) and attribute-filtered models (ORM
# changes only).
_WATCHED_ATTRS: dict[type, frozenset[str]] = {}
_DML = re.compile(r"\s*(insert|update|delete|replace)\b", re.I)


def watch(*models: type, attrs: Iterable[str] | None = None) -> None:
    """Declare that writes to these models change public pages (call from a feature's
    init_app). With `attrs`, only ORM changes of those attributes of existing rows count
    (e.g. a display name, not a last-login time); bulk statements on that table do not."""
    for model in models:
        if attrs is None:
            LISTENED_TABLES.add(model.__table__.name)  # type: ignore[attr-defined]
        else:
            _WATCHED_ATTRS[model] = frozenset(attrs)


def _before_cursor_execute(
    conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
) -> None:
    # At the connection level, so ORM flushes, bulk UPDATEs (counters), Core and text SQL
    # are all seen. The flag lives on the connection until its transaction ends.
    if conn.info.get(_DIRTY) or context is None:
        return
    if context.isinsert or context.isupdate or context.isdelete:
        table = getattr(getattr(context.compiled, "statement", None), "table", None)
        name = getattr(table, "name", None)
        if name in LISTENED_TABLES or (name is None and writes_listened_table(statement)):
            conn.info[_DIRTY] = True
    elif _DML.match(statement) and writes_listened_table(statement):
        conn.info[_DIRTY] = True


def _end_of_transaction(conn: Any) -> None:
    if conn.invalidated:
        # The connection was lost (its rollback is running because of that): its info goes
        # with it, and touching it here would raise over the original error.
        return
    conn.info.pop(_DIRTY, None)


def _after_flush(session: Session, _context: Any) -> None:
    # new/dirty/deleted still hold the pre-flush state here.
    if session.info.get(_DIRTY) or not _WATCHED_ATTRS:
        return
    for obj in (*session.dirty, *session.deleted):
        attrs = next((a for m, a in _WATCHED_ATTRS.items() if isinstance(obj, m)), None)
        if attrs is None:
            continue
        if obj in session.deleted or any(
            attributes.get_history(obj, a).has_changes() for a in attrs
        ):
            session.info[_DIRTY] = True
            return


def _before_commit(session: Session) -> None:
    session.flush()  # commit() flushes after this hook; flush now so the flags are complete
    if not session.in_transaction():
        return
    connection = session.connection()
    dirty = session.info.pop(_DIRTY, False)
    if connection.info.pop(_DIRTY, False) or dirty:
        # Same transaction as the change: readers see both or neither. Row lock until commit.
        session.execute(
            update(PageVersion)
            .where(PageVersion.id == 1)
            .values(value=PageVersion.value + 1)
            .execution_options(synchronize_session=False)
        )


def _after_rollback(session: Session) -> None:
    session.info.pop(_DIRTY, None)


def _listen() -> None:
    if event.contains(Session, "before_commit", _before_commit):
        return
    event.listen(Engine, "before_cursor_execute", _before_cursor_execute)
    event.listen(Engine, "commit", _end_of_transaction)
    event.listen(Engine, "rollback", _end_of_transaction)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_rollback", _after_rollback)


_VERSION = select(PageVersion.value).where(PageVersion.id == 1)


def current_version() -> int | None:
    """The data version (one primary-key read), or None when the row is missing."""
    bind = db.engine  # a Connection (not an Engine) when tests share one transaction
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        # A cache hit then costs one round trip instead of BEGIN, SELECT and ROLLBACK. Read
        # committed, before the view's own transaction: the page is never older than this.
        with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            return conn.scalar(_VERSION)
    # SQLite: in-process and cheap; the view's reads then share this snapshot.
    return db.session.scalar(_VERSION)


# --- storage ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    body: bytes
    headers: list[tuple[str, str]]
    expires: float  # time.time()


class LocalStore:
    """Bounded LRU (by total body bytes), thread-safe for gthread workers."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> Entry | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
            return entry

    def set(self, key: str, entry: Entry) -> None:
        if len(entry.body) > self.max_bytes // 4:
            return
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.size -= len(old.body)
            self.entries[key] = entry
            self.size += len(entry.body)
            while self.size > self.max_bytes:
                _, dropped = self.entries.popitem(last=False)
                self.size -= len(dropped.body)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.size = 0


class RedisStore:
    """Shared by instances; values are JSON metadata + body (no pickle)."""

    def __init__(self, url: str, ttl: int, prefix: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.ttl = ttl
        self.prefix = prefix

    def get(self, key: str) -> Entry | None:
        raw = self.client.get(self.prefix + key)
        if raw is None:
            return None
        meta, _, body = bytes(raw).partition(b"\n")
        info = json.loads(meta)
        return Entry(body, [tuple(h) for h in info["h"]], float(info["e"]))  # type: ignore[misc]

    def set(self, key: str, entry: Entry) -> None:
        meta = json.dumps({"h": entry.headers, "e": entry.expires}).encode()
        ttl = max(1, min(self.ttl, int(entry.expires - time.time()) + 1))
        self.client.set(self.prefix + key, meta + b"\n" + entry.body, ex=ttl)

    def clear(self) -> None:
        for key in self.client.scan_iter(self.prefix + "*"):
            self.client.delete(key)


class PageCache:
    def __init__(self, app: Flask) -> None:
        self.ttl = int(app.config.get("PAGE_CACHE_TTL", 3600))
        self.local = LocalStore(int(app.config.get("PAGE_CACHE_MAX_BYTES", 64 * 1024 * 1024)))
        url = app.config.get("REDIS_URL")
        prefix = str(app.config["PAGE_CACHE_REDIS_PREFIX"])  # per deployment (config.py)
        self.shared = RedisStore(url, self.ttl, prefix) if url else None
        self.remember_cookie = str(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
        self.locale: Callable[[], str] = _babel_locale
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        # Off by default under TESTING: each test rolls the version row back to the same
        # value with different data, so entries would leak between tests.
        return bool(current_app.config.get("PAGE_CACHE", not current_app.testing))

    def eligible(self) -> bool:
        return (
            request.method in ("GET", "HEAD")
            and not session
            and self.remember_cookie not in request.cookies
            and "Authorization" not in request.headers
            and len(request.query_string) <= 512
        )

    def key(self, version: int) -> str:
        headers = request.headers
        hx = (
            headers.get("HX-Request") == "true",
            headers.get("HX-Boosted") == "true",
            headers.get("HX-History-Restore-Request") == "true",
        )
        args = sorted(request.args.items(multi=True))
        raw = json.dumps(
            [request.url_root, request.path, args, self.locale(), hx, version], ensure_ascii=True
        )
        return hashlib.sha256(raw.encode()).hexdigest()

    def get(self, key: str) -> Entry | None:
        entry = self.local.get(key)
        if entry is None and self.shared is not None:
            entry = self.shared.get(key)
            if entry is not None:
                self.local.set(key, entry)
        if entry is None or entry.expires <= time.time():
            return None
        return entry

    def set(self, key: str, entry: Entry) -> None:
        self.local.set(key, entry)
        if self.shared is not None:
            self.shared.set(key, entry)

    def clear(self) -> None:
        self.local.clear()
        if self.shared is not None:
            self.shared.clear()


def _babel_locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "")


def valid_until(moment: datetime | Callable[[], datetime | None] | None) -> None:
    """The page being rendered changes at `moment` without any write (e.g. a deadline).

    A callable is only called when the page is about to be stored (saves a query for
    signed-in members, whose pages are never stored)."""
    if moment is not None:
        g.setdefault("page_cache_valid_until", []).append(moment)


def _expiry(default: float) -> float:
    expires = default
    for moment in g.get("page_cache_valid_until", ()):
        value = moment() if callable(moment) else moment
        if value is not None:
            expires = min(expires, value.timestamp())
    return expires


VARY = ("Cookie", "Accept-Language", "HX-Request")


def cached_page(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Serve a public page from the cache for anonymous visitors (see the module docstring).

    The view itself must not depend on anything outside the key but watched data, the
    clock (declared with `valid_until`) and the logged-in user (who is never served here).
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        cache: PageCache | None = current_app.extensions.get(EXTENSION)
        if cache is None or not cache.enabled or not cache.eligible():
            response = current_app.make_response(view(*args, **kwargs))
            response.vary.update(VARY)
            return response
        version = current_version()  # before the view reads anything (see the docstring)
        key = cache.key(version) if version is not None else None
        entry = cache.get(key) if key else None
        if entry is not None:
            cache.hits += 1
            response = Response(entry.body, status=200, headers=entry.headers)
            response.vary.update(VARY)
            return response
        cache.misses += 1
        response = current_app.make_response(view(*args, **kwargs))
        response.vary.update(VARY)
        if (
            key
            and response.status_code == 200
            and not response.direct_passthrough
            and not response.is_streamed
            and "Set-Cookie" not in response.headers
            and not session  # nothing to save: no cookie will be set after this
            and not _authenticated()
        ):
            expires = _expiry(time.time() + cache.ttl)
            headers = [(k, v) for k, v in response.headers.items() if k.lower() != "vary"]
            cache.set(key, Entry(response.get_data(), headers, expires))
        return response

    return wrapper


def _authenticated() -> bool:
    from flask_login import current_user

    return bool(getattr(current_user, "is_authenticated", False))


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = PageCache(app)
    _listen()
