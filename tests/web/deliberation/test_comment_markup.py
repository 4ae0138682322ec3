"""Comment widgets' markup: vote buttons named by their visible text, one confirmation place
for deleting, a status that takes focus after posting."""

from __future__ import annotations

import re

from tests.factories import make_user
from tests.factories_proposals import make_comment, make_proposal

HX = {"HX-Request": "true"}


def _text(markup: str) -> str:
    """The markup's text with the tags taken out."""
    return " ".join(re.sub(r"<[^>]+>", " ", markup).split())


def test_vote_buttons_names_contain_their_visible_count(client, db_session, login_as) -> None:
    proposal = make_proposal(db_session)
    theirs = make_comment(db_session, proposal=proposal, author=make_user(db_session))
    login_as(make_user(db_session))
    html = client.get(f"/proposals/{proposal.id}").text
    buttons = re.findall(
        r'<button type="submit" name="value"[^>]*class="vote (up|down)"[^>]*>(.*?)</button>',
        html,
        re.S,
    )
    assert {kind for kind, _ in buttons} == {"up", "down"}
    for kind, inner in buttons:
        # No aria-label overriding the content (WCAG 2.5.3): the name is the content itself.
        opening = re.search(rf'<button[^>]*class="vote {kind}"[^>]*>', html).group(0)
        assert "aria-label" not in opening
        assert f'id="comment-vote-{kind}-{theirs.id}"' in opening
        word = "helpful" if kind == "up" else "not helpful"
        assert _text(inner).endswith(f"0 {word}"), inner
        assert '<span aria-hidden="true">' in inner and '<span class="visually-hidden">' in inner


def test_delete_asks_from_one_place_only(client, db_session, login_as) -> None:
    proposal = make_proposal(db_session)
    me = make_user(db_session)
    mine = make_comment(db_session, proposal=proposal, author=me)
    login_as(me)
    html = client.get(f"/proposals/{proposal.id}").text
    form = re.search(rf'<form method="post" action="[^"]*/{mine.id}/delete".*?</form>', html, re.S)
    assert form and form.group(0).count("data-confirm=") == 1


def test_posted_comment_form_says_so_and_takes_focus(client, db_session, login_as) -> None:
    proposal = make_proposal(db_session)
    login_as(make_user(db_session))
    posted = client.post(f"/proposals/{proposal.id}/comments/", data={"body": "Hi"}, headers=HX)
    assert re.search(
        r'<p class="ok" role="status" tabindex="-1" data-autofocus>Your comment is posted.</p>',
        posted.text,
    )
    page = client.get(f"/proposals/{proposal.id}").text
    assert "Your comment is posted." not in page
