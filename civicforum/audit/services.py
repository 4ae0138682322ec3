"""record_event(): one audit row per state-changing action, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from civicforum.audit.models import AuditEvent

# Listeners get every event after it is flushed (e.g. the civic-record ledger appends the
# kinds it publishes). They run in the same transaction, so both commit or neither does.
Listener = Callable[[Session, AuditEvent], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def record_event(
    session: Session,
    kind: str,
    *,
    actor: Any = None,
    subject: Any = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event for `kind` ("<feature>:<subject>:<verb>"); the caller commits."""
    event = AuditEvent(
        kind=kind,
        actor_id=getattr(actor, "id", None),
        subject_type=type(subject).__tablename__ if subject is not None else None,
        subject_id=getattr(subject, "id", None),
        data=data or {},
    )
    session.add(event)
    session.flush()  # need the id for listeners that reference the event
    for listener in _listeners:
        listener(session, event)
    return event
