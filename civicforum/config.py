"""Configuration: non-secret defaults, environment mapping, instance-folder secrets."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask


class Defaults:
    """Safe, non-secret defaults. Everything can be overridden by CIVICFORUM_<NAME>."""

    DATABASE_URL: str | None = None  # None: a SQLite file in the instance folder
    # The public address: every absolute URL (mail links, digests) is built on it, never on
    # the Host header a client sent. None: the local development server.
    BASE_URL: str | None = None
    # Host names requests may carry (Flask answers 400 to others). None: BASE_URL's host
    # (and localhost beside 127.0.0.1 for the local default).
    TRUSTED_HOSTS: list[str] | None = None
    REDIS_URL: str | None = None
    SECRET_KEY: str | None = None  # None: generated once into the instance folder (0600)
    SESSION_COOKIE_NAME = "civicforum_session"
    SESSION_COOKIE_SECURE = True  # set CIVICFORUM_SESSION_COOKIE_SECURE=false for plain http
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_LIFETIME_DAYS = 14  # absolute timeout, from login
    SESSION_IDLE_MINUTES = 12 * 60  # inactivity timeout
    MAX_CONTENT_LENGTH = 1 * 1024 * 1024  # 413 above one MiB; CVR uploads are not web forms
    MAX_FORM_MEMORY_SIZE = 512 * 1024
    MAX_FORM_PARTS = 1000
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the (server-side) session
    WTF_CSRF_HEADERS = ["X-CSRF-Token", "X-CSRFToken"]
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = ("en", "fr", "es", "ar")  # catalogues.SHIPPED: each complete (a test checks)
    SITE_NAME = "civicforum"
    # Where participatory budgets are run: the `country` and `unit` (city, district, union)
    # keys of Pabulib exports (ballots.budget.cvr_pabulib).
    BUDGET_COUNTRY = "Worldwide"  # Pabulib's value for "not one country"
    BUDGET_UNIT = "civicforum"
    MAIL_SERVER: str | None = None  # unset: mail is written to the log (development)
    MAIL_PORT = 25
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_USE_TLS = False  # STARTTLS
    MAIL_USE_SSL = False  # implicit TLS
    MAIL_SENDER = "civicforum <no-reply@localhost>"
    # A sender thread in each app process delivers queued mail right after the request;
    # off: only `civicforum mail send` (cron or --watch) does.
    MAIL_SEND_IN_PROCESS = True
    # argon2id RFC 9106 "low-memory" profile (argon2-cffi's default): t=3, 64 MiB, p=4,
    # about 100 ms per hash on this 2-core machine.
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4
    # Failed logins: a wall per (account, client address) and per address; past the
    # per-account count, attempts on the account only wait (accounts.throttle).
    LOGIN_LIMIT_PER_ACCOUNT_ADDRESS = "10 per 15 minutes"
    LOGIN_LIMIT_PER_ADDRESS = "30 per 15 minutes"
    LOGIN_LIMIT_PER_ACCOUNT = "10 per 15 minutes"
    LOGIN_DELAY_MAX_SECONDS = 5
    TOKEN_MAX_AGE_SECONDS = 24 * 3600
    LEDGER_KEY_FILE: str | None = None
    LEDGER_ORIGIN_HOST: str | None = None  # None: as the key file says (logstore.keys)
    # The mixing pool (logstore.sequencer): a ballot's casts join the log in shuffled batches
    # of at least this many, or once the oldest waited this many seconds (and at closing).
    LEDGER_MIX_MIN = 16
    LEDGER_MIX_MAX_WAIT = 600
    DEMO_MODE = False
    COMPRESS_RESPONSES = True  # false when a reverse proxy compresses (web/compression.py)


_PLACEHOLDER_SECRETS = {"change-me", "changeme", "secret", "dev", "development", "please-change-me"}

_BOOL_KEYS = {
    "SESSION_COOKIE_SECURE",
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "MAIL_SEND_IN_PROCESS",
    "DEMO_MODE",
    "TESTING",
}


def _coerce(app: Flask) -> None:
    # from_prefixed_env parses JSON, so "false" already becomes False; be lenient for "0"/"no".
    for key in _BOOL_KEYS:
        value = app.config.get(key)
        if isinstance(value, str):
            app.config[key] = value.strip().lower() in {"1", "true", "yes", "on"}
        elif isinstance(value, int):
            app.config[key] = bool(value)


def instance_secret(app: Flask, filename: str, *, nbytes: int = 32) -> str:
    """Read a secret from the instance folder, creating it (mode 0600) on first use."""
    path = Path(app.instance_path) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(nbytes))
    return path.read_text().strip()


def owner_only(database: Path) -> None:
    """Make a SQLite database and its -wal/-shm files readable by their owner only.

    They hold password hashes, TOTP secrets and, while a ballot is open, its voter links.
    SQLite creates the -wal and -shm files with the database file's mode, so creating that
    file first (empty: a valid empty database) with mode 0600 covers all three."""
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        for path in (database, *(Path(f"{database}{s}") for s in ("-wal", "-shm"))):
            if path.exists() and path.stat().st_mode & 0o077:
                path.chmod(path.stat().st_mode & 0o700)
    except FileNotFoundError:
        pass  # its folder is missing: SQLite will say so when it opens the database


LOCAL_BASE_URL = "http://127.0.0.1:5000"
_LOCAL_HOSTS = ("127.0.0.1", "localhost")


def _public_address(cfg: Any) -> None:
    """BASE_URL and TRUSTED_HOSTS, checked: a reset link built from a client's Host header
    carried its token to whoever sent that header (issue #14 item 1)."""
    base = str(cfg.get("BASE_URL") or LOCAL_BASE_URL).strip().rstrip("/")
    parts = urlsplit(base)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
    ):
        raise RuntimeError(
            f"CIVICFORUM_BASE_URL must be the public address, like https://vote.example.org "
            f"(a path prefix is allowed), got {base!r}"
        )
    cfg["BASE_URL"] = base
    hosts = cfg.get("TRUSTED_HOSTS")
    if hosts is None:
        hosts = list(_LOCAL_HOSTS) if parts.hostname in _LOCAL_HOSTS else [parts.hostname]
    elif isinstance(hosts, str):  # CIVICFORUM_TRUSTED_HOSTS=a.example,b.example
        hosts = [h.strip() for h in hosts.split(",")]
    hosts = [str(h).strip().lower() for h in hosts if str(h).strip()]
    if not hosts:
        # Werkzeug reads an empty list as "every host": never that by accident.
        raise RuntimeError("CIVICFORUM_TRUSTED_HOSTS must name at least one host")
    cfg["TRUSTED_HOSTS"] = hosts


