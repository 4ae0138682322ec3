"""One page of a listing: the shape the `pagination` macro in _macros/forms.html expects."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Page[T]:
    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return last_page(self.total, self.per_page)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def last_page(total: int, per_page: int) -> int:
    return max(1, math.ceil(total / per_page))


def clamp_page(page: int, *, total: int, per_page: int) -> int:
    """A page number within 1..last. Past the end (an old link, a list that shrank): the
    last page, not "page 3 of 2" with an empty list."""
    return min(max(1, page), last_page(total, per_page))


def paginate(session: Session, stmt: Select[Any], *, page: int, per_page: int) -> Page[Any]:
    """Run `stmt` for one page (1-based) and count all its rows."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page = clamp_page(page, total=int(total), per_page=per_page)
    items = list(session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, page, per_page, int(total))
