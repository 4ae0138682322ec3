"""Moderation: flags, pre-moderation, the moderator queue, sanctions, appeals, public log."""

from __future__ import annotations

from flask import Flask

from civicforum.moderation import models, policy  # noqa: F401  (tables, settings)


def init_app(app: Flask) -> None:
    from civicforum.moderation import views

    views.init_app(app)
