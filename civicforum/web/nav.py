"""Navigation registry: features add their own links, base.html lists what the user may see.

Visibility here is only about what is *shown*; every view still checks permissions itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask
from flask_login import current_user


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: Callable[[], str]
    order: int = 50
    visible: Callable[[], bool] = field(default=lambda: True)
    badge: Callable[[], int] | None = None


AREAS = ("main", "account", "footer", "admin")


def register(app: Flask, area: str, item: NavItem) -> None:
    """Add a navigation link to an area of the layout."""
    assert area in AREAS, area
    items: list[NavItem] = app.extensions.setdefault("civicforum_nav", {}).setdefault(area, [])
    if all(i.endpoint != item.endpoint for i in items):
        items.append(item)
        items.sort(key=lambda i: i.order)


def has_role(*roles: str) -> Callable[[], bool]:
    return lambda: bool(current_user.is_authenticated and set(roles) & current_user.role_names)


def init_app(app: Flask) -> None:
    def entries(area: str) -> list[NavItem]:
        return [i for i in app.extensions.get("civicforum_nav", {}).get(area, []) if i.visible()]

    @app.context_processor
    def _nav() -> dict[str, object]:
        return {
            "main_nav": lambda: [(i.endpoint, i.label()) for i in entries("main")],
            "footer_nav": lambda: [(i.endpoint, i.label()) for i in entries("footer")],
            "admin_nav": lambda: [(i.endpoint, i.label()) for i in entries("admin")],
            "account_nav": lambda: [
                (i.endpoint, i.label(), i.badge() if i.badge else 0) for i in entries("account")
            ],
        }
