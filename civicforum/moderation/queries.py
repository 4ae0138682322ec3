"""Read queries for moderation: the queue with its context, histories, the public log.

Each page is a fixed number of queries whatever its length (no per-row lazy loads).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import extract, func, select, update
from sqlalchemy.orm import Session, selectinload

from civicforum.accounts.models import User
from civicforum.db import utcnow
from civicforum.deliberation.models import Comment, CommentEdit, CommentStatus
from civicforum.moderation import items
from civicforum.moderation.models import (
    ActionKind,
    Appeal,
    AppealStatus,
    ItemType,
    ModerationAction,
    ModerationFlag,
    Sanction,
    SanctionKind,
)
from civicforum.proposals.models import Proposal, ProposalRevision
from civicforum.web.pagination import Page, clamp_page

T = TypeVar("T")
PAGE_SIZE = 25


# ------------------------------------------------------------------ helpers for policy


def approved_comment_count(session: Session, user_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(Comment.author_id == user_id, Comment.status == CommentStatus.VISIBLE)
        )
        or 0
    )


def comments_since(session: Session, user_id: int, since: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(Comment.author_id == user_id, Comment.created_at >= since)
        )
        or 0
    )


def recent_comment_bodies(session: Session, user_id: int, since: datetime) -> list[str]:
    return list(
        session.scalars(
            select(Comment.body_source)
            .where(Comment.author_id == user_id, Comment.created_at >= since)
            .order_by(Comment.id.desc())
            .limit(200)
        )
    )


def purge_item_text(session: Session, item: Any) -> None:
    """Erase a removed item's text everywhere it is stored, keeping the rows.

    Edit histories (comment_edits, proposal_revisions) are append-only for everyone else;
    this is the one deliberate exception: content removed for being illegal or abusive must
    not survive in the database. The rows stay, so the history still shows that an edit
    happened and when; only the words go. Core-level UPDATEs bypass the ORM append-only guard
    on purpose, and nothing else in the code base does this.
    """
    if items.kind_of(item) == ItemType.COMMENT:
        session.execute(
            update(Comment)
            .where(Comment.id == item.id)
            .values(body_source="", body_html="")
            .execution_options(synchronize_session=False)
        )
        session.connection().execute(
            CommentEdit.__table__.update()
            .where(CommentEdit.__table__.c.comment_id == item.id)
            .values(body_source="")
        )
    else:
        session.execute(
            update(Proposal)
            .where(Proposal.id == item.id)
            .values(title="[removed]", summary="", body_source="", body_html="")
            .execution_options(synchronize_session=False)
        )
        session.connection().execute(
            ProposalRevision.__table__.update()
            .where(ProposalRevision.__table__.c.proposal_id == item.id)
            .values(title="[removed]", summary="", body_source="")
        )
    session.expire(item)


# ------------------------------------------------------------------ the queue


@dataclass
class AuthorHistory:
    user: User
    comments: int = 0
    visible: int = 0
    hidden: int = 0
    removed: int = 0
    warnings: int = 0
    restriction: str | None = None  # "suspended" | "banned"


@dataclass
class QueueEntry:
    kind: str
    item: Any
    state: str
    waiting_since: datetime
    author: User
    history: AuthorHistory
    proposal: Proposal | None = None
    parent: Comment | None = None
    flag_counts: list[tuple[str, int]] = field(default_factory=list)
    flag_notes: list[str] = field(default_factory=list)
    flag_total: int = 0
    can_act: bool = True  # False on the moderator's own contributions

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.item.id}"

    @property
    def dom_id(self) -> str:
        return f"queue-row-{self.kind}-{self.item.id}"


QUEUE_TABS = ("review", "hidden")


def _queue_refs(session: Session, tab: str) -> list[tuple[str, int, datetime]]:
    """(kind, id, waiting since) of every item on the tab, oldest first."""
    refs: dict[tuple[str, int], datetime] = {}
    if tab == "review":
        flagged = session.execute(
            select(
                ModerationFlag.item_type,
                ModerationFlag.item_id,
                func.min(ModerationFlag.created_at),
            )
            .where(ModerationFlag.resolved_at.is_(None))
            .group_by(ModerationFlag.item_type, ModerationFlag.item_id)
        ).all()
        for kind, item_id, since in flagged:
            refs[(kind, item_id)] = since
        for item_id, since in session.execute(
            select(Comment.id, Comment.created_at).where(Comment.status == CommentStatus.PENDING)
        ).all():
            refs.setdefault((ItemType.COMMENT, item_id), since)
    else:
        hidden_comments = session.execute(
            select(Comment.id, Comment.created_at).where(Comment.status == CommentStatus.HIDDEN)
        ).all()
        hidden_proposals = session.execute(
            select(Proposal.id, Proposal.created_at).where(
                Proposal.moderation_status == items.HIDDEN
            )
        ).all()
        for item_id, since in hidden_comments:
            refs[(ItemType.COMMENT, item_id)] = since
        for item_id, since in hidden_proposals:
            refs[(ItemType.PROPOSAL, item_id)] = since
    ordered = sorted(refs.items(), key=lambda kv: (kv[1], kv[0]))
    return [(kind, item_id, since) for (kind, item_id), since in ordered]


def queue_count(session: Session) -> int:
    return len(_queue_refs(session, "review"))


def queue_page(session: Session, *, tab: str, page: int, viewer: Any) -> Page[QueueEntry]:
    refs = _queue_refs(session, tab)
    page = clamp_page(page, total=len(refs), per_page=PAGE_SIZE)
    chunk = refs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    entries = load_entries(session, [(k, i) for k, i, _ in chunk], viewer=viewer)
    since = {(k, i): s for k, i, s in chunk}
    for entry in entries:
        entry.waiting_since = since[(entry.kind, entry.item.id)]
    return Page(entries, page, PAGE_SIZE, len(refs))


def load_entries(session: Session, refs: list[tuple[str, int]], *, viewer: Any) -> list[QueueEntry]:
    """Queue rows with their context, in the order of `refs`; unknown refs are skipped."""
    comment_ids = [i for k, i in refs if k == ItemType.COMMENT]
    proposal_ids = [i for k, i in refs if k == ItemType.PROPOSAL]
    comments = {
        c.id: c
        for c in session.scalars(
            select(Comment)
            .where(Comment.id.in_(comment_ids))
            .options(
                selectinload(Comment.author),
                selectinload(Comment.proposal),
                selectinload(Comment.parent),
            )
        )
    }
    proposals = {
        p.id: p
        for p in session.scalars(
            select(Proposal)
            .where(Proposal.id.in_(proposal_ids))
            .options(selectinload(Proposal.author))
        )
    }
    found: list[tuple[str, Any]] = []
    for kind, item_id in refs:
        item = (comments if kind == ItemType.COMMENT else proposals).get(item_id)
        if item is not None:
            found.append((kind, item))
    flags = flag_summary(session, [(k, i.id) for k, i in found])
    histories = author_histories(session, {i.author_id for _, i in found})
    entries = []
    for kind, item in found:
        counts, notes = flags.get((kind, item.id), (Counter(), []))
        entries.append(
            QueueEntry(
                kind=kind,
                item=item,
                state=items.state_of(item),
                waiting_since=getattr(item, "created_at", utcnow()),
                author=item.author,
                history=histories[item.author_id],
                proposal=item.proposal if kind == ItemType.COMMENT else item,
                parent=item.parent if kind == ItemType.COMMENT else None,
                flag_counts=counts.most_common(),
                flag_notes=notes,
                flag_total=sum(counts.values()),
                can_act=item.author_id != getattr(viewer, "id", None),
            )
        )
    return entries


def flag_summary(
    session: Session, refs: list[tuple[str, int]]
) -> dict[tuple[str, int], tuple[Counter[str], list[str]]]:
    """Open flags per item: counts by reason and the reporters' notes (never who sent them)."""
    out: dict[tuple[str, int], tuple[Counter[str], list[str]]] = defaultdict(
        lambda: (Counter(), [])
    )
    if not refs:
        return out
    ids_by_kind: dict[str, list[int]] = defaultdict(list)
    for kind, item_id in refs:
        ids_by_kind[kind].append(item_id)
    for kind, ids in ids_by_kind.items():
        rows = session.execute(
            select(ModerationFlag.item_id, ModerationFlag.reason, ModerationFlag.details)
            .where(
                ModerationFlag.item_type == kind,
                ModerationFlag.item_id.in_(ids),
                ModerationFlag.resolved_at.is_(None),
            )
            .order_by(ModerationFlag.id)
        ).all()
        for item_id, reason, details in rows:
            counts, notes = out[(kind, item_id)]
            counts[reason] += 1
            if details:
                notes.append(details)
    return out


