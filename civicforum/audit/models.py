"""Append-only audit events of every state-changing action."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from civicforum.db import db, utcnow


class AppendOnlyError(RuntimeError):
    """Append-only records cannot be changed or deleted."""


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(80), index=True)  # "<feature>:<subject>:<verb>"
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[int | None]
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


APPEND_ONLY: set[type] = {AuditEvent}


def register_append_only(model: type) -> type:
    """Class decorator: instances of the model may be inserted, never updated or deleted."""
    APPEND_ONLY.add(model)
    return model


@event.listens_for(Session, "before_flush")
def _refuse_changes(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if type(obj) in APPEND_ONLY and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyError(f"{type(obj).__name__} records are append-only")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk(state: Any) -> None:
    if state.is_update or state.is_delete:
        for mapper in state.all_mappers:
            if mapper.class_ in APPEND_ONLY:
                raise AppendOnlyError(f"{mapper.class_.__name__} records are append-only")
