"""Bulk moderation refused (issue 15, item 1): the queue, the form and the moderator's ticks
stay, and the message says what to fix, with and without htmx."""

from __future__ import annotations

import re

import pytest

from civicforum.deliberation.models import CommentStatus
from tests.factories_moderation import make_comment, make_moderator


def _checked(html: str) -> set[str]:
    return set(re.findall(r'name="selected" value="([^"]+)" form="bulk-form" checked', html))


@pytest.mark.parametrize("htmx", [True, False])
def test_bulk_hide_without_a_reason_keeps_the_queue_and_the_selection(
    client, db_session, login_as, htmx: bool
) -> None:
    comments = [make_comment(db_session, status=CommentStatus.PENDING) for _ in range(3)]
    login_as(make_moderator(db_session))
    chosen = [f"comment:{c.id}:1" for c in comments[:2]]
    response = client.post(
        "/moderation/queue/bulk",
        data={"selected": chosen, "action": "hide", "reason": "  ", "reason_code": "spam"},
        headers={"HX-Request": "true"} if htmx else {},
    )
    assert response.status_code == 422
    html = response.text
    assert ("<html" in html) is not htmx
    assert 'id="queue-list"' in html and 'id="bulk-form"' in html
    assert "Moderation queue" in html or htmx  # the page itself, not an error page
    assert "Go to the home page" not in html
    for comment in comments:
        assert f'id="queue-row-comment-{comment.id}"' in html
    assert _checked(html) == set(chosen)
    assert "Write a public reason: one is required to hide or remove." in html
    assert 'aria-invalid="true" aria-describedby="bulk-reason-error"' in html
    assert '<option value="hide" selected>' in html
    db_session.expire_all()
    assert {c.status for c in comments} == {CommentStatus.PENDING}


def test_bulk_with_nothing_selected_says_to_select(client, db_session, login_as) -> None:
    make_comment(db_session, status=CommentStatus.PENDING)
    login_as(make_moderator(db_session))
    response = client.post(
        "/moderation/queue/bulk",
        data={"action": "approve"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "Select at least one item in the list below." in response.text
    assert 'id="bulk-form"' in response.text


def test_bulk_summary_and_single_decisions_speak_plainly(client, db_session, login_as) -> None:
    comments = [make_comment(db_session, status=CommentStatus.PENDING) for _ in range(2)]
    login_as(make_moderator(db_session))
    response = client.post(
        "/moderation/queue/bulk",
        data={"selected": [f"comment:{comments[0].id}:1"], "action": "approve"},
        headers={"HX-Request": "true"},
    )
    assert "1 item approved." in response.text and "item(s)" not in response.text
    response = client.post(
        f"/moderation/items/comment/{comments[1].id}/decide",
        data={"version": "1", "action": "hide", "reason": "Spam"},
        headers={"HX-Request": "true"},
    )
    assert f"Hidden: Comment #{comments[1].id}." in response.text
    assert f"comment:{comments[1].id}." not in response.text
