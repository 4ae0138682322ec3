"""Nobody passes for staff by name; staff are shown by badges from roles (issue #14 item 7)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.factories import make_user
from tests.factories_moderation import make_comment, make_proposal

GOOD = {"email": "someone@example.test", "password": "a fine long passphrase"}


@pytest.mark.parametrize("name", ["Ada Admin", "\u0410da Admin", "Morgan Moderator"])
def test_registration_refuses_role_words_and_their_look_alikes(
    client: FlaskClient, db_session: Any, name: str
) -> None:
    response = client.post("/account/register", data={**GOOD, "display_name": name})
    assert response.status_code == 422
    assert "staff role" in response.text


def test_a_staff_members_name_and_its_look_alikes_are_taken(
    client: FlaskClient, db_session: Any, login_as: Any
) -> None:
    make_user(db_session, roles=("citizen", "admin"), display_name="Grace Hopper")
    for name in ("Grace Hopper", "Grace Hopp\u0435r", "grace.hopper"):  # Cyrillic е
        response = client.post("/account/register", data={**GOOD, "display_name": name})
        assert response.status_code == 422 and "staff member" in response.text, name
    me = login_as(make_user(db_session, display_name="Plain Citizen"))
    response = client.post("/account/settings", data={"display_name": "GraceHopper"})
    assert response.status_code == 422 and "staff member" in response.text
    assert (
        client.post("/account/settings", data={"display_name": "Grace Hoppington"}).status_code
        == 303
    )
    db_session.refresh(me)
    assert me.display_name == "Grace Hoppington"


def test_staff_keep_their_own_name(client: FlaskClient, db_session: Any, login_as: Any) -> None:
    staff = login_as(
        make_user(db_session, roles=("citizen", "moderator"), display_name="Ida Wells")
    )
    response = client.post("/account/settings", data={"display_name": "Ida Wells", "locale": "fr"})
    assert response.status_code == 303
    db_session.refresh(staff)
    assert staff.locale == "fr"


def test_staff_badges_come_from_roles_not_names(client: FlaskClient, db_session: Any) -> None:
    proposal = make_proposal(db_session)
    moderator = make_user(db_session, roles=("citizen", "moderator"), display_name="Quiet Person")
    # A name from before names were checked: it gets no badge.
    pretender = make_user(db_session, display_name="Morgan Moderator")
    make_comment(db_session, proposal=proposal, author=moderator, body="From a moderator")
    make_comment(db_session, proposal=proposal, author=pretender, body="From a citizen")
    page = client.get(f"/proposals/{proposal.id}/comments/").text
    assert (
        'Quiet Person</strong> <span class="staff-badge staff-moderator">Moderator</span>' in page
    )
    assert "Morgan Moderator</strong>" in page
    assert "Morgan Moderator</strong> <span" not in page
    assert page.count('class="staff-badge') == 1


def test_a_granted_role_refreshes_cached_public_pages(db_session: Any) -> None:
    from civicforum.accounts.models import Role
    from civicforum.accounts.services import grant_role
    from civicforum.web.cache import current_version

    user = make_user(db_session)
    db_session.commit()
    before = current_version()
    grant_role(db_session, actor=None, user=user, role=Role.MODERATOR)
    db_session.commit()
    assert current_version() != before  # the badge shows on the next anonymous page
