"""Audit events (who did what, when) shared by every feature."""

from __future__ import annotations

from flask import Flask

from civicforum.audit import models  # noqa: F401  (registers the append-only guard)


def init_app(app: Flask) -> None:
    pass
