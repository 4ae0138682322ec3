"""A privileged role acts only after the second factor (issue #14 item 6, ASVS 6.3.3).

A role granted to someone who has not set up TOTP yet, or who has not entered a code in
this session, opens no privileged route and reveals nothing a citizen cannot see on the
public ones (removed proposals, comments waiting for pre-moderation).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from civicforum.accounts import services as accounts
from civicforum.accounts.models import Role
from civicforum.deliberation.models import CommentStatus
from civicforum.proposals.models import ModerationStatus
from tests.factories import make_user
from tests.factories_moderation import make_admin, make_comment, make_proposal
from tests.web.accounts.helpers import password_login


@pytest.fixture
def granted_moderator(db_session: Any, client: FlaskClient) -> Any:
    """A citizen signed in with her password, then made a moderator by an admin."""
    user = make_user(db_session)
    assert password_login(client, user.email).status_code == 303
    accounts.grant_role(db_session, actor=make_admin(db_session), user=user, role=Role.MODERATOR)
    db_session.commit()
    return user


def test_a_removed_proposal_stays_hidden_until_the_second_factor(
    db_session: Any, client: FlaskClient, granted_moderator: Any
) -> None:
    proposal = make_proposal(db_session, title="Removed for spam")
    proposal.moderation_status = ModerationStatus.REMOVED
    db_session.flush()  # visible to the request
    assert client.get(f"/proposals/{proposal.id}").status_code == 404
    assert "Removed for spam" not in client.get("/proposals/").text


def test_pending_comments_stay_hidden_until_the_second_factor(
    db_session: Any, client: FlaskClient, granted_moderator: Any
) -> None:
    proposal = make_proposal(db_session)
    make_comment(
        db_session, proposal=proposal, body="Waiting for review", status=CommentStatus.PENDING
    )
    for url in (f"/proposals/{proposal.id}", f"/proposals/{proposal.id}/comments/"):
        response = client.get(url)
        assert response.status_code == 200
        assert "Waiting for review" not in response.text, url
    # The moderation pages send her to the set-up first.
    response = client.get("/moderation/queue")
    assert response.status_code == 302 and "/account/totp/setup" in response.headers["Location"]


def test_after_the_second_factor_the_role_works(
    app: Flask, db_session: Any, client: FlaskClient, login_as: Any
) -> None:
    proposal = make_proposal(db_session)
    make_comment(
        db_session, proposal=proposal, body="Waiting for review", status=CommentStatus.PENDING
    )
    moderator = make_user(db_session, roles=("citizen", "moderator"))
    login_as(moderator, mfa=False)  # TOTP set up, but no code entered in this session
    assert "Waiting for review" not in client.get(f"/proposals/{proposal.id}/comments/").text
    login_as(moderator)  # the code entered
    assert "Waiting for review" in client.get(f"/proposals/{proposal.id}/comments/").text
