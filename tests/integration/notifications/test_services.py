"""Notifications from comments and state changes; settings; digests."""

from __future__ import annotations

from sqlalchemy import select

from civicforum.notifications import digest, services
from civicforum.notifications.models import Notification, NotificationKind
from civicforum.proposals import lifecycle
from civicforum.proposals import services as proposals
from civicforum.proposals.models import ProposalState
from tests.factories import make_user
from tests.factories_proposals import make_comment, make_proposal


def kinds(session, user) -> list[NotificationKind]:
    return list(
        session.scalars(
            select(Notification.kind)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id)
        )
    )


def test_reply_and_comment_notifications(db_session) -> None:
    author = make_user(db_session)
    proposal = make_proposal(db_session, author=author)
    commenter, replier = make_user(db_session), make_user(db_session)
    top = make_comment(db_session, proposal=proposal, author=commenter)
    make_comment(db_session, proposal=proposal, author=replier, parent_id=top.id)
    make_comment(db_session, proposal=proposal, author=author)  # own comment: nothing
    assert kinds(db_session, commenter) == [NotificationKind.COMMENT_REPLY]
    assert kinds(db_session, author) == [NotificationKind.PROPOSAL_COMMENT] * 2
    assert services.unread_count(db_session, author) == 2


def test_state_change_notifies_author_and_supporters_respecting_settings(db_session) -> None:
    author = make_user(db_session)
    proposal = make_proposal(db_session, author=author)
    fan, quiet = make_user(db_session), make_user(db_session)
    services.save_settings(
        db_session,
        user=quiet,
        comment_replies=True,
        proposal_comments=True,
        state_changes=False,
        email_digest=False,
    )
    for user in (fan, quiet):
        proposals.set_support(db_session, proposal=proposal, user=user, support=True)
    lifecycle.transition(db_session, proposal, ProposalState.WITHDRAWN, actor=author)
    assert kinds(db_session, fan) == [NotificationKind.PROPOSAL_STATE]
    assert kinds(db_session, quiet) == []
    assert kinds(db_session, author) == []  # the actor is not told about their own action


def test_mark_read_one_and_all(db_session) -> None:
    author = make_user(db_session)
    proposal = make_proposal(db_session, author=author)
    for _ in range(3):
        make_comment(db_session, proposal=proposal)
    first = db_session.scalar(select(Notification.id).where(Notification.user_id == author.id))
    assert services.mark_read(db_session, user=author, notification_id=first) == 1
    assert services.unread_count(db_session, author) == 2
    assert services.mark_read(db_session, user=other_user(db_session)) == 0
    assert services.mark_read(db_session, user=author) == 2
    assert services.unread_count(db_session, author) == 0


def other_user(session):
    return make_user(session)


def test_digest_collects_opted_in_unread_once(db_session) -> None:
    author = make_user(db_session, notify_email_digest=True)
    proposal = make_proposal(db_session, author=author, title="Night buses")
    make_comment(db_session, proposal=proposal)
    items = services.pending_digests(db_session)
    mine = [d for d in items if d.user.id == author.id]
    assert len(mine) == 1 and len(mine[0].notifications) == 1
    subject, body = digest.render(mine[0])
    assert "Night buses" in body and f"/proposals/{proposal.id}" in body
    services.mark_emailed(db_session, mine[0])
    assert [d for d in services.pending_digests(db_session) if d.user.id == author.id] == []
