"""Discussion pages: htmx fragments and their full-page twins, bad input over HTTP."""

from __future__ import annotations

from sqlalchemy import select

from civicforum.deliberation.models import Comment, CommentStatus
from civicforum.proposals.models import ProposalState
from tests.factories import make_user
from tests.factories_proposals import make_comment, make_proposal

HX = {"HX-Request": "true"}


def test_post_comment_htmx_returns_fresh_form_and_oob_comment(client, db_session, login_as) -> None:
    proposal = make_proposal(db_session)
    login_as(make_user(db_session))
    response = client.post(
        f"/proposals/{proposal.id}/comments/",
        data={"body": "I *agree*", "stance": "in_favour"},
        headers=HX,
    )
    assert response.status_code == 200 and "<html" not in response.text
    assert 'id="comment-form"' in response.text
    assert 'hx-swap-oob="afterbegin:#comment-list"' in response.text
    assert "<em>agree</em>" in response.text and "In favour" in response.text


def test_post_comment_without_js_redirects_to_anchor(client, db_session, login_as) -> None:
    proposal = make_proposal(db_session)
    login_as(make_user(db_session))
    response = client.post(f"/proposals/{proposal.id}/comments/", data={"body": "plain"})
    assert response.status_code == 303 and "#comment-" in response.headers["Location"]


def test_reply_form_inline_and_full_page(client, db_session, login_as) -> None:
    proposal = make_proposal(db_session)
    parent = make_comment(db_session, proposal=proposal)
    login_as(make_user(db_session))
    url = f"/proposals/{proposal.id}/comments/{parent.id}/reply"
    fragment = client.get(url, headers=HX)
    assert "<html" not in fragment.text and 'name="parent_id"' in fragment.text
    page = client.get(url)
    assert "<html" in page.text and 'name="parent_id"' in page.text
    posted = client.post(
        f"/proposals/{proposal.id}/comments/",
        data={"body": "a reply", "parent_id": parent.id},
        headers=HX,
    )
    assert f'hx-swap-oob="afterbegin:#replies-{parent.id}"' in posted.text


def test_reply_page_never_quotes_a_comment_that_is_not_shown(client, db_session, login_as) -> None:
    proposal = make_proposal(db_session)
    login_as(make_user(db_session))
    for status in (CommentStatus.HIDDEN, CommentStatus.DELETED, CommentStatus.REMOVED):
        parent = make_comment(db_session, proposal=proposal, body=f"SECRET-{status.value}")
        parent.status = status
        db_session.flush()
        url = f"/proposals/{proposal.id}/comments/{parent.id}/reply"
        for headers in ({}, HX):
            page = client.get(url, headers=headers)
            assert page.status_code == 409, (status, headers)
            assert f"SECRET-{status.value}" not in page.text


def test_a_refused_reply_never_quotes_a_parent_that_is_not_shown(
    client, db_session, login_as
) -> None:
    # The form sent back with errors quotes its parent: an empty body was enough to read a
    # hidden, pending or deleted comment through it.
    proposal = make_proposal(db_session)
    login_as(make_user(db_session))
    base = f"/proposals/{proposal.id}/comments/"
    for status in (CommentStatus.HIDDEN, CommentStatus.PENDING, CommentStatus.DELETED):
        parent = make_comment(db_session, proposal=proposal, body=f"SECRET-{status.value}")
        parent.status = status
        db_session.flush()
        for headers in ({}, HX):
            page = client.post(base, data={"body": "", "parent_id": parent.id}, headers=headers)
            assert page.status_code == 409, (status, headers)
            assert "SECRET" not in page.text
    huge = client.post(base, data={"body": "x", "parent_id": str(10**20)})
    assert huge.status_code == 400


def test_refused_comment_without_js_comes_back_with_the_discussion(
    client, db_session, login_as
) -> None:
    proposal = make_proposal(db_session)
    make_comment(db_session, proposal=proposal, body="An earlier comment")
    login_as(make_user(db_session))
    page = client.post(f"/proposals/{proposal.id}/comments/", data={"body": "   "})
    assert page.status_code == 422 and "<html" in page.text
    assert "An earlier comment" in page.text
    assert 'id="no-comments" hidden>No comments here.' in page.text  # kept for htmx, not shown


def test_posting_through_htmx_updates_the_discussion_header(client, db_session, login_as) -> None:
    proposal = make_proposal(db_session)
    login_as(make_user(db_session))
    page = client.get(f"/proposals/{proposal.id}").text
    assert 'id="comment-count">(0)' in page and 'id="no-comments"' in page
    posted = client.post(
        f"/proposals/{proposal.id}/comments/",
        data={"body": "I agree with this", "stance": "in_favour"},
        headers=HX,
    )
    assert posted.status_code == 200
    assert '<span class="muted" id="comment-count" hx-swap-oob="true">(1)</span>' in posted.text
    counts = posted.text.split('id="stance-counts" hx-swap-oob="true"')[1].split("</div>")[0]
    assert "In favour: <strong>1</strong>" in counts
    assert '<p id="no-comments" hx-swap-oob="delete"></p>' in posted.text


