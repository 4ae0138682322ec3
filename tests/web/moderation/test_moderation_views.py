"""Moderation pages: queue with htmx rows, bulk, 409 on a second decision, reports, appeals,
the transparency page, bad input and XSS."""

from __future__ import annotations

from sqlalchemy import func, select

from civicforum.deliberation.models import CommentStatus
from civicforum.moderation import services
from civicforum.moderation.models import Appeal, ModerationAction, ModerationFlag
from tests.factories import make_user
from tests.factories_moderation import make_comment, make_moderator, make_proposal, make_suspension

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def test_queue_lists_pending_and_flagged_oldest_first_with_context(
    client, db_session, login_as
) -> None:
    first = make_comment(db_session, status=CommentStatus.PENDING, body="first pending")
    reply = make_comment(db_session, parent=make_comment(db_session, body="the parent text"))
    services.flag_item(db_session, item=reply, flagger=make_user(db_session), reason="hate")
    login_as(make_moderator(db_session))
    page = client.get("/moderation/queue")
    assert page.status_code == 200 and "<html" in page.text
    html = page.text
    assert html.index(f"queue-row-comment-{first.id}") < html.index(f"queue-row-comment-{reply.id}")
    assert "the parent text" in html and "Hate speech: 1" in html
    assert reply.proposal.title in html
    fragment = client.get("/moderation/queue", headers={"HX-Request": "true"})
    assert 'id="queue-list"' in fragment.text and "<html" not in fragment.text


