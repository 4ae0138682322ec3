"""Moderators' forms keep their input and refuse malformed values with a clear status."""

from __future__ import annotations

from sqlalchemy import func, select

from civicforum.moderation.models import Sanction
from tests.factories import make_user
from tests.factories_moderation import make_moderator


def test_suspension_without_days_is_a_field_error_that_keeps_the_reason(
    client, db_session, login_as
) -> None:
    member = make_user(db_session)
    login_as(make_moderator(db_session))
    response = client.post(
        f"/moderation/users/{member.id}/sanction",
        data={"kind": "suspend", "days": "", "reason": "Repeated insults in the park thread"},
    )
    assert response.status_code == 422 and "<html" in response.text
    assert "How many days?" in response.text
    assert "Repeated insults in the park thread" in response.text
    assert db_session.scalar(select(func.count()).select_from(Sanction)) == 0
    done = client.post(
        f"/moderation/users/{member.id}/sanction",
        data={"kind": "suspend", "days": "3", "reason": "Repeated insults"},
    )
    assert done.status_code == 303
    assert db_session.scalar(select(func.count()).select_from(Sanction)) == 1


def test_bulk_selection_with_an_oversized_id_is_a_400(client, db_session, login_as) -> None:
    login_as(make_moderator(db_session))
    for selected in (f"comment:{10**20}:1", "comment:1:²", "proposal:x:1"):
        response = client.post(
            "/moderation/queue/bulk",
            data={"selected": [selected], "action": "hide", "reason": "Spam wave"},
        )
        assert response.status_code == 400, selected
