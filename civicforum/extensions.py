"""Flask extensions, created unbound and bound in create_app()."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

from civicforum.db import db, include_object

migrate = Migrate(render_as_batch=True, compare_type=True, include_object=include_object)
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()
babel = Babel()
# Storage is chosen in create_app: memory for one process, Redis when several instances share it.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def config_limit(key: str, fallback: str) -> str:
    """A rate limit from the config (`key`), so a deployment can tune it; else `fallback`."""
    return str(current_app.config.get(key) or fallback)


def _account_or_address() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"address:{get_remote_address()}"


def limit_done_posts_per_account(
    key: str, fallback: str, *, scope: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Anti-automation (ASVS 2.4.1) on a view's POSTs that succeed (a redirect: a form sent
    back to fix costs nothing), counted per signed-in account; a 429 with Retry-After past
    the limit. Shared across instances through the limiter's storage."""
    return limiter.limit(
        lambda: config_limit(key, fallback),
        key_func=_account_or_address,
        methods=["POST"],
        scope=scope,
        deduct_when=lambda response: response.status_code == 303,
    )


__all__ = ["db", "migrate", "login_manager", "csrf", "htmx", "babel", "limiter"]