def author_histories(session: Session, user_ids: set[int]) -> dict[int, AuthorHistory]:
    """A short record per author: comments by status, warnings, current restriction."""
    if not user_ids:
        return {}
    users = session.scalars(select(User).where(User.id.in_(user_ids))).all()
    out = {u.id: AuthorHistory(user=u) for u in users}
    for author_id, status, n in session.execute(
        select(Comment.author_id, Comment.status, func.count())
        .where(Comment.author_id.in_(user_ids))
        .group_by(Comment.author_id, Comment.status)
    ).all():
        history = out[author_id]
        history.comments += n
        value = str(getattr(status, "value", status))
        if value == items.VISIBLE:
            history.visible += n
        elif value == items.HIDDEN:
            history.hidden += n
        elif value == items.REMOVED:
            history.removed += n
    now = utcnow()
    for sanction in session.scalars(select(Sanction).where(Sanction.user_id.in_(user_ids))):
        history = out[sanction.user_id]
        in_force = sanction.lifted_at is None and (
            sanction.ends_at is None or sanction.ends_at > now
        )
        if sanction.kind == SanctionKind.WARN:
            history.warnings += 1
        elif sanction.kind == SanctionKind.BAN and in_force:
            history.restriction = "banned"
        elif in_force and history.restriction is None:
            history.restriction = "suspended"
    return out


