"""Deliberation: threaded discussion of proposals with stances and votes."""

from __future__ import annotations

from flask import Flask

from civicforum.deliberation import models
from civicforum.web import cache


def init_app(app: Flask) -> None:
    from civicforum.deliberation import views

    app.register_blueprint(views.bp)
    cache.watch(models.Comment)  # votes change the comment's own tallies
