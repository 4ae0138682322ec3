"""Moderation services: flags, decisions on items, sanctions and appeals.

Every service takes the session first, never commits, raises ModerationError subclasses
and writes one ModerationAction (the public, append-only log) plus one audit event
"moderation:action:<verb>" (which the civic-record ledger mirrors) per decision.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from civicforum.accounts.models import User
from civicforum.audit.services import record_event
from civicforum.db import utcnow
from civicforum.moderation import items, policy
from civicforum.moderation.errors import (
    AlreadyHandledError,
    DuplicateAppealError,
    DuplicateFlagError,
    InvalidStateError,
    ModerationError,
    NotAllowedError,
)
from civicforum.moderation.models import (
    APPEAL_MAX,
    REASON_MAX,
    ActionKind,
    Appeal,
    AppealStatus,
    FlagReason,
    ModerationAction,
    ModerationFlag,
    Sanction,
    SanctionKind,
)
from civicforum.moderation.text import _
from civicforum.settings.services import get_setting

MODERATOR_ROLES = frozenset({"moderator", "admin"})
ITEM_ACTIONS = (ActionKind.APPROVE, ActionKind.HIDE, ActionKind.REMOVE, ActionKind.RESTORE)
SUSPEND_MAX_DAYS = 365

# Which states each decision may start from (the target state follows from the action).
_FROM_STATES: dict[str, frozenset[str]] = {
    ActionKind.APPROVE: frozenset({items.PENDING, items.VISIBLE, items.HIDDEN}),
    ActionKind.HIDE: frozenset({items.PENDING, items.VISIBLE, items.HIDDEN}),
    ActionKind.REMOVE: frozenset({items.PENDING, items.VISIBLE, items.HIDDEN}),
    ActionKind.RESTORE: frozenset({items.HIDDEN}),
}
_TO_STATE = {
    ActionKind.APPROVE: items.VISIBLE,
    ActionKind.HIDE: items.HIDDEN,
    ActionKind.REMOVE: items.REMOVED,
    ActionKind.RESTORE: items.VISIBLE,
}


class TooLongError(ModerationError):
    """The text is too long."""

    status_code = 422


def is_moderator(user: Any) -> bool:
    return bool(MODERATOR_ROLES & set(getattr(user, "active_role_names", ())))


def _check_text(text: str, limit: int) -> str:
    text = (text or "").strip()
    if len(text) > limit:
        raise TooLongError(_("At most %(n)s characters.", n=limit))
    return text


def _ensure_moderator(session: Session, actor: Any) -> None:
    if not is_moderator(actor):
        raise NotAllowedError(_("Only moderators can do this."))
    # A sanctioned moderator keeps reading but stops moderating, like any other participation.
    policy.ensure_can_participate(session, actor)


def log_action(
    session: Session,
    *,
    action: str,
    actor: Any,
    item: Any = None,
    target_user_id: int | None = None,
    reason_code: str | None = None,
    reason: str = "",
    previous: str | None = None,
    new: str | None = None,
    data: dict[str, Any] | None = None,
) -> ModerationAction:
    """Append one record to the moderation log and its audit event; the caller commits."""
    record = ModerationAction(
        actor_id=getattr(actor, "id", None),
        action=str(action),
        item_type=items.kind_of(item) if item is not None else None,
        item_id=item.id if item is not None else None,
        target_user_id=target_user_id,
        reason_code=reason_code,
        reason=reason,
        previous_state=previous,
        new_state=new,
        data=data or {},
    )
    session.add(record)
    session.flush()  # need the id for the audit event, flags and appeals
    subject = (
        item
        if item is not None
        else (session.get(User, target_user_id) if target_user_id else None)
    )
    record_event(
        session,
        f"moderation:action:{action}",
        actor=actor,
        subject=subject,
        data={
            "action_id": record.id,
            "item": record.item_ref,
            "user": target_user_id if item is None else None,
            "action": str(action),
            "reason_code": reason_code,
            "reason": reason,
            "previous": previous,
            "new": new,
        },
    )
    return record


def last_action(session: Session, item: Any) -> ModerationAction | None:
    return session.scalars(
        select(ModerationAction)
        .where(
            ModerationAction.item_type == items.kind_of(item),
            ModerationAction.item_id == item.id,
        )
        .order_by(ModerationAction.id.desc())
        .limit(1)
    ).first()


def _already_handled(session: Session, item: Any) -> AlreadyHandledError:
    last = last_action(session, item)
    who = last.actor.display_name if last is not None and last.actor is not None else None
    if who:
        return AlreadyHandledError(
            _(
                "This item was already handled by %(name)s. Reload to see its current state.",
                name=who,
            )
        )
    return AlreadyHandledError(
        _("This item was changed by someone else. Reload to see its current state.")
    )


def open_flags(session: Session, item: Any) -> list[ModerationFlag]:
    return list(
        session.scalars(
            select(ModerationFlag).where(
                ModerationFlag.item_type == items.kind_of(item),
                ModerationFlag.item_id == item.id,
                ModerationFlag.resolved_at.is_(None),
            )
        )
    )


def _resolve_flags(session: Session, item: Any, action: ModerationAction) -> int:
    result = session.execute(
        update(ModerationFlag)
        .where(
            ModerationFlag.item_type == items.kind_of(item),
            ModerationFlag.item_id == item.id,
            ModerationFlag.resolved_at.is_(None),
        )
        .values(resolved_at=utcnow(), resolved_by_action_id=action.id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- flags


def _exists_for(session: Session, user_column: Any, item: Any, user_id: int) -> bool:
    """Whether the user already has a row (flag, appeal) about this item in that table."""
    model = user_column.class_
    return bool(
        session.scalar(
            select(func.count())
            .select_from(model)
            .where(
                model.item_type == items.kind_of(item),
                model.item_id == item.id,
                user_column == user_id,
            )
        )
    )


def has_flagged(session: Session, *, item: Any, user: Any) -> bool:
    return _exists_for(session, ModerationFlag.flagger_id, item, user.id)


def flag_item(
    session: Session, *, item: Any, flagger: Any, reason: str, details: str = ""
) -> ModerationFlag:
    """Report an item once; at the threshold of open reports it is hidden pending review."""
    policy.ensure_can_participate(session, flagger)
    if not flagger.is_email_verified:
        raise NotAllowedError(_("Please verify your email address before reporting content."))
    if items.author_id_of(item) == flagger.id:
        raise NotAllowedError(_("You cannot report your own contribution."))
    if reason not in {r.value for r in FlagReason}:
        raise ModerationError(_("Choose a reason for the report."), status_code=422)
    details = _check_text(details, REASON_MAX)
    if reason == FlagReason.OTHER and not details:
        raise ModerationError(_("Please describe the problem."), status_code=422)
    if has_flagged(session, item=item, user=flagger):
        raise DuplicateFlagError(_("You have already reported this. Moderators will review it."))
    if not items.is_public(item):
        raise InvalidStateError(
            _("This contribution is not shown any more; there is nothing to report.")
        )
    policy.check_flag_rate(session, flagger)
    flag = ModerationFlag(
        item_type=items.kind_of(item),
        item_id=item.id,
        flagger_id=flagger.id,
        reason=reason,
        details=details,
    )
    session.add(flag)
    session.flush()  # a concurrent duplicate surfaces here as IntegrityError (unique key)
    record_event(
        session,
        "moderation:flag:add",
        actor=flagger,
        subject=item,
        data={"item": items.ref(item), "reason": reason},
    )
    _hide_at_threshold(session, item)
    return flag


def _hide_at_threshold(session: Session, item: Any) -> None:
    flags = open_flags(session, item)
    threshold = int(get_setting(session, policy.FLAG_THRESHOLD.key))
    if len(flags) < threshold or items.state_of(item) != items.VISIBLE:
        return
    counts = Counter(f.reason for f in flags)
    reason = _("Hidden pending review after reports from several members.")
    if not items.set_state(
        session,
        item,
        expected_version=item.moderation_version,
        state=items.HIDDEN,
        hidden_reason=reason,
    ):
        return  # a moderator acted at the same moment; their decision stands
    log_action(
        session,
        action=ActionKind.FLAG_THRESHOLD,
        actor=None,
        item=item,
        target_user_id=items.author_id_of(item),
        reason_code=counts.most_common(1)[0][0],
        reason=reason,
        previous=items.VISIBLE,
        new=items.HIDDEN,
        data={"flags": dict(counts)},
    )


# ---------------------------------------------------------------------------- decisions


def moderate_item(
    session: Session,
    *,
    item: Any,
    actor: Any,
    action: str,
    expected_version: int,
    reason_code: str | None = None,
    reason: str = "",
) -> ModerationAction:
    """Approve, hide, remove or restore one item seen at `expected_version`; caller commits.

    The second of two moderators acting on the same version gets AlreadyHandledError (409).
    """
    _ensure_moderator(session, actor)
    if action not in _TO_STATE:
        raise ModerationError(_("Unknown action."))
    if items.author_id_of(item) == actor.id:
        raise NotAllowedError(_("You cannot moderate your own contribution."))
    reason = _check_text(reason, REASON_MAX)
    if reason_code is not None and reason_code not in {r.value for r in FlagReason}:
        raise ModerationError(_("Choose a reason."), status_code=422)
    if action in (ActionKind.HIDE, ActionKind.REMOVE) and not reason:
        raise ModerationError(_("A public reason is required."), status_code=422)
    if item.moderation_version != expected_version:
        raise _already_handled(session, item)
    previous = items.state_of(item)
    if previous == items.DELETED:
        raise InvalidStateError(_("This contribution was deleted by its author."))
    if previous not in _FROM_STATES[action]:
        if previous == items.REMOVED:
            raise InvalidStateError(_("This contribution was removed; its text no longer exists."))
        raise InvalidStateError(_("This contribution is already in that state."))
    flags = open_flags(session, item)
    if action == ActionKind.APPROVE and previous == items.VISIBLE and not flags:
        raise InvalidStateError(
            _("There is nothing to approve: this contribution is shown and unreported.")
        )
    new = _TO_STATE[action]
    hidden_reason = reason if new == items.HIDDEN else None
    if not items.set_state(
        session, item, expected_version=expected_version, state=new, hidden_reason=hidden_reason
    ):
        raise _already_handled(session, item)
    if new == items.REMOVED:
        items.purge_content(session, item)
    record = log_action(
        session,
        action=action,
        actor=actor,
        item=item,
        target_user_id=items.author_id_of(item),
        reason_code=reason_code,
        reason=reason,
        previous=previous,
        new=new,
        data={"flags": dict(Counter(f.reason for f in flags))} if flags else None,
    )
    _resolve_flags(session, item, record)
    return record


@dataclass
class BulkResult:
    applied: list[ModerationAction] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (item ref, message)


def bulk_moderate(
    session: Session,
    *,
    selection: list[tuple[Any, int]],
    actor: Any,
    action: str,
    reason_code: str | None = None,
    reason: str = "",
) -> BulkResult:
    """Apply one decision to each (item, seen version); refusals are reported, not raised.

    Each item is applied under its own SAVEPOINT, so a conflict on one leaves the rest.
    """
    _ensure_moderator(session, actor)
    result = BulkResult()
    for item, version in selection:
        ref = items.ref(item)
        try:
            with session.begin_nested():
                result.applied.append(
                    moderate_item(
                        session,
                        item=item,
                        actor=actor,
                        action=action,
                        expected_version=version,
                        reason_code=reason_code,
                        reason=reason,
                    )
                )
        except ModerationError as error:
            if error.status_code == 422:
                raise
            result.refused.append((ref, error.message))
    return result


# ---------------------------------------------------------------------------- sanctions


def sanction_user(
    session: Session,
    *,
    user: Any,
    actor: Any,
    kind: str,
    reason: str,
    days: int | None = None,
) -> Sanction:
    """Warn, suspend (for `days`) or ban an account; only admins may sanction moderators."""
    _ensure_moderator(session, actor)
    if user.id == actor.id:
        raise NotAllowedError(_("You cannot sanction yourself."))
    if is_moderator(user) and not actor.has_role("admin"):
        raise NotAllowedError(_("Only administrators can sanction moderators."))
    if kind not in {k.value for k in SanctionKind}:
        raise ModerationError(_("Unknown sanction."), status_code=422)
    reason = _check_text(reason, REASON_MAX)
    if not reason:
        raise ModerationError(_("A reason is required."), status_code=422)
    ends_at = None
    if kind == SanctionKind.SUSPEND:
        if days is None or not 1 <= days <= SUSPEND_MAX_DAYS:
            raise ModerationError(
                _("A suspension lasts 1 to %(n)s days.", n=SUSPEND_MAX_DAYS), status_code=422
            )
        ends_at = utcnow() + timedelta(days=days)
    before = policy.active_restriction(session, user)
    sanction = Sanction(
        user_id=user.id, kind=kind, reason=reason, created_by_id=actor.id, ends_at=ends_at
    )
    session.add(sanction)
    session.flush()  # need the id for the log record
    log_action(
        session,
        action=kind,
        actor=actor,
        target_user_id=user.id,
        reason=reason,
        previous=before.kind if before else "active",
        new={"warn": before.kind if before else "active", "suspend": "suspended", "ban": "banned"}[
            kind
        ],
        data={"sanction_id": sanction.id, "ends_at": ends_at.isoformat() if ends_at else None},
    )
    return sanction


def lift_sanction(session: Session, *, sanction: Sanction, actor: Any, reason: str) -> None:
    """End a suspension or ban early; same permission rules as giving it; caller commits."""
    _ensure_moderator(session, actor)
    if sanction.user_id == actor.id:
        raise NotAllowedError(_("You cannot lift your own sanction."))
    if is_moderator(sanction.user) and not actor.has_role("admin"):
        raise NotAllowedError(_("Only administrators can change a moderator's sanctions."))
    reason = _check_text(reason, REASON_MAX)
    if not reason:
        raise ModerationError(_("A reason is required."), status_code=422)
    now = utcnow()
    if (
        sanction.kind == SanctionKind.WARN
        or sanction.lifted_at is not None
        or (sanction.ends_at is not None and sanction.ends_at <= now)
    ):
        raise InvalidStateError(_("This sanction is not in force."))
    result = session.execute(
        update(Sanction)
        .where(Sanction.id == sanction.id, Sanction.lifted_at.is_(None))
        .values(lifted_at=now, lifted_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise AlreadyHandledError(_("Another moderator has already lifted this sanction."))
    session.expire(sanction)
    after = policy.active_restriction(session, sanction.user)
    log_action(
        session,
        action=ActionKind.LIFT,
        actor=actor,
        target_user_id=sanction.user_id,
        reason=reason,
        previous="banned" if sanction.kind == SanctionKind.BAN else "suspended",
        new=after.kind if after else "active",
        data={"sanction_id": sanction.id},
    )


# ---------------------------------------------------------------------------- appeals


def appealable_action(session: Session, item: Any) -> ModerationAction | None:
    """The decision that put the item in its hidden/removed state, if it is in one."""
    state = items.state_of(item)
    if state not in (items.HIDDEN, items.REMOVED):
        return None
    return session.scalars(
        select(ModerationAction)
        .where(
            ModerationAction.item_type == items.kind_of(item),
            ModerationAction.item_id == item.id,
            ModerationAction.new_state == state,
        )
        .order_by(ModerationAction.id.desc())
        .limit(1)
    ).first()


def file_appeal(session: Session, *, item: Any, appellant: Any, text: str) -> Appeal:
    """The author contests the hiding or removal of their item, once; the caller commits."""
    if items.author_id_of(item) != appellant.id:
        raise NotAllowedError(_("Only the author can appeal."))
    text = _check_text(text, APPEAL_MAX)
    if not text:
        raise ModerationError(_("Please explain why the decision should change."), status_code=422)
    if _exists_for(session, Appeal.appellant_id, item, appellant.id):
        raise DuplicateAppealError(_("You have already appealed for this contribution."))
    action = appealable_action(session, item)
    if action is None:
        raise InvalidStateError(_("This contribution is not hidden or removed."))
    appeal = Appeal(
        item_type=items.kind_of(item),
        item_id=item.id,
        appellant_id=appellant.id,
        action_id=action.id,
        text=text,
    )
    session.add(appeal)
    session.flush()  # a concurrent second appeal surfaces here (unique key)
    record_event(
        session,
        "moderation:appeal:file",
        actor=appellant,
        subject=item,
        data={"item": items.ref(item), "appeal_id": appeal.id, "action_id": action.id},
    )
    return appeal


def can_decide_appeal(actor: Any, appeal: Appeal) -> bool:
    # A second pair of eyes for everyone: an admin's own decision is reviewed by someone
    # else too, or an appeal against her would be no appeal at all (issue #14 item 10).
    if not is_moderator(actor) or appeal.appellant_id == actor.id:
        return False
    return appeal.action.actor_id != actor.id


def decide_appeal(
    session: Session, *, appeal: Appeal, actor: Any, grant: bool, reason: str
) -> ModerationAction:
    """Grant (restore a hidden item) or reject an appeal, with a reason shown to the author.

    Decided by someone other than the moderator or admin who acted; caller commits.
    """
    _ensure_moderator(session, actor)
    if not can_decide_appeal(actor, appeal):
        raise NotAllowedError(
            _("An appeal is decided by a different moderator than the one who acted.")
        )
    reason = _check_text(reason, REASON_MAX)
    if not reason:
        raise ModerationError(_("A reason is required."), status_code=422)
    if appeal.status != AppealStatus.PENDING:
        who = appeal.decided_by.display_name if appeal.decided_by else "?"
        raise AlreadyHandledError(_("This appeal was already decided by %(name)s.", name=who))
    status = AppealStatus.GRANTED if grant else AppealStatus.REJECTED
    result = session.execute(
        update(Appeal)
        .where(Appeal.id == appeal.id, Appeal.status == AppealStatus.PENDING)
        .values(status=status, decided_by_id=actor.id, decided_at=utcnow(), decision_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.expire(appeal)
        raise AlreadyHandledError(_("Another moderator decided this appeal at the same time."))
    session.expire(appeal)
    item = items.load_item(session, appeal.item_type, appeal.item_id)
    previous = items.state_of(item)
    new = previous
    if grant and previous == items.HIDDEN:
        if not items.set_state(
            session,
            item,
            expected_version=item.moderation_version,
            state=items.VISIBLE,
            hidden_reason=None,
        ):
            raise _already_handled(session, item)
        new = items.VISIBLE
    record = log_action(
        session,
        action=ActionKind.APPEAL_GRANTED if grant else ActionKind.APPEAL_REJECTED,
        actor=actor,
        item=item,
        target_user_id=appeal.appellant_id,
        reason=reason,
        previous=previous,
        new=new,
        data={"appeal_id": appeal.id, "appealed_action_id": appeal.action_id},
    )
    if new == items.VISIBLE:
        _resolve_flags(session, item, record)
    return record


def mark_notices_seen(session: Session, *, user: Any) -> None:
    """The user opened their moderation page: warnings and decisions count as read."""
    now = utcnow()
    session.execute(
        update(Sanction)
        .where(Sanction.user_id == user.id, Sanction.seen_at.is_(None))
        .values(seen_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Appeal)
        .where(
            Appeal.appellant_id == user.id,
            Appeal.seen_at.is_(None),
            Appeal.status != AppealStatus.PENDING,
        )
        .values(seen_at=now)
        .execution_options(synchronize_session=False)
    )
