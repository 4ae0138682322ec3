"""Notifications: created from audit events in the same transaction; read, settings, digests.

Creation listens to `record_event` (civicforum.audit.services.subscribe), so every feature
that records "deliberation:comment:create" or "proposal:state:change" notifies without
importing this package. Callers of the other services commit, as always.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from civicforum.accounts.models import User
from civicforum.audit.models import AuditEvent
from civicforum.db import utcnow
from civicforum.notifications.models import Notification, NotificationKind, NotificationSettings
from civicforum.proposals.models import Proposal, Support
from civicforum.web.pagination import paginate

PAGE_SIZE = 30
_SETTING_FOR = {
    NotificationKind.COMMENT_REPLY: "comment_replies",
    NotificationKind.PROPOSAL_COMMENT: "proposal_comments",
    NotificationKind.PROPOSAL_STATE: "state_changes",
}


def get_settings(session: Session, user: User) -> NotificationSettings:
    """The user's settings (defaults when never saved; not added to the session)."""
    row = session.get(NotificationSettings, user.id)
    return row or NotificationSettings(
        user_id=user.id, comment_replies=True, proposal_comments=True, state_changes=True
    )


def save_settings(
    session: Session,
    *,
    user: User,
    comment_replies: bool,
    proposal_comments: bool,
    state_changes: bool,
    email_digest: bool,
) -> NotificationSettings:
    """Store the user's notification choices; the caller commits."""
    from civicforum.audit.services import record_event

    row = session.get(NotificationSettings, user.id)
    if row is None:
        row = NotificationSettings(user_id=user.id)
        session.add(row)
    row.comment_replies = comment_replies
    row.proposal_comments = proposal_comments
    row.state_changes = state_changes
    user.notify_email_digest = email_digest
    record_event(
        session,
        "notifications:settings:change",
        actor=user,
        subject=user,
        data={
            "comment_replies": comment_replies,
            "proposal_comments": proposal_comments,
            "state_changes": state_changes,
            "email_digest": email_digest,
        },
    )
    return row


def _wanting(session: Session, user_ids: Iterable[int], kind: NotificationKind) -> list[int]:
    ids = sorted(set(user_ids))
    if not ids:
        return []
    column = getattr(NotificationSettings, _SETTING_FOR[kind])
    refused = set(
        session.scalars(
            select(NotificationSettings.user_id).where(
                NotificationSettings.user_id.in_(ids), column.is_(False)
            )
        )
    )
    return [i for i in ids if i not in refused]


def notify(
    session: Session,
    *,
    user_ids: Iterable[int],
    kind: NotificationKind,
    proposal_id: int | None,
    comment_id: int | None = None,
    actor_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Insert one notification per user who wants this kind (bulk); returns how many."""
    ids = [i for i in _wanting(session, user_ids, kind) if i != actor_id]
    if not ids:
        return 0
    now = utcnow()
    session.execute(
        insert(Notification),
        [
            {
                "user_id": uid,
                "kind": kind,
                "proposal_id": proposal_id,
                "comment_id": comment_id,
                "actor_id": actor_id,
                "data": data or {},
                "created_at": now,
            }
            for uid in ids
        ],
    )
    return len(ids)


def _on_comment(session: Session, event: AuditEvent) -> None:
    from civicforum.deliberation.models import Comment, CommentStatus

    comment = session.get(Comment, event.subject_id)
    # Pending comments notify nobody until a moderator approves them.
    if comment is None or comment.status is not CommentStatus.VISIBLE:
        return
    proposal = session.get(Proposal, comment.proposal_id)
    assert proposal is not None
    data = {"title": proposal.title}
    replied_to = None
    if comment.parent_id is not None:
        parent = session.get(Comment, comment.parent_id)
        if parent is not None:
            replied_to = parent.author_id
            notify(
                session,
                user_ids=[parent.author_id],
                kind=NotificationKind.COMMENT_REPLY,
                proposal_id=proposal.id,
                comment_id=comment.id,
                actor_id=comment.author_id,
                data=data,
            )
    if proposal.author_id != replied_to:
        notify(
            session,
            user_ids=[proposal.author_id],
            kind=NotificationKind.PROPOSAL_COMMENT,
            proposal_id=proposal.id,
            comment_id=comment.id,
            actor_id=comment.author_id,
            data=data,
        )


def _on_state_change(session: Session, event: AuditEvent) -> None:
    proposal = session.get(Proposal, event.subject_id)
    if proposal is None or event.data.get("to") == "published":
        return
    supporters = session.scalars(select(Support.user_id).where(Support.proposal_id == proposal.id))
    notify(
        session,
        user_ids=[proposal.author_id, *supporters],
        kind=NotificationKind.PROPOSAL_STATE,
        proposal_id=proposal.id,
        actor_id=event.actor_id,
        data={"title": proposal.title, "from": event.data.get("from"), "to": event.data.get("to")},
    )


def on_event(session: Session, event: AuditEvent) -> None:
    """Audit listener: turn the events we care about into notifications."""
    if event.kind == "deliberation:comment:create":
        _on_comment(session, event)
    elif event.kind == "proposal:state:change":
        _on_state_change(session, event)


def unread_count(session: Session, user: Any) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


@dataclass(frozen=True)
class NotificationView:
    notification: Notification
    actor_name: str | None


def list_notifications(session: Session, *, user: User, page: int = 1) -> Any:
    """A page of the user's notifications, newest first."""
    stmt = (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    return paginate(session, stmt, page=page, per_page=PAGE_SIZE)


def actor_names(session: Session, notifications: Iterable[Notification]) -> dict[int, str]:
    ids = {n.actor_id for n in notifications if n.actor_id}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


def mark_read(session: Session, *, user: User, notification_id: int | None = None) -> int:
    """Mark one notification (or all when None) as read; returns how many changed."""
    stmt = update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    result = session.execute(
        stmt.values(read_at=utcnow()).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Digest:
    user: User
    notifications: list[Notification]


def pending_digests(session: Session) -> list[Digest]:
    """Opted-in users with unread notifications not yet mailed."""
    rows = session.scalars(
        select(Notification)
        .join(User, User.id == Notification.user_id)
        .where(
            User.notify_email_digest.is_(True),
            User.email_verified_at.is_not(None),
            Notification.read_at.is_(None),
            Notification.emailed_at.is_(None),
        )
        .order_by(Notification.user_id, Notification.created_at)
    ).all()
    by_user: dict[int, list[Notification]] = {}
    for n in rows:
        by_user.setdefault(n.user_id, []).append(n)
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(list(by_user))))}
    return [Digest(users[uid], items) for uid, items in by_user.items()]


def mark_emailed(session: Session, digest: Digest, *, at: datetime | None = None) -> None:
    """Record that a digest went out; the caller commits after sending."""
    at = at or utcnow()
    for n in digest.notifications:
        n.emailed_at = at
    settings = session.get(NotificationSettings, digest.user.id)
    if settings is None:
        settings = NotificationSettings(user_id=digest.user.id)
        session.add(settings)
    settings.last_digest_at = at