# ------------------------------------------------------------------ users and appeals


def user_sanctions(session: Session, user_id: int) -> list[Sanction]:
    return list(
        session.scalars(
            select(Sanction)
            .where(Sanction.user_id == user_id)
            .options(selectinload(Sanction.created_by))
            .order_by(Sanction.id.desc())
        )
    )


def user_actions(session: Session, user_id: int, limit: int = 50) -> list[ModerationAction]:
    return list(
        session.scalars(
            select(ModerationAction)
            .where(ModerationAction.target_user_id == user_id)
            .options(selectinload(ModerationAction.actor))
            .order_by(ModerationAction.id.desc())
            .limit(limit)
        )
    )


def pending_appeals(session: Session) -> list[Appeal]:
    return list(
        session.scalars(
            select(Appeal)
            .where(Appeal.status == AppealStatus.PENDING)
            .options(
                selectinload(Appeal.appellant),
                selectinload(Appeal.action).selectinload(ModerationAction.actor),
            )
            .order_by(Appeal.created_at, Appeal.id)
        )
    )


@dataclass
class OwnItem:
    """One of the user's hidden or removed contributions, with its appeal if any."""

    kind: str
    item: Any
    state: str
    action: ModerationAction | None
    appeal: Appeal | None


def own_moderated_items(session: Session, user_id: int) -> list[OwnItem]:
    comments = session.scalars(
        select(Comment)
        .where(
            Comment.author_id == user_id,
            Comment.status.in_(
                [CommentStatus.HIDDEN, CommentStatus.REMOVED, CommentStatus.PENDING]
            ),
        )
        .options(selectinload(Comment.proposal))
        .order_by(Comment.id.desc())
        .limit(100)
    ).all()
    proposals = session.scalars(
        select(Proposal)
        .where(Proposal.author_id == user_id, Proposal.moderation_status != items.VISIBLE)
        .order_by(Proposal.id.desc())
        .limit(100)
    ).all()
    found: list[tuple[str, Any]] = [(ItemType.COMMENT, c) for c in comments]
    found += [(ItemType.PROPOSAL, p) for p in proposals]
    appeals = {
        (a.item_type, a.item_id): a
        for a in session.scalars(
            select(Appeal)
            .where(Appeal.appellant_id == user_id)
            .options(selectinload(Appeal.decided_by))
        )
    }
    actions: dict[tuple[str, int], ModerationAction] = {}
    for record in session.scalars(
        select(ModerationAction)
        .where(ModerationAction.target_user_id == user_id, ModerationAction.item_type.is_not(None))
        .order_by(ModerationAction.id)
    ):
        if record.new_state in (items.HIDDEN, items.REMOVED):
            actions[(record.item_type or "", record.item_id or 0)] = record
    return [
        OwnItem(
            kind=kind,
            item=item,
            state=items.state_of(item),
            action=actions.get((kind, item.id)),
            appeal=appeals.get((kind, item.id)),
        )
        for kind, item in found
    ]


