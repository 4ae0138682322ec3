"""Proposals: writing, revisions, lifecycle, supports, browse and search."""

from __future__ import annotations

from flask import Flask

from civicforum.proposals import models, settings  # noqa: F401  (tables, registered settings)


def init_app(app: Flask) -> None:
    pass
