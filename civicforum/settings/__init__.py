"""Site settings edited by admins (thresholds, periods, moderation policy)."""

from __future__ import annotations

from flask import Flask

from civicforum.settings import models  # noqa: F401


def init_app(app: Flask) -> None:
    pass