def finish_config(app: Flask) -> None:
    """Derive dependent settings and stop with a clear message on unusable ones."""
    _coerce(app)
    cfg = app.config
    _public_address(cfg)
    if not cfg.get("DATABASE_URL"):
        Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
        cfg["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'civicforum.sqlite'}"
    url: str = cfg["DATABASE_URL"]
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not (url.startswith("sqlite") or url.startswith("postgresql+psycopg")):
        raise RuntimeError(
            f"CIVICFORUM_DATABASE_URL must be a sqlite:// or postgresql:// URL, got {url!r}"
        )
    cfg["SQLALCHEMY_DATABASE_URI"] = url
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        owner_only(Path(url.removeprefix("sqlite:///").split("?", 1)[0]))
    # No pool_pre_ping: it costs a round trip on every checkout (every request);
    # civicforum.db pings only connections that sat idle in the pool (see IDLE_PING_SECONDS).
    engine_options: dict[str, Any] = {}
    if url.startswith("postgresql"):
        engine_options.update(pool_size=10, max_overflow=10)
    cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options)
    if not cfg.get("SECRET_KEY"):
        cfg["SECRET_KEY"] = instance_secret(app, "secret_key")
    secret = str(cfg["SECRET_KEY"])
    if len(secret) < 16 or secret.lower() in _PLACEHOLDER_SECRETS:
        raise RuntimeError(
            "CIVICFORUM_SECRET_KEY must be a random value of at least 16 characters "
            "(unset it to have one generated into the instance folder)"
        )
    if cfg.get("SESSION_COOKIE_SECURE") and cfg["SESSION_COOKIE_NAME"] == "civicforum_session":
        # The __Host- prefix makes browsers refuse the cookie unless Secure, path=/ and no
        # Domain: a sibling subdomain cannot plant or overwrite it (ASVS 3.3.x).
        cfg["SESSION_COOKIE_NAME"] = "__Host-civicforum"
    if cfg.get("TESTING"):
        # Fast hashing in tests only; production parameters are documented in the README.
        cfg.update(ARGON2_TIME_COST=1, ARGON2_MEMORY_COST=1024, ARGON2_PARALLELISM=1)
    cfg["RATELIMIT_STORAGE_URI"] = cfg.get("REDIS_URL") or "memory://"
    # One Redis database may serve several deployments: each keeps its keys (sessions, rate
    # limits, cached pages) under its own prefix, by default derived from its secret key, which
    # all instances of one deployment share and two deployments never do.
    if not cfg.get("REDIS_PREFIX"):
        tag = hashlib.sha256(b"civicforum redis prefix\n" + secret.encode()).hexdigest()[:12]
        cfg["REDIS_PREFIX"] = f"civicforum:{tag}:"
    cfg.setdefault("RATELIMIT_KEY_PREFIX", f"{cfg['REDIS_PREFIX']}limits")
    cfg.setdefault("PAGE_CACHE_REDIS_PREFIX", f"{cfg['REDIS_PREFIX']}page:")
    cfg["RATELIMIT_HEADERS_ENABLED"] = True
    cfg["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(app.root_path) / "translations")
