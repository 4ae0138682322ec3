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


def test_opening_a_notification_marks_it_read_and_goes_there(client, db_session, login_as) -> None:
    """Issue 15, item 5: opening a notification (not only "Mark as read") marks it read."""
    import re

    from civicforum.notifications.models import Notification

    author = login_as(make_user(db_session))
    proposal = make_proposal(db_session, author=author, title="Street lights")
    comment = make_comment(db_session, proposal=proposal)
    page = client.get("/notifications/").text
    opened = re.search(r'action="(/notifications/(\d+)/open)"', page)
    assert opened, page
    response = client.post(opened.group(1))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/proposals/{proposal.id}#comment-{comment.id}")
    notification = db_session.get(Notification, int(opened.group(2)))
    db_session.refresh(notification)
    assert notification.read_at is not None
    page = client.get("/notifications/").text
    assert 'class="badge"' not in page and "/open" not in page
    assert f'href="/proposals/{proposal.id}#comment-{comment.id}"' in page


def test_someone_elses_notification_cannot_be_opened(client, db_session, login_as) -> None:
    from civicforum.notifications.models import Notification

    author = make_user(db_session)
    make_comment(db_session, proposal=make_proposal(db_session, author=author))
    theirs = db_session.query(Notification).filter_by(user_id=author.id).one()
    login_as(make_user(db_session))
    assert client.post(f"/notifications/{theirs.id}/open").status_code == 404
    db_session.refresh(theirs)
    assert theirs.read_at is None
