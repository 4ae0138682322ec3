"""Moderation: flags, pre-moderation, the moderator queue, sanctions, appeals, public log."""

from __future__ import annotations

from flask import Flask

from civicforum.moderation import models, policy  # noqa: F401  (tables, settings, facts)


def init_app(app: Flask) -> None:
    from civicforum.accounts import facts
    from civicforum.moderation import views

    facts.register(policy.SANCTIONED, policy.sanctioned_fact)

    views.init_app(app)
