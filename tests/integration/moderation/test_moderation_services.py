"""Moderation services: flags, decisions, optimistic locking, sanctions, appeals, the log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, update

from civicforum.audit.models import AppendOnlyError, AuditEvent
from civicforum.db import utcnow
from civicforum.deliberation.models import CommentEdit, CommentStatus
from civicforum.moderation import policy, queries, services
from civicforum.moderation.errors import (
    AlreadyHandledError,
    DuplicateAppealError,
    DuplicateCommentError,
    DuplicateFlagError,
    InvalidStateError,
    NotAllowedError,
    RateLimitedError,
)
from civicforum.moderation.models import Appeal, ModerationAction, ModerationFlag
from civicforum.proposals.models import ModerationStatus, ProposalRevision
from civicforum.settings.services import set_setting
from tests.factories import make_user
from tests.factories_moderation import (
    make_admin,
    make_comment,
    make_moderator,
    make_proposal,
    make_suspension,
)


def flag(session, item, n=1, reason="spam"):
    return [
        services.flag_item(session, item=item, flagger=make_user(session), reason=reason)
        for _ in range(n)
    ]


def actions(session, **where):
    query = select(ModerationAction)
    for key, value in where.items():
        query = query.where(getattr(ModerationAction, key) == value)
    return list(session.scalars(query.order_by(ModerationAction.id)))


# ------------------------------------------------------------------ flags


def test_flag_threshold_hides_pending_review_and_logs_it(db_session) -> None:
    comment = make_comment(db_session)
    flag(db_session, comment, 2)
    assert comment.status is CommentStatus.VISIBLE
    flag(db_session, comment, 1, reason="harassment")
    assert comment.status is CommentStatus.HIDDEN
    assert comment.hidden_reason and comment.moderation_version == 2
    [record] = actions(db_session, item_id=comment.id, item_type="comment")
    assert record.action == "flag_threshold" and record.actor_id is None
    assert record.reason_code == "spam" and record.data["flags"] == {"spam": 2, "harassment": 1}
    assert record.previous_state == "visible" and record.new_state == "hidden"
    kinds = db_session.scalars(select(AuditEvent.kind)).all()
    assert "moderation:action:flag_threshold" in kinds and "moderation:flag:add" in kinds


def test_threshold_is_a_setting(db_session) -> None:
    set_setting(db_session, "moderation.flag_threshold", 1, actor=None)
    proposal = make_proposal(db_session)
    flag(db_session, proposal)
    assert proposal.moderation_status is ModerationStatus.HIDDEN


def test_flagging_twice_or_own_content_or_unverified_is_refused(db_session) -> None:
    author = make_user(db_session)
    comment = make_comment(db_session, author=author)
    flagger = make_user(db_session)
    services.flag_item(db_session, item=comment, flagger=flagger, reason="spam")
    with pytest.raises(DuplicateFlagError):
        services.flag_item(db_session, item=comment, flagger=flagger, reason="hate")
    with pytest.raises(NotAllowedError, match="your own"):
        services.flag_item(db_session, item=comment, flagger=author, reason="spam")
    with pytest.raises(NotAllowedError, match="verify"):
        services.flag_item(
            db_session, item=comment, flagger=make_user(db_session, verified=False), reason="spam"
        )
    count = db_session.scalar(select(func.count()).select_from(ModerationFlag))
    assert count == 1


def test_suspended_user_cannot_flag(db_session) -> None:
    user = make_user(db_session)
    make_suspension(db_session, user=user, reason="Cooling off")
    with pytest.raises(policy.RestrictedAccountError, match="Cooling off"):
        services.flag_item(db_session, item=make_comment(db_session), flagger=user, reason="spam")


def test_flag_rate_limit_is_429(db_session) -> None:
    set_setting(db_session, "moderation.flags_per_hour", 2, actor=None)
    user = make_user(db_session)
    for _ in range(2):
        services.flag_item(db_session, item=make_comment(db_session), flagger=user, reason="spam")
    with pytest.raises(RateLimitedError) as error:
        services.flag_item(db_session, item=make_comment(db_session), flagger=user, reason="spam")
    assert error.value.status_code == 429 and "reports in the last hour" in error.value.message


# ------------------------------------------------------------------ decisions


def test_approve_dismisses_flags_and_restores_a_threshold_hidden_item(db_session) -> None:
    comment = make_comment(db_session)
    flag(db_session, comment, 3)
    moderator = make_moderator(db_session)
    record = services.moderate_item(
        db_session, item=comment, actor=moderator, action="approve", expected_version=2
    )
    assert comment.status is CommentStatus.VISIBLE and comment.hidden_reason is None
    assert record.previous_state == "hidden" and record.new_state == "visible"
    assert services.open_flags(db_session, comment) == []
    assert queries.queue_count(db_session) == 0


def test_hide_needs_a_reason_and_shows_it(db_session) -> None:
    comment = make_comment(db_session)
    moderator = make_moderator(db_session)
    with pytest.raises(services.ModerationError) as error:
        services.moderate_item(
            db_session, item=comment, actor=moderator, action="hide", expected_version=1
        )
    assert error.value.status_code == 422
    services.moderate_item(
        db_session,
        item=comment,
        actor=moderator,
        action="hide",
        expected_version=1,
        reason_code="off-topic",
        reason="Off-topic for this proposal",
    )
    assert comment.status is CommentStatus.HIDDEN
    assert comment.hidden_reason == "Off-topic for this proposal"


def test_remove_purges_text_and_edit_history_but_keeps_the_action(db_session) -> None:
    comment = make_comment(db_session, body="Illegal words here")
    db_session.add(
        CommentEdit(comment_id=comment.id, body_source="Earlier illegal words", written_at=utcnow())
    )
    db_session.flush()
    moderator = make_moderator(db_session)
    services.moderate_item(
        db_session,
        item=comment,
        actor=moderator,
        action="remove",
        expected_version=1,
        reason_code="illegal",
        reason="Unlawful content",
    )
    db_session.expire_all()
    assert comment.status is CommentStatus.REMOVED
    assert comment.body_source == "" and comment.body_html == ""
    assert db_session.scalars(select(CommentEdit.body_source)).all() == [""]
    [record] = actions(db_session, action="remove")
    assert record.reason == "Unlawful content" and "Illegal" not in str(record.data)
    with pytest.raises(InvalidStateError, match="removed"):
        services.moderate_item(
            db_session, item=comment, actor=moderator, action="restore", expected_version=2
        )


def test_removing_a_proposal_purges_revisions_and_search_text(db_session) -> None:
    proposal = make_proposal(db_session, title="Offensive title", body_source="offensive body")
    db_session.add(
        ProposalRevision(
            proposal_id=proposal.id,
            number=1,
            title="Offensive title",
            summary="s",
            body_source="offensive body",
            category_name="c",
            content_sha256="0" * 64,
        )
    )
    db_session.flush()
    services.moderate_item(
        db_session,
        item=proposal,
        actor=make_moderator(db_session),
        action="remove",
        expected_version=1,
        reason="Abusive",
    )
    db_session.expire_all()
    assert proposal.moderation_status is ModerationStatus.REMOVED
    assert "ffensive" not in proposal.title + proposal.body_source
    texts = db_session.execute(select(ProposalRevision.title, ProposalRevision.body_source)).all()
    assert all("ffensive" not in t + b for t, b in texts)


def test_second_moderator_on_the_same_version_gets_409_and_nothing_twice(db_session) -> None:
    comment = make_comment(db_session)
    first = make_moderator(db_session, display_name="Alice Mod")
    second = make_moderator(db_session)
    services.moderate_item(
        db_session, item=comment, actor=first, action="hide", expected_version=1, reason="x"
    )
    with pytest.raises(AlreadyHandledError, match="Alice Mod") as error:
        services.moderate_item(
            db_session, item=comment, actor=second, action="remove", expected_version=1, reason="y"
        )
    assert error.value.status_code == 409
    assert len(actions(db_session, item_id=comment.id)) == 1
    assert comment.status is CommentStatus.HIDDEN


def test_conditional_update_catches_a_concurrent_change(db_session) -> None:
    """The version moved on in the database after this moderator loaded the item."""
    comment = make_comment(db_session)
    from civicforum.deliberation.models import Comment

    db_session.execute(
        update(Comment)
        .where(Comment.id == comment.id)
        .values(moderation_version=2)
        .execution_options(synchronize_session=False)
    )
    assert comment.moderation_version == 1  # stale in memory, as in a concurrent request
    with pytest.raises(AlreadyHandledError):
        services.moderate_item(
            db_session,
            item=comment,
            actor=make_moderator(db_session),
            action="hide",
            expected_version=1,
            reason="x",
        )
    assert actions(db_session, item_id=comment.id) == []


def test_action_on_a_deleted_item_is_409(db_session) -> None:
    comment = make_comment(db_session, status=CommentStatus.DELETED)
    with pytest.raises(InvalidStateError) as error:
        services.moderate_item(
            db_session,
            item=comment,
            actor=make_moderator(db_session),
            action="hide",
            expected_version=1,
            reason="x",
        )
    assert error.value.status_code == 409


def test_moderator_cannot_moderate_own_content(db_session) -> None:
    moderator = make_moderator(db_session)
    comment = make_comment(db_session, author=moderator, status=CommentStatus.PENDING)
    with pytest.raises(NotAllowedError):
        services.moderate_item(
            db_session, item=comment, actor=moderator, action="approve", expected_version=1
        )


def test_bulk_applies_each_and_reports_conflicts(db_session) -> None:
    moderator = make_moderator(db_session)
    pending = [make_comment(db_session, status=CommentStatus.PENDING) for _ in range(3)]
    selection = [(c, 1) for c in pending]
    services.moderate_item(
        db_session,
        item=pending[1],
        actor=make_moderator(db_session),
        action="approve",
        expected_version=1,
    )
    result = services.bulk_moderate(
        db_session, selection=selection, actor=moderator, action="approve"
    )
    assert len(result.applied) == 2
    assert [ref for ref, _ in result.refused] == [f"comment:{pending[1].id}"]
    assert all(c.status is CommentStatus.VISIBLE for c in pending)


# ------------------------------------------------------------------ sanctions


def test_suspension_restricts_until_its_end_and_lift_ends_it(db_session) -> None:
    moderator = make_moderator(db_session)
    user = make_user(db_session)
    sanction = services.sanction_user(
        db_session, user=user, actor=moderator, kind="suspend", reason="Insults", days=7
    )
    restriction = policy.active_restriction(db_session, user)
    assert restriction is not None and restriction.kind == "suspended"
    assert restriction.until is not None and restriction.until > utcnow() + timedelta(days=6)
    with pytest.raises(policy.RestrictedAccountError, match="suspended until .*Insults"):
        policy.ensure_can_participate(db_session, user)
    services.lift_sanction(db_session, sanction=sanction, actor=moderator, reason="Apologised")
    assert policy.active_restriction(db_session, user) is None
    assert [a.action for a in actions(db_session, target_user_id=user.id)] == ["suspend", "lift"]


def test_expired_suspension_no_longer_applies(db_session) -> None:
    user = make_user(db_session)
    make_suspension(db_session, user=user, days=-1)
    assert policy.active_restriction(db_session, user) is None


def test_ban_outranks_suspension_and_warning_is_only_a_message(db_session) -> None:
    moderator = make_moderator(db_session)
    user = make_user(db_session)
    services.sanction_user(db_session, user=user, actor=moderator, kind="warn", reason="Be nice")
    assert policy.active_restriction(db_session, user) is None
    services.sanction_user(
        db_session, user=user, actor=moderator, kind="suspend", reason="a", days=2
    )
    services.sanction_user(db_session, user=user, actor=moderator, kind="ban", reason="Spam bot")
    restriction = policy.active_restriction(db_session, user)
    assert restriction is not None and restriction.kind == "banned" and restriction.until is None
    assert queries.unseen_notice_count(db_session, user.id) == 3


def test_sanction_rules_self_and_moderators(db_session) -> None:
    moderator = make_moderator(db_session)
    other_moderator = make_moderator(db_session)
    admin = make_admin(db_session)
    with pytest.raises(NotAllowedError, match="yourself"):
        services.sanction_user(db_session, user=moderator, actor=moderator, kind="warn", reason="x")
    with pytest.raises(NotAllowedError, match="administrators"):
        services.sanction_user(
            db_session, user=other_moderator, actor=moderator, kind="ban", reason="x"
        )
    with pytest.raises(NotAllowedError):
        services.sanction_user(
            db_session,
            user=make_user(db_session),
            actor=make_user(db_session),
            kind="warn",
            reason="x",
        )
    services.sanction_user(
        db_session, user=other_moderator, actor=admin, kind="suspend", reason="x", days=1
    )
    # A suspended moderator stops moderating too.
    with pytest.raises(policy.RestrictedAccountError):
        services.moderate_item(
            db_session,
            item=make_comment(db_session, status=CommentStatus.PENDING),
            actor=other_moderator,
            action="approve",
            expected_version=1,
        )


# ------------------------------------------------------------------ appeals


def hidden_by(session, moderator):
    comment = make_comment(session)
    services.moderate_item(
        session, item=comment, actor=moderator, action="hide", expected_version=1, reason="Rude"
    )
    return comment


def test_appeal_once_decided_by_another_moderator_restores(db_session) -> None:
    acting = make_moderator(db_session)
    comment = hidden_by(db_session, acting)
    appeal = services.file_appeal(
        db_session, item=comment, appellant=comment.author, text="It was a quote"
    )
    with pytest.raises(DuplicateAppealError):
        services.file_appeal(db_session, item=comment, appellant=comment.author, text="again")
    with pytest.raises(NotAllowedError, match="different moderator"):
        services.decide_appeal(db_session, appeal=appeal, actor=acting, grant=True, reason="x")
    other = make_moderator(db_session)
    services.decide_appeal(db_session, appeal=appeal, actor=other, grant=True, reason="Fair point")
    assert comment.status is CommentStatus.VISIBLE
    db_session.refresh(appeal)
    assert appeal.status == "granted" and appeal.decision_reason == "Fair point"
    with pytest.raises(AlreadyHandledError):
        services.decide_appeal(db_session, appeal=appeal, actor=other, grant=False, reason="x")


def test_an_admin_never_decides_an_appeal_against_her_own_decision(db_session) -> None:
    admin = make_admin(db_session)
    comment = hidden_by(db_session, admin)
    appeal = services.file_appeal(db_session, item=comment, appellant=comment.author, text="t")
    assert not services.can_decide_appeal(admin, appeal)
    with pytest.raises(NotAllowedError, match="different moderator"):
        services.decide_appeal(db_session, appeal=appeal, actor=admin, grant=False, reason="Mine")
    assert appeal.status == "pending"
    # Another admin (or any other moderator) decides it.
    services.decide_appeal(
        db_session, appeal=appeal, actor=make_admin(db_session), grant=False, reason="Stands"
    )
    assert comment.status is CommentStatus.HIDDEN
    assert actions(db_session)[-1].action == "appeal_rejected"


def test_only_the_author_appeals_and_only_hidden_or_removed(db_session) -> None:
    comment = hidden_by(db_session, make_moderator(db_session))
    with pytest.raises(NotAllowedError):
        services.file_appeal(db_session, item=comment, appellant=make_user(db_session), text="t")
    visible = make_comment(db_session)
    with pytest.raises(InvalidStateError):
        services.file_appeal(db_session, item=visible, appellant=visible.author, text="t")
    assert db_session.scalar(select(func.count()).select_from(Appeal)) == 0


# ------------------------------------------------------------------ the log is append-only


def test_moderation_log_refuses_update_and_delete_through_the_model_layer(db_session) -> None:
    comment = hidden_by(db_session, make_moderator(db_session))
    db_session.commit()  # releases the test's SAVEPOINT; each rollback below keeps the record
    [record] = actions(db_session, item_id=comment.id)
    record.reason = "rewritten history"
    with pytest.raises(AppendOnlyError):
        db_session.flush()
    db_session.rollback()
    [record] = actions(db_session, item_id=comment.id)
    db_session.delete(record)
    with pytest.raises(AppendOnlyError):
        db_session.flush()
    db_session.rollback()
    with pytest.raises(AppendOnlyError):
        db_session.execute(update(ModerationAction).values(reason="bulk rewrite"))
    with pytest.raises(AppendOnlyError):
        db_session.execute(delete(ModerationAction))
    db_session.rollback()
    assert [r.reason for r in actions(db_session, item_id=comment.id)] == ["Rude"]


# ------------------------------------------------------------------ policy helpers


def test_premoderation_modes(db_session) -> None:
    old = make_user(db_session, created_at=utcnow() - timedelta(days=30))
    new = make_user(db_session)
    moderator = make_moderator(db_session)
    assert not policy.needs_premoderation(db_session, new)  # default: off
    set_setting(db_session, "moderation.premoderation", "all", actor=None)
    assert policy.needs_premoderation(db_session, old)
    assert not policy.needs_premoderation(db_session, moderator)
    set_setting(db_session, "moderation.premoderation", "new", actor=None)
    assert policy.needs_premoderation(db_session, new)  # younger than 7 days
    assert policy.needs_premoderation(db_session, old)  # fewer than 3 approved comments
    for _ in range(3):
        make_comment(db_session, author=old)
    assert not policy.needs_premoderation(db_session, old)


def test_comment_rate_and_duplicates(db_session) -> None:
    user = make_user(db_session)
    make_comment(db_session, author=user, body="Bike lanes  on Main Street!")
    with pytest.raises(DuplicateCommentError):
        policy.ensure_not_duplicate(db_session, user, "bike lanes on main street!")
    policy.ensure_not_duplicate(db_session, user, "Something else entirely")
    policy.ensure_not_duplicate(db_session, make_user(db_session), "Bike lanes on Main Street!")
    set_setting(db_session, "moderation.comments_per_10_minutes", 2, actor=None)
    policy.check_comment_rate(db_session, user)
    make_comment(db_session, author=user)
    with pytest.raises(RateLimitedError) as error:
        policy.check_comment_rate(db_session, user)
    assert error.value.status_code == 429


def test_monthly_counts_group_by_action_and_reason(db_session) -> None:
    moderator = make_moderator(db_session)
    for reason_code in ("spam", "spam", "hate"):
        services.moderate_item(
            db_session,
            item=make_comment(db_session),
            actor=moderator,
            action="hide",
            expected_version=1,
            reason_code=reason_code,
            reason="r",
        )
    counts = queries.monthly_counts(db_session)
    assert len(counts.months) == 12 and counts.months[-1] == utcnow().strftime("%Y-%m")
    assert counts.by_action["hide"][-1] == 3
    assert counts.by_reason["spam"][-1] == 2 and counts.by_reason["hate"][-1] == 1