def user_appeals(session: Session, user_id: int) -> list[Appeal]:
    return list(
        session.scalars(
            select(Appeal).where(Appeal.appellant_id == user_id).order_by(Appeal.id.desc())
        )
    )


def unseen_notice_count(session: Session, user_id: int) -> int:
    warnings = session.scalar(
        select(func.count())
        .select_from(Sanction)
        .where(Sanction.user_id == user_id, Sanction.seen_at.is_(None))
    )
    decisions = session.scalar(
        select(func.count())
        .select_from(Appeal)
        .where(
            Appeal.appellant_id == user_id,
            Appeal.seen_at.is_(None),
            Appeal.status != AppealStatus.PENDING,
        )
    )
    return int(warnings or 0) + int(decisions or 0)


# ------------------------------------------------------------------ transparency


PUBLIC_ACTIONS = tuple(a.value for a in ActionKind)


def public_log(session: Session, *, page: int) -> Page[ModerationAction]:
    total = int(session.scalar(select(func.count()).select_from(ModerationAction)) or 0)
    page = clamp_page(page, total=total, per_page=PAGE_SIZE)
    rows = list(
        session.scalars(
            select(ModerationAction)
            .order_by(ModerationAction.at.desc(), ModerationAction.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    return Page(rows, page, PAGE_SIZE, total)


@dataclass
class MonthlyCounts:
    months: list[str]  # "2026-11", oldest first
    by_action: dict[str, list[int]]  # action -> count per month
    by_reason: dict[str, list[int]]  # reason code ("" for none) -> count per month


def monthly_counts(session: Session, *, months: int = 12) -> MonthlyCounts:
    """Actions per calendar month (UTC) for the last `months` months, by action and reason."""
    now = utcnow()
    labels: list[str] = []
    year, month = now.year, now.month
    for _ in range(months):
        labels.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    labels.reverse()
    first_year, first_month = (int(x) for x in labels[0].split("-"))
    start = now.replace(
        year=first_year, month=first_month, day=1, hour=0, minute=0, second=0, microsecond=0
    )
    y = extract("year", ModerationAction.at)
    m = extract("month", ModerationAction.at)
    rows = session.execute(
        select(y, m, ModerationAction.action, ModerationAction.reason_code, func.count())
        .where(ModerationAction.at >= start - timedelta(seconds=1))
        .group_by(y, m, ModerationAction.action, ModerationAction.reason_code)
    ).all()
    index = {label: n for n, label in enumerate(labels)}
    by_action: dict[str, list[int]] = {}
    by_reason: dict[str, list[int]] = {}
    for year_value, month_value, action, reason_code, n in rows:
        slot = index.get(f"{int(year_value):04d}-{int(month_value):02d}")
        if slot is None:
            continue
        by_action.setdefault(action, [0] * months)[slot] += n
        by_reason.setdefault(reason_code or "", [0] * months)[slot] += n
    return MonthlyCounts(labels, by_action, by_reason)
