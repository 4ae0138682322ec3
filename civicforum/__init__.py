"""civicforum: participatory democracy with an independently verifiable vote ledger."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the auditor tools import civicforum.ledger/tabulation without Flask
    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the WSGI app: defaults, then CIVICFORUM_* environment, then `config`."""
    import os

    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    from civicforum import config as cfg
    from civicforum import extensions, i18n, jobs, mail, web
    from civicforum.features import FEATURES

    instance = (config or {}).get("INSTANCE_PATH") or os.environ.get("CIVICFORUM_INSTANCE_PATH")
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_path=instance or None,
        instance_relative_config=True,
    )
    app.config.from_object(cfg.Defaults)
    app.config.from_prefixed_env("CIVICFORUM")
    if config:
        app.config.update(config)
    cfg.finish_config(app)
    if app.config.get("PROXY_FIX"):
        # Behind a load balancer: trust one hop of X-Forwarded-For/Proto for client address
        # (login throttling) and https detection.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]

    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=_migrations_dir())
    extensions.csrf.init_app(app)
    extensions.htmx.init_app(app)
    extensions.limiter.init_app(app)
    i18n.init_app(app)
    web.init_app(app)
    jobs.init_app(app)
    mail.init_app(app)
    for feature in FEATURES:
        feature.init_app(app)
    return app


def _migrations_dir() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parent.parent / "migrations")
