"""Site-wide pages: home, about, favicon, health check."""

from __future__ import annotations

from flask import Flask

from civicforum.pages import views


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