def test_htmx_decision_swaps_the_row_and_plain_post_redirects(client, db_session, login_as) -> None:
    a = make_comment(db_session, status=CommentStatus.PENDING)
    b = make_comment(db_session, status=CommentStatus.PENDING)
    login_as(make_moderator(db_session))
    response = client.post(
        f"/moderation/items/comment/{a.id}/decide",
        data={"version": "1", "action": "approve"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "<html" not in response.text
    assert f'id="queue-row-comment-{a.id}"' in response.text and "Approved" in response.text
    assert "HX-Request" in response.headers["Vary"]
    response = client.post(
        f"/moderation/items/comment/{b.id}/decide",
        data={"version": "1", "action": "hide", "reason": "Off topic"},
    )
    assert response.status_code == 303 and "/moderation/queue" in response.headers["Location"]
    db_session.expire_all()
    assert a.status is CommentStatus.VISIBLE and b.status is CommentStatus.HIDDEN


def test_second_moderator_gets_409_already_handled(app, client, db_session, login_as) -> None:
    comment = make_comment(db_session, status=CommentStatus.PENDING)
    login_as(make_moderator(db_session, display_name="Moderator Ada"))
    assert (
        client.post(
            f"/moderation/items/comment/{comment.id}/decide",
            data={"version": "1", "action": "approve"},
        ).status_code
        == 303
    )
    other = app.test_client()
    login_as(make_moderator(db_session), on=other)
    response = other.post(
        f"/moderation/items/comment/{comment.id}/decide",
        data={"version": "1", "action": "remove", "reason": "spam"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 409
    assert "already handled by Moderator Ada" in response.text
    assert db_session.scalar(select(func.count()).select_from(ModerationAction)) == 1


def test_action_on_deleted_item_is_409(client, db_session, login_as) -> None:
    comment = make_comment(db_session, status=CommentStatus.DELETED)
    login_as(make_moderator(db_session))
    response = client.post(
        f"/moderation/items/comment/{comment.id}/decide",
        data={"version": "1", "action": "hide", "reason": "x"},
    )
    assert response.status_code == 409 and "deleted by its author" in response.text


def test_reason_longer_than_limit_is_a_field_error(client, db_session, login_as) -> None:
    comment = make_comment(db_session, status=CommentStatus.PENDING)
    login_as(make_moderator(db_session))
    response = client.post(
        f"/moderation/items/comment/{comment.id}/decide",
        data={"version": "1", "action": "hide", "reason": "x" * 501},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert 'class="field-error"' in response.text and "500" in response.text
    db_session.expire_all()
    assert comment.status is CommentStatus.PENDING
    response = client.post(
        f"/moderation/items/comment/{comment.id}/decide", data={"version": "1", "action": "hide"}
    )
    assert response.status_code == 422 and "Write a public reason" in response.text


def test_bulk_action_applies_to_selection(client, db_session, login_as) -> None:
    comments = [make_comment(db_session, status=CommentStatus.PENDING) for _ in range(3)]
    login_as(make_moderator(db_session))
    response = client.post(
        "/moderation/queue/bulk",
        data={
            "selected": [f"comment:{c.id}:1" for c in comments[:2]],
            "action": "hide",
            "reason": "Spam wave",
            "reason_code": "spam",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and 'id="queue-list"' in response.text
    assert "2 items hidden." in response.text
    db_session.expire_all()
    assert [c.status for c in comments] == [
        CommentStatus.HIDDEN,
        CommentStatus.HIDDEN,
        CommentStatus.PENDING,
    ]


def test_xss_in_flag_and_hide_reasons_is_inert(client, db_session, login_as) -> None:
    comment = make_comment(db_session)
    reporter = login_as(make_user(db_session))
    response = client.post(
        f"/moderation/report/comment/{comment.id}", data={"reason": "other", "details": XSS}
    )
    assert response.status_code == 303
    assert db_session.scalar(select(ModerationFlag.details)) == XSS
    assert reporter
    login_as(make_moderator(db_session))
    page = client.get("/moderation/queue").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert 'onerror="alert(2)"' not in page
    client.post(
        f"/moderation/items/comment/{comment.id}/decide",
        data={"version": "1", "action": "hide", "reason": XSS},
    )
    for url in ("/moderation/transparency", "/moderation/queue?tab=hidden"):
        html = client.get(url).text
        assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


def test_report_flow_and_refusals(client, db_session, login_as) -> None:
    author = make_user(db_session)
    comment = make_comment(db_session, author=author)
    login_as(make_user(db_session))
    form = client.get(f"/moderation/report/comment/{comment.id}")
    assert form.status_code == 200 and "Spam or advertising" in form.text
    assert client.post(f"/moderation/report/comment/{comment.id}", data={}).status_code == 422
    ok = client.post(
        f"/moderation/report/comment/{comment.id}",
        data={"reason": "spam"},
        headers={"HX-Request": "true"},
    )
    assert ok.status_code == 200 and "Thank you" in ok.text
    again = client.post(f"/moderation/report/comment/{comment.id}", data={"reason": "spam"})
    assert again.status_code == 409 and "already reported" in again.text
    login_as(author)
    own = client.post(f"/moderation/report/comment/{comment.id}", data={"reason": "spam"})
    assert own.status_code == 403 and "your own" in own.text


def test_suspended_user_is_told_why_and_until_when(client, db_session, login_as) -> None:
    user = login_as(make_user(db_session))
    make_suspension(db_session, user=user, reason="Repeated insults")
    home = client.get("/")
    assert "Account suspended: why?" in home.text
    mine = client.get("/moderation/mine")
    assert "suspended until" in mine.text and "Repeated insults" in mine.text
    comment = make_comment(db_session)
    refused = client.post(f"/moderation/report/comment/{comment.id}", data={"reason": "spam"})
    assert refused.status_code == 403 and "Repeated insults" in refused.text


def test_appeal_flow_author_sees_decision_and_cannot_appeal_twice(
    app, client, db_session, login_as
) -> None:
    acting = make_moderator(db_session)
    comment = make_comment(db_session)
    services.moderate_item(
        db_session, item=comment, actor=acting, action="hide", expected_version=1, reason="Rude"
    )
    login_as(comment.author)
    mine = client.get("/moderation/mine")
    assert "Rude" in mine.text and "Appeal this decision" in mine.text
    url = f"/moderation/appeal/comment/{comment.id}"
    assert client.post(url, data={"text": "It was irony"}).status_code == 303
    assert client.post(url, data={"text": "Again"}).status_code == 409
    assert db_session.scalar(select(func.count()).select_from(Appeal)) == 1
    mod = app.test_client()
    login_as(acting, on=mod)
    appeals_page = mod.get("/moderation/appeals").text
    assert "It was irony" in appeals_page and "another moderator" in appeals_page
    deciding = app.test_client()
    login_as(make_moderator(db_session), on=deciding)
    appeal_id = db_session.scalar(select(Appeal.id))
    response = deciding.post(
        f"/moderation/appeals/{appeal_id}/decide",
        data={"decision": "grant", "reason": "Irony is allowed"},
    )
    assert response.status_code == 303
    mine = client.get("/moderation/mine").text
    assert "Appeal granted" in mine and "Irony is allowed" in mine


def test_transparency_page_never_shows_removed_content(client, db_session) -> None:
    comment = make_comment(db_session, body="SECRET-REMOVED-WORDS")
    services.moderate_item(
        db_session,
        item=comment,
        actor=make_moderator(db_session),
        action="remove",
        expected_version=1,
        reason_code="illegal",
        reason="Unlawful",
    )
    page = client.get("/moderation/transparency")
    assert page.status_code == 200
    assert "SECRET-REMOVED-WORDS" not in page.text
    assert f"Comment #{comment.id}" in page.text and "Unlawful" in page.text
    assert "<svg" in page.text and "<table" in page.text
    fragment = client.get("/moderation/transparency?page=1", headers={"HX-Request": "true"})
    assert 'id="log-list"' in fragment.text and "<svg" not in fragment.text


def test_report_page_refuses_what_the_reader_may_not_see(client, db_session, login_as) -> None:
    from civicforum.proposals.models import ModerationStatus, ProposalState

    draft = make_proposal(db_session, state=ProposalState.DRAFT, title="SECRET draft")
    hidden = make_proposal(db_session, title="Hidden one", summary="SECRET summary")
    hidden.moderation_status = ModerationStatus.HIDDEN
    comments = [
        make_comment(db_session, status=status, body=f"SECRET {status.value}")
        for status in (
            CommentStatus.PENDING,
            CommentStatus.HIDDEN,
            CommentStatus.REMOVED,
            CommentStatus.DELETED,
        )
    ]
    db_session.flush()
    login_as(make_user(db_session))
    urls = [f"/moderation/report/proposal/{p.id}" for p in (draft, hidden)]
    urls += [f"/moderation/report/comment/{c.id}" for c in comments]
    for url in urls:
        page = client.get(url)
        assert page.status_code == 404 and "SECRET" not in page.text, url
        assert client.post(url, data={"reason": "spam"}).status_code == 404, url
    assert db_session.scalar(select(func.count()).select_from(ModerationFlag)) == 0
    shown = make_comment(db_session, body="shown text")
    assert client.get(f"/moderation/report/comment/{shown.id}").status_code == 200


def test_report_links_shown_to_signed_in_readers_of_others_content(
    client, db_session, login_as
) -> None:
    from tests.factories_proposals import make_category, make_proposal

    author = make_user(db_session)
    proposal = make_proposal(db_session, author=author, category=make_category(db_session))
    comment = make_comment(db_session, author=author, proposal=proposal)
    db_session.commit()
    page = f"/proposals/{proposal.id}"
    assert "/moderation/report/proposal/" not in client.get(page).text  # anonymous
    login_as(author)
    assert "/moderation/report/proposal/" not in client.get(page).text  # own proposal
    login_as(make_user(db_session))
    html = client.get(page).text
    assert f"/moderation/report/proposal/{proposal.id}?next=" in html
    assert f"/moderation/report/comment/{comment.id}?next=" in html


def test_sanction_check_rides_on_the_user_load_and_takes_effect_at_the_next_request(
    app, client, db_session, login_as
) -> None:
    from sqlalchemy import event

    user = login_as(make_user(db_session))
    comment = make_comment(db_session)
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    with app.app_context():
        engine = db_session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        ok = client.post(f"/moderation/report/comment/{comment.id}", data={"reason": "spam"})
        assert ok.status_code in (200, 303)
        # Unsanctioned: the only look at sanctions is the EXISTS inside the user's own load
        # (which PostgreSQL runs on the driver, past SQLAlchemy's events: db.OnDriver).
        sanction_reads = [s for s in seen if "moderation_sanctions" in s]
        user_loads = 0 if engine.dialect.name == "postgresql" else 1
        assert len(sanction_reads) == user_loads
        assert all("users.password_hash" in s for s in sanction_reads)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    make_suspension(db_session, user=user, reason="Cooling off")
    other = make_comment(db_session)
    refused = client.post(f"/moderation/report/comment/{other.id}", data={"reason": "spam"})
    assert refused.status_code == 403 and "Cooling off" in refused.text
