"""A member who already reported an item is told so, instead of being given the form again."""

from __future__ import annotations

from tests.factories import make_user
from tests.factories_moderation import make_comment


def test_second_visit_to_the_report_page_says_it_is_done(client, db_session, login_as) -> None:
    comment = make_comment(db_session)
    login_as(make_user(db_session))
    url = f"/moderation/report/comment/{comment.id}"
    assert 'name="reason"' in client.get(url).text
    assert client.post(url, data={"reason": "spam"}).status_code == 303
    again = client.get(url)
    assert again.status_code == 200 and 'name="reason"' not in again.text
    assert "You have already reported this. Moderators will review it." in again.text
    fragment = client.get(url, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "already reported" in fragment.text
