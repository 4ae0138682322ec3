"""In-app notifications: replies, comments on your proposals, state changes; email digests."""

from __future__ import annotations

from flask import Flask

from civicforum.notifications import models  # noqa: F401


def init_app(app: Flask) -> None:
    pass
