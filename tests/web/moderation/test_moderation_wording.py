"""Moderation pages as a moderator reads them: third-person restriction notices, plural counts,
irreversible actions that say so without JavaScript, a proper radio group, unique landmarks."""

from __future__ import annotations

import re

from civicforum.deliberation.models import CommentStatus
from civicforum.moderation import services
from tests.factories import make_user
from tests.factories_moderation import make_comment, make_moderator, make_suspension


def _warn(db_session, user, actor, reason="Mind your tone") -> None:
    services.sanction_user(
        db_session, user=user, actor=actor, kind="warn", reason=reason, days=None
    )


def test_member_page_speaks_about_the_member_not_to_them(client, db_session, login_as) -> None:
    member = make_user(db_session)
    make_suspension(db_session, user=member, reason="Repeated insults")
    login_as(make_moderator(db_session))
    html = client.get(f"/moderation/users/{member.id}").text
    assert "This account is suspended until" in html and "Repeated insults" in html
    assert "Your account" not in html


def test_member_page_for_a_banned_member(client, db_session, login_as) -> None:
    member = make_user(db_session)
    moderator = make_moderator(db_session)
    services.sanction_user(
        db_session, user=member, actor=moderator, kind="ban", reason="Threats", days=None
    )
    login_as(make_moderator(db_session))
    html = client.get(f"/moderation/users/{member.id}").text
    assert "This account is banned: Threats" in html and "Your account" not in html


def test_counts_have_singular_and_plural_forms(client, db_session, login_as) -> None:
    moderator = make_moderator(db_session)
    member = make_user(db_session)
    comment = make_comment(db_session, author=member, status=CommentStatus.PENDING)
    _warn(db_session, member, moderator)
    login_as(make_moderator(db_session))

    page = client.get(f"/moderation/users/{member.id}").text
    assert "1 comment (" in page and "1 warning" in page
    assert "1 comments" not in page and "1 warnings" not in page
    row = client.get(f"/moderation/items/comment/{comment.id}").text
    assert "1 comment (" in row and "1 warning" in row and "1 warnings" not in row

    _warn(db_session, member, moderator, reason="Again")
    make_comment(db_session, author=member)
    page = client.get(f"/moderation/users/{member.id}").text
    assert "2 comments (" in page and "2 warnings" in page


def test_sanction_choices_are_a_radio_group_and_ban_says_permanent(
    client, db_session, login_as
) -> None:
    member = make_user(db_session)
    login_as(make_moderator(db_session))
    html = client.get(f"/moderation/users/{member.id}").text
    group = re.search(r'<fieldset class="field choice-group[^"]*">(.*?)</fieldset>', html, re.S)
    assert group, "the sanction kinds are not a fieldset"
    assert re.search(r"<legend>\s*Sanction\s*</legend>", group.group(1))
    # Each radio directly followed by its own label, in one .choice row.
    choices = re.findall(
        r'<div class="choice"><input ([^>]*type="radio"[^>]*)>\s*'
        r'<label for="([^"]+)">([^<]+)</label>',
        group.group(1),
    )
    assert [label for _, _, label in choices] == [
        "Warn (a message to the member)",
        "Suspend for a number of days",
        "Ban permanently",
    ]
    for attrs, target, _ in choices:
        assert f'id="{target}"' in attrs
    ban_attrs = choices[2][0]
    assert 'value="ban"' in ban_attrs and "data-confirm=" in ban_attrs
    assert "data-confirm" not in choices[0][0] + choices[1][0]


def test_remove_says_permanent_on_the_button_and_in_the_bulk_list(
    client, db_session, login_as
) -> None:
    comment = make_comment(db_session, status=CommentStatus.PENDING)
    login_as(make_moderator(db_session))
    html = client.get("/moderation/queue").text
    button = re.search(
        r'<button type="submit" name="action" value="remove"[^>]*>([^<]*)</button>', html
    )
    assert button and button.group(1) == "Remove permanently"
    assert "data-confirm=" in button.group(0)
    option = re.search(r'<option value="remove"[^>]*>([^<]*)</option>', html)
    assert option and option.group(1) == "Remove permanently" and "data-confirm=" in option.group(0)
    hide = re.search(r'<option value="hide"[^>]*>', html)
    assert hide and "data-confirm" not in hide.group(0)
    assert f"queue-row-comment-{comment.id}" in html


def test_each_queue_row_context_has_its_own_name(client, db_session, login_as) -> None:
    comments = [make_comment(db_session, status=CommentStatus.PENDING) for _ in range(3)]
    login_as(make_moderator(db_session))
    html = client.get("/moderation/queue").text
    labels = re.findall(r'<aside class="queue-meta" aria-label="([^"]+)"', html)
    assert len(labels) == 3 and len(set(labels)) == 3
    for comment in comments:
        assert f"Context of Comment #{comment.id}" in labels


def test_decision_message_takes_focus_after_the_swap(client, db_session, login_as) -> None:
    comment = make_comment(db_session, status=CommentStatus.PENDING)
    login_as(make_moderator(db_session))
    fragment = client.post(
        f"/moderation/items/comment/{comment.id}/decide",
        data={"version": "1", "action": "approve"},
        headers={"HX-Request": "true"},
    ).text
    assert re.search(
        r'<p class="alert alert-success" role="status" tabindex="-1" data-autofocus>', fragment
    )