def test_bad_input_over_http(client, db_session, login_as) -> None:
    proposal = make_proposal(db_session)
    other = make_proposal(db_session)
    foreign = make_comment(db_session, proposal=other)
    deleted = make_comment(db_session, proposal=proposal)
    deleted.status = CommentStatus.DELETED
    archived = make_proposal(db_session, state=ProposalState.ARCHIVED)
    someone_elses = make_comment(db_session, proposal=proposal)
    login_as(make_user(db_session))
    base = f"/proposals/{proposal.id}/comments/"
    assert client.post(base, data={"body": "x", "parent_id": foreign.id}).status_code == 400
    assert client.post(base, data={"body": "x", "parent_id": deleted.id}).status_code == 409
    archived_post = client.post(f"/proposals/{archived.id}/comments/", data={"body": "x"})
    assert archived_post.status_code == 409
    edit = client.post(f"{base}{someone_elses.id}/edit", data={"body": "mine now"})
    assert edit.status_code == 403
    too_long = client.post(base, data={"body": "y" * 10_001}, headers=HX)
    assert too_long.status_code == 422 and 'id="comment-body-error"' in too_long.text
    assert db_session.scalar(select(Comment).where(Comment.body_source == "mine now")) is None


def test_vote_delete_and_edit_fragments(client, db_session, login_as) -> None:
    proposal = make_proposal(db_session)
    theirs = make_comment(db_session, proposal=proposal)
    me = login_as(make_user(db_session))
    mine = make_comment(db_session, proposal=proposal, author=me, body="original")
    base = f"/proposals/{proposal.id}/comments/"
    vote = client.post(f"{base}{theirs.id}/vote", data={"value": "1"}, headers=HX)
    assert f'id="comment-votes-{theirs.id}"' in vote.text and 'aria-pressed="true"' in vote.text
    edit_form = client.get(f"{base}{mine.id}/edit", headers=HX)
    assert f'id="comment-main-{mine.id}"' in edit_form.text and "original" in edit_form.text
    edited = client.post(f"{base}{mine.id}/edit", data={"body": "changed"}, headers=HX)
    assert "changed" in edited.text and "edited" in edited.text
    deleted = client.post(f"{base}{mine.id}/delete", headers=HX)
    assert "[deleted]" in deleted.text and "changed" not in deleted.text


def test_load_more_and_continue_thread(client, db_session) -> None:
    from civicforum.deliberation.services import PAGE_SIZE

    proposal = make_proposal(db_session)
    author = make_user(db_session)
    for i in range(PAGE_SIZE + 2):
        make_comment(db_session, proposal=proposal, author=author, body=f"comment {i}")
    page = client.get(f"/proposals/{proposal.id}")
    assert page.text.count('class="comment status-visible"') == PAGE_SIZE
    assert 'id="load-more"' in page.text
    more = client.get(
        f"/proposals/{proposal.id}/comments/?sort=best&offset={PAGE_SIZE}", headers=HX
    )
    assert (
        more.text.count('class="comment status-visible"') == 2 and 'id="load-more"' not in more.text
    )
    full = client.get(f"/proposals/{proposal.id}/comments/?sort=best&offset={PAGE_SIZE}")
    assert "<html" in full.text
    chain = [make_comment(db_session, proposal=proposal, author=author)]
    for _ in range(7):
        chain.append(
            make_comment(db_session, proposal=proposal, author=author, parent_id=chain[-1].id)
        )
    page = client.get(f"/proposals/{proposal.id}?sort=newest")
    assert f'href="/proposals/{proposal.id}/comments/{chain[5].id}"' in page.text
    assert "Continue this thread" in page.text
    deep = client.get(f"/proposals/{proposal.id}/comments/{chain[5].id}")
    assert f'id="comment-{chain[7].id}"' in deep.text


def test_pending_comment_shows_awaiting_review_to_author_only(
    client, db_session, login_as, monkeypatch
) -> None:
    from civicforum.moderation import policy

    monkeypatch.setattr(policy, "needs_premoderation", lambda s, u: True)
    proposal = make_proposal(db_session)
    author = login_as(make_user(db_session))
    client.post(f"/proposals/{proposal.id}/comments/", data={"body": "wait for me"})
    assert "awaiting review" in client.get(f"/proposals/{proposal.id}").text
    login_as(make_user(db_session))
    assert "wait for me" not in client.get(f"/proposals/{proposal.id}").text
    assert author  # the author saw it above


def test_a_long_thread_is_collapsed_to_its_first_replies(client, db_session) -> None:
    """Issue 15, item 12: one comment with many replies cannot swell the page; its own page
    (the "Show all" link) has them all."""
    proposal = make_proposal(db_session)
    author = make_user(db_session)
    root = make_comment(db_session, proposal=proposal, author=author, body="the root")
    for i in range(8):
        make_comment(db_session, proposal=proposal, author=author, parent_id=root.id, body=f"r{i}")
    page = client.get(f"/proposals/{proposal.id}").text
    assert page.count('class="comment status-visible"') == 1 + 3
    assert f'href="/proposals/{proposal.id}/comments/{root.id}">Show all 8 replies' in page
    full = client.get(f"/proposals/{proposal.id}/comments/{root.id}").text
    assert full.count('class="comment status-visible"') == 1 + 8 and "Show all" not in full
