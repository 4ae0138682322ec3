"""A suspended member is not offered forms they cannot send; empty states on the proposal page."""

from __future__ import annotations

from tests.factories import make_user
from tests.factories_moderation import make_comment, make_suspension


def test_suspended_member_is_told_before_writing_not_after(client, db_session, login_as) -> None:
    user = login_as(make_user(db_session))
    comment = make_comment(db_session)  # on a published proposal, discussion open
    page = client.get(f"/proposals/{comment.proposal_id}")
    assert 'name="body"' in page.text  # in good standing: the comment form
    make_suspension(db_session, user=user, reason="Repeated insults")
    new = client.get("/proposals/new")
    assert new.status_code == 403 and "Repeated insults" in new.text
    assert 'name="title"' not in new.text
    page = client.get(f"/proposals/{comment.proposal_id}")
    assert 'name="body"' not in page.text
    assert "You cannot comment while your account is restricted" in page.text
    discussion = client.get(f"/proposals/{comment.proposal_id}/comments/")  # the same rule
    assert discussion.status_code == 200 and 'name="body"' not in discussion.text


def test_a_proposal_without_recorded_transitions_says_so(client, db_session) -> None:
    from tests.factories_moderation import make_proposal

    proposal = make_proposal(db_session)  # inserted directly: no transition rows
    page = client.get(f"/proposals/{proposal.id}")
    assert page.status_code == 200 and "No change of state recorded." in page.text
