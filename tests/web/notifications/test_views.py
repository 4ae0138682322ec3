from __future__ import annotations

from tests.factories import make_user
from tests.factories_proposals import make_comment, make_proposal


def test_badge_list_and_mark_all_read(client, db_session, login_as) -> None:
    author = login_as(make_user(db_session))
    proposal = make_proposal(db_session, author=author, title="Street lights")
    make_comment(db_session, proposal=proposal)
    page = client.get("/notifications/")
    assert 'class="badge"' in page.text and "Street lights" in page.text
    fragment = client.post("/notifications/read-all", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'class="badge"' not in client.get("/notifications/").text


def test_settings_round_trip(client, db_session, login_as) -> None:
    user = login_as(make_user(db_session))
    response = client.post(
        "/notifications/settings", data={"comment_replies": "y", "email_digest": "y"}
    )
    assert response.status_code == 303
    db_session.refresh(user)
    assert user.notify_email_digest is True
    page = client.get("/notifications/settings").text
    assert 'id="state_changes"' in page


def test_page_numbers_past_the_end_or_too_large_show_the_last_page(
    client, db_session, login_as
) -> None:
    author = login_as(make_user(db_session))
    proposal = make_proposal(db_session, author=author, title="Street lights")
    make_comment(db_session, proposal=proposal)
    for page in ("3", str(10**20)):  # the huge one overflowed the driver (a 500)
        response = client.get(f"/notifications/?page={page}")
        assert response.status_code == 200 and "Street lights" in response.text
