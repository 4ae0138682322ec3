"""Discussion services: bad input, moderation statuses, votes, sorting, deep chains."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event, insert, select

from civicforum.db import utcnow
from civicforum.deliberation import services
from civicforum.deliberation.errors import (
    ClosedCommentError,
    DiscussionClosedError,
    EditWindowClosedError,
    InvalidParentError,
    InvalidStanceError,
    NotCommentAuthorError,
    OwnCommentVoteError,
)
from civicforum.deliberation.models import Comment, CommentEdit, CommentStatus
from civicforum.proposals.errors import FieldError
from civicforum.proposals.models import ProposalState
from tests.factories import make_user
from tests.factories_proposals import make_comment, make_proposal


def test_reply_to_a_comment_of_another_proposal_is_400(db_session) -> None:
    first, second = make_proposal(db_session), make_proposal(db_session)
    other = make_comment(db_session, proposal=second)
    with pytest.raises(InvalidParentError) as info:
        make_comment(db_session, proposal=first, parent_id=other.id)
    assert info.value.status_code == 400
    with pytest.raises(InvalidParentError):
        make_comment(db_session, proposal=first, parent_id=987654321)


@pytest.mark.parametrize(
    "status", [CommentStatus.DELETED, CommentStatus.HIDDEN, CommentStatus.REMOVED]
)
def test_reply_to_closed_comment_is_409(db_session, status) -> None:
    proposal = make_proposal(db_session)
    parent = make_comment(db_session, proposal=proposal)
    parent.status = status
    db_session.flush()
    with pytest.raises(ClosedCommentError) as info:
        make_comment(db_session, proposal=proposal, parent_id=parent.id)
    assert info.value.status_code == 409


@pytest.mark.parametrize(
    "state",
    [ProposalState.ARCHIVED, ProposalState.DRAFT, ProposalState.WITHDRAWN, ProposalState.ADOPTED],
)
def test_comment_on_closed_proposal_is_409(db_session, state) -> None:
    proposal = make_proposal(db_session, state=state)
    with pytest.raises(DiscussionClosedError) as info:
        make_comment(db_session, proposal=proposal)
    assert info.value.status_code == 409


def test_oversized_or_empty_body_is_a_field_error(db_session) -> None:
    proposal = make_proposal(db_session)
    for body in ("x" * (services.BODY_MAX + 1), "   ", "bidi \u202e"):
        with pytest.raises(FieldError) as info:
            make_comment(db_session, proposal=proposal, body=body)
        assert info.value.field == "body" and info.value.status_code == 422


def test_stance_only_on_top_level_and_counted(db_session) -> None:
    proposal = make_proposal(db_session)
    top = make_comment(db_session, proposal=proposal, stance="in_favour")
    make_comment(db_session, proposal=proposal, stance="against")
    make_comment(db_session, proposal=proposal, stance="against")
    with pytest.raises(InvalidStanceError):
        make_comment(db_session, proposal=proposal, parent_id=top.id, stance="neutral")
    assert (proposal.stance_in_favour, proposal.stance_against, proposal.stance_neutral) == (
        1,
        2,
        0,
    )
    assert proposal.comment_count == 3
    services.delete_comment(db_session, comment=top, actor=top.author)
    assert proposal.stance_in_favour == 0
    services.refresh_counts(db_session, proposal)
    assert (proposal.stance_in_favour, proposal.stance_against) == (0, 2)


def test_edit_keeps_old_text_and_only_author_within_window(db_session) -> None:
    proposal = make_proposal(db_session)
    comment = make_comment(db_session, proposal=proposal, body="first")
    with pytest.raises(NotCommentAuthorError) as info:
        services.edit_comment(db_session, comment=comment, editor=make_user(db_session), body="x")
    assert info.value.status_code == 403
    services.edit_comment(db_session, comment=comment, editor=comment.author, body="second")
    assert comment.edited_at is not None and comment.body_source == "second"
    context = services.comment_context(db_session, comment.id)
    assert [e.body_source for e in context.edits] == ["first"]
    comment.created_at = utcnow().replace(year=2020)
    with pytest.raises(EditWindowClosedError):
        services.edit_comment(db_session, comment=comment, editor=comment.author, body="third")
    assert (
        db_session.scalar(
            select(CommentEdit.body_source).where(CommentEdit.comment_id == comment.id)
        )
        == "first"
    )


def test_delete_keeps_replies(db_session) -> None:
    proposal = make_proposal(db_session)
    parent = make_comment(db_session, proposal=proposal)
    child = make_comment(db_session, proposal=proposal, parent_id=parent.id)
    with pytest.raises(NotCommentAuthorError):
        services.delete_comment(db_session, comment=parent, actor=child.author)
    services.delete_comment(db_session, comment=parent, actor=parent.author)
    thread = services.load_thread(db_session, proposal=proposal, viewer=None)
    assert thread.nodes[0].comment.status is CommentStatus.DELETED
    assert [n.comment.id for n in thread.nodes[0].children] == [child.id]


def test_pending_comments_visible_to_author_and_moderators_only(db_session, monkeypatch) -> None:
    from civicforum.moderation import policy

    monkeypatch.setattr(policy, "needs_premoderation", lambda session, user: True)
    proposal = make_proposal(db_session)
    author = make_user(db_session)
    comment = make_comment(db_session, proposal=proposal, author=author)
    assert comment.status is CommentStatus.PENDING

    def ids(viewer):
        return [
            n.comment.id
            for n in services.load_thread(db_session, proposal=proposal, viewer=viewer).nodes
        ]

    assert ids(None) == [] and ids(make_user(db_session)) == []
    assert ids(author) == [comment.id]
    assert ids(make_user(db_session, roles=("citizen", "moderator"))) == [comment.id]
    with pytest.raises(ClosedCommentError):  # nobody answers what is not public yet
        make_comment(db_session, proposal=proposal, parent_id=comment.id)


def test_restricted_account_cannot_comment_or_vote(db_session, monkeypatch) -> None:
    from civicforum.moderation import policy

    def refuse(session, user):
        raise policy.RestrictedAccountError("suspended")

    proposal = make_proposal(db_session)
    comment = make_comment(db_session, proposal=proposal)
    monkeypatch.setattr(policy, "ensure_can_participate", refuse)
    with pytest.raises(policy.RestrictedAccountError):
        make_comment(db_session, proposal=proposal)
    with pytest.raises(policy.RestrictedAccountError):
        services.vote_comment(db_session, comment=comment, voter=make_user(db_session), value=1)


def test_votes_one_per_account_changeable_and_best_sort(db_session) -> None:
    proposal = make_proposal(db_session)
    good = make_comment(db_session, proposal=proposal, body="good")
    meh = make_comment(db_session, proposal=proposal, body="meh")
    voters = [make_user(db_session) for _ in range(4)]
    for v in voters:
        services.vote_comment(db_session, comment=good, voter=v, value=1)
    services.vote_comment(db_session, comment=meh, voter=voters[0], value=1)
    services.vote_comment(db_session, comment=meh, voter=voters[0], value=1)  # no double count
    assert meh.upvotes == 1
    services.vote_comment(db_session, comment=meh, voter=voters[0], value=-1)  # changed
    assert (meh.upvotes, meh.downvotes) == (0, 1)
    with pytest.raises(OwnCommentVoteError):
        services.vote_comment(db_session, comment=good, voter=good.author, value=1)
    thread = services.load_thread(db_session, proposal=proposal, viewer=voters[0], sort="best")
    assert [n.comment.id for n in thread.nodes] == [good.id, meh.id]
    assert [n.my_vote for n in thread.nodes] == [1, -1]
    newest = services.load_thread(db_session, proposal=proposal, viewer=None, sort="newest")
    assert newest.nodes[0].comment.id == meh.id


@pytest.mark.parametrize(
    ("up", "down", "expected"), [(0, 0, 0.0), (1, 0, 0.2065), (10, 0, 0.7225), (5, 5, 0.2366)]
)
def test_wilson_lower_bound(up, down, expected) -> None:
    assert services.wilson_lower_bound(up, down) == pytest.approx(expected, abs=1e-4)


def test_display_depth_and_continue_thread(db_session) -> None:
    proposal = make_proposal(db_session)
    chain = [make_comment(db_session, proposal=proposal)]
    for _ in range(9):
        chain.append(make_comment(db_session, proposal=proposal, parent_id=chain[-1].id))
    thread = services.load_thread(db_session, proposal=proposal, viewer=None)
    depth, node = 0, thread.nodes[0]
    while node.children:
        node, depth = node.children[0], depth + 1
    assert depth == services.DISPLAY_DEPTH - 1 and node.comment.reply_count == 1
    sub = services.load_subthread(db_session, comment=node.comment, viewer=None)
    depth, node = 0, sub.nodes[0]
    while node.children:
        node, depth = node.children[0], depth + 1
    assert node.comment.id == chain[-1].id and depth == 4


def test_ten_thousand_level_chain_stays_responsive(db_session) -> None:
    proposal = make_proposal(db_session)
    author = make_user(db_session)
    root = make_comment(db_session, proposal=proposal, author=author)
    # Bulk-insert the chain (ids are assigned explicitly so each row can name its parent).
    start = db_session.scalar(select(Comment.id).order_by(Comment.id.desc()).limit(1)) + 1
    now = utcnow()
    rows = [
        {
            "id": start + i,
            "proposal_id": proposal.id,
            "parent_id": root.id if i == 0 else start + i - 1,
            "root_id": root.id,
            "depth": i + 1,
            "author_id": author.id,
            "body_source": f"level {i + 1}",
            "body_html": f"<p>level {i + 1}</p>",
            "status": "visible",
            "created_at": now,
            "reply_count": 1,
        }
        for i in range(10_000)
    ]
    db_session.execute(insert(Comment), rows)
    deepest = db_session.get(Comment, start + 9_999 - 3)
    statements: list[str] = []
    engine_conn = db_session.connection()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine_conn, "before_cursor_execute", listener)
    try:
        began = time.perf_counter()
        thread = services.load_thread(db_session, proposal=proposal, viewer=author)
        sub = services.load_subthread(db_session, comment=deepest, viewer=author)
        elapsed = time.perf_counter() - began
    finally:
        event.remove(engine_conn, "before_cursor_execute", listener)
    assert thread.nodes[0].comment.id == root.id
    last = sub.nodes[0].children[0].children[0].children[0]
    assert last.comment.id == start + 9_999 and last.children == []  # reached the end
    assert len(statements) <= 12, statements  # a handful, never one per level
    assert elapsed < 2.0
