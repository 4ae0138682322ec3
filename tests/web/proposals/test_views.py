"""Proposal pages: full page and htmx fragment, no-JS fallbacks, bad input, query counts."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event, func, select

from civicforum.proposals.models import Proposal, ProposalState
from civicforum.settings.services import set_setting
from tests.factories import make_user
from tests.factories_proposals import make_category, make_comment, make_proposal
from tests.unit.test_markup import XSS_PAYLOADS, assert_inert

HX = {"HX-Request": "true"}


@contextmanager
def count_queries():
    statements: list[str] = []

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", listener)


def test_write_publish_and_read_a_proposal(client, db_session, login_as) -> None:
    user = login_as(make_user(db_session))
    category = make_category(db_session)
    response = client.post(
        "/proposals/new",
        data={
            "title": "  More benches  ",
            "summary": "Benches along the river.",
            "body": "We need **benches**.",
            "category_id": category.id,
            "tags": "river, benches",
            "publish": "Publish",
        },
    )
    assert response.status_code == 303
    proposal = db_session.scalar(select(Proposal).where(Proposal.author_id == user.id))
    assert proposal.state is ProposalState.PUBLISHED and proposal.title == "More benches"
    page = client.get(f"/proposals/{proposal.id}")
    assert "<strong>benches</strong>" in page.text and "hx-disable" in page.text
    assert 'id="support-panel"' in page.text and "Timeline" in page.text


def test_bad_fields_are_shown_next_to_the_field(client, db_session, login_as) -> None:
    login_as(make_user(db_session))
    category = make_category(db_session)
    response = client.post(
        "/proposals/new",
        data={
            "title": "zero\u200bwidth",
            "summary": "s",
            "body": "b" * 20_001,
            "category_id": category.id,
        },
        headers=HX,
    )
    assert response.status_code == 422 and "<html" not in response.text
    assert 'id="proposal-form"' in response.text
    assert "U+200B" in response.text and "20000" in response.text.replace(",", "")


def test_new_proposals_are_capped_per_account_but_rejected_forms_do_not_count(
    client, db_session, login_as
) -> None:
    user = login_as(make_user(db_session))
    category = make_category(db_session)

    def submit(title: str) -> int:
        data = {"title": title, "summary": "s", "body": "b", "category_id": category.id}
        return client.post("/proposals/new", data={**data, "publish": "Publish"}).status_code

    assert [submit("") for _ in range(12)] == [422] * 12  # fixing a form costs nothing
    assert [submit(f"Proposal number {n}") for n in range(10)] == [303] * 10
    refused = client.post("/proposals/new", data={"title": "One more", "publish": "Publish"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    count = db_session.scalar(
        select(func.count()).select_from(Proposal).where(Proposal.author_id == user.id)
    )
    assert count == 10


def test_support_toggle_htmx_and_plain_form(client, db_session, login_as) -> None:
    proposal = make_proposal(db_session)
    login_as(make_user(db_session))
    response = client.post(f"/proposals/{proposal.id}/support", data={"action": "add"}, headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    assert 'id="support-panel"' in response.text and "Withdraw my support" in response.text
    assert "HX-Request" in response.headers["Vary"]
    plain = client.post(f"/proposals/{proposal.id}/support", data={"action": "remove"})
    assert plain.status_code == 303
    db_session.refresh(proposal)
    assert proposal.support_count == 0


def test_support_by_unverified_account_is_403(client, db_session, login_as) -> None:
    proposal = make_proposal(db_session)
    login_as(make_user(db_session, verified=False))
    response = client.post(f"/proposals/{proposal.id}/support", data={"action": "add"})
    assert response.status_code == 403
    db_session.refresh(proposal)
    assert proposal.support_count == 0


def test_reaching_threshold_qualifies(client, db_session, login_as) -> None:
    set_setting(db_session, "proposals.support_threshold", 1, actor=None)
    proposal = make_proposal(db_session)
    login_as(make_user(db_session))
    client.post(f"/proposals/{proposal.id}/support", data={"action": "add"})
    db_session.refresh(proposal)
    assert proposal.state is ProposalState.QUALIFIED


def test_drafts_are_private_and_others_cannot_edit(client, db_session, login_as) -> None:
    author = make_user(db_session)
    draft = make_proposal(db_session, author=author, state=ProposalState.DRAFT)
    public = make_proposal(db_session, author=author)
    login_as(make_user(db_session))
    assert client.get(f"/proposals/{draft.id}").status_code == 404
    assert client.get(f"/proposals/{public.id}/edit").status_code == 403
    assert client.post(f"/proposals/{public.id}/withdraw").status_code == 403


def test_withdraw_from_terminal_state_is_409(client, db_session, login_as) -> None:
    author = make_user(db_session)
    proposal = make_proposal(db_session, author=author, state=ProposalState.ARCHIVED)
    login_as(author)
    response = client.post(f"/proposals/{proposal.id}/withdraw", data={"reason": "x"})
    assert response.status_code == 409
    db_session.refresh(proposal)
    assert proposal.state is ProposalState.ARCHIVED


def test_list_filters_in_query_string_and_fragment(client, db_session) -> None:
    category = make_category(db_session, slug="mobility")
    make_proposal(db_session, title="Tram to the airport", category=category, tags=["tram"])
    make_proposal(db_session, title="Library hours")
    page = client.get("/proposals/?q=tram&category=mobility")
    assert "Tram to the airport" in page.text and "Library hours" not in page.text
    assert 'hx-push-url="true"' in page.text
    fragment = client.get("/proposals/?tag=tram", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'id="proposal-list"' in fragment.text and "Tram to the airport" in fragment.text
    empty = client.get("/proposals/?q=nothingmatcheszz")
    assert "No proposal matches these filters." in empty.text


def test_revision_diff_page(client, db_session, login_as) -> None:
    author = login_as(make_user(db_session))
    proposal = make_proposal(db_session, author=author, body="old words")
    client.post(
        f"/proposals/{proposal.id}/edit",
        data={
            "title": proposal.title,
            "summary": proposal.summary,
            "body": "new words",
            "category_id": proposal.category_id,
        },
    )
    page = client.get(f"/proposals/{proposal.id}/revisions?a=1&b=2")
    assert "<del>" in page.text and "old words" in page.text and "new words" in page.text
    assert "edited (2 revisions)" in client.get(f"/proposals/{proposal.id}").text


def test_revisions_of_hidden_proposal_show_the_notice_not_the_text(
    client, db_session, login_as
) -> None:
    from civicforum.proposals.models import ModerationStatus

    author = login_as(make_user(db_session))
    proposal = make_proposal(db_session, author=author, body="first SECRET text")
    data = {"title": proposal.title, "summary": proposal.summary, "body": "second SECRET text"}
    client.post(
        f"/proposals/{proposal.id}/edit", data={**data, "category_id": proposal.category_id}
    )
    proposal.moderation_status = ModerationStatus.HIDDEN
    proposal.hidden_reason = "Doxxing"
    db_session.flush()
    client.post("/account/logout")
    for url in (
        f"/proposals/{proposal.id}/revisions",
        f"/proposals/{proposal.id}/revisions?a=1&b=2",
    ):
        page = client.get(url)
        assert page.status_code == 200 and "Hidden by moderators: Doxxing" in page.text
        assert "SECRET" not in page.text and proposal.summary not in page.text
        assert "SECRET" not in client.get(url, headers={"HX-Request": "true"}).text


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_through_proposal_and_comment(client, db_session, login_as, payload) -> None:
    user = login_as(make_user(db_session))
    proposal = make_proposal(db_session, author=user, body=payload)
    posted = client.post(f"/proposals/{proposal.id}/comments/", data={"body": payload})
    db_session.refresh(proposal)
    assert_inert(proposal.body_html)
    from civicforum.deliberation.models import Comment

    comment = db_session.scalar(select(Comment).where(Comment.proposal_id == proposal.id))
    if comment is None:  # refused outright (zero-width characters): a field error
        assert posted.status_code == 422
    else:
        assert_inert(comment.body_html)
    page = client.get(f"/proposals/{proposal.id}").text
    tags = re.findall(r"<[a-zA-Z][^>]*>", page)  # real tags only; escaped text is harmless
    assert not [t for t in tags if re.search(r"\son\w+=|javascript:|formaction|<script>a", t, re.I)]


def _many(db_session, n: int):
    category = make_category(db_session)
    proposals = [make_proposal(db_session, category=category, tags=[f"t{i}"]) for i in range(n)]
    return proposals


def test_list_query_count_does_not_grow(client, db_session, login_as) -> None:
    login_as(make_user(db_session))
    _many(db_session, 2)
    with count_queries() as few:
        client.get("/proposals/")
    _many(db_session, 15)
    with count_queries() as many:
        client.get("/proposals/")
    assert len(many) == len(few), (len(few), len(many))


def test_thread_query_count_does_not_grow(client, db_session, login_as) -> None:
    viewer = login_as(make_user(db_session))
    proposal = make_proposal(db_session)
    top = make_comment(db_session, proposal=proposal)
    make_comment(db_session, proposal=proposal, parent_id=top.id)
    with count_queries() as few:
        client.get(f"/proposals/{proposal.id}")
    authors = [make_user(db_session) for _ in range(5)]
    for i in range(30):
        parent = make_comment(
            db_session, proposal=proposal, author=authors[i % 5], stance="neutral"
        )
        reply = make_comment(
            db_session, proposal=proposal, author=authors[(i + 1) % 5], parent_id=parent.id
        )
        make_comment(db_session, proposal=proposal, author=viewer, parent_id=reply.id)
    with count_queries() as many:
        client.get(f"/proposals/{proposal.id}")
    assert len(many) == len(few), (len(few), len(many))


def test_list_row_labels_escape_the_values(client, db_session) -> None:
    # The row labels are translated once per page and filled in with |format.
    author = make_user(db_session)
    author.display_name = '<img src=x onerror="alert(1)">'
    make_proposal(db_session, author=author)
    text = client.get("/proposals/").text
    assert "<img src=x" not in text and "by &lt;img src=x" in text
