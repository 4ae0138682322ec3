"""Moderation in Chromium: the moderator clears the queue (single, bulk, without JS), suspends
a member and decides an appeal; a citizen reports, sees the pending state and appeals; anyone
reads the transparency page."""

from __future__ import annotations

from typing import Any

import pytest

from civicforum.deliberation.models import CommentStatus
from civicforum.moderation import services
from tests.browser.conftest import LiveServer, axe_check, login
from tests.factories import TEST_TOTP_SECRET, make_user
from tests.factories_moderation import make_comment, make_moderator

pytestmark = pytest.mark.browser


def _ids(live: LiveServer, build: Any) -> Any:
    with live.session() as s:
        return build(s)


def test_moderator_clears_queue_suspends_and_decides_appeal(
    page: Any, new_context: Any, live_server: LiveServer
) -> None:
    def build(s: Any) -> dict[str, Any]:
        pending = make_comment(s, status=CommentStatus.PENDING, body="Pending words")
        flagged = [make_comment(s, body=f"Flagged words {n}") for n in range(2)]
        for comment in flagged:
            services.flag_item(s, item=comment, flagger=make_user(s), reason="spam")
        hidden = make_comment(s, body="Hidden words")
        services.moderate_item(
            s,
            item=hidden,
            actor=make_moderator(s),
            action="hide",
            expected_version=1,
            reason="Rude",
        )
        services.file_appeal(s, item=hidden, appellant=hidden.author, text="It was a joke")
        moderator = make_moderator(s)
        return {
            "pending": pending.id,
            "flagged": [c.id for c in flagged],
            "hidden_author": hidden.author.email,
            "troll": flagged[0].author_id,
            "moderator": moderator.email,
        }

    ids = _ids(live_server, build)
    login(page, ids["moderator"], totp_secret=TEST_TOTP_SECRET, live=live_server)
    page.goto("/moderation/queue")
    axe_check(page)

    # One decision: htmx swaps the row in place, the page does not reload.
    row = page.locator(f"#queue-row-comment-{ids['pending']}")
    row.get_by_role("button", name="Approve").click()
    row = page.locator(f"#queue-row-comment-{ids['pending']}")
    row.get_by_text("Approved").wait_for()
    assert page.url.endswith("/moderation/queue")

    # Bulk: select the two reported comments by keyboard-reachable checkboxes.
    for comment_id in ids["flagged"]:
        page.get_by_label(f"Select Comment #{comment_id}").check()
    page.get_by_label("Action").select_option("hide")
    page.locator("#bulk-reason").fill("Spam wave")
    page.get_by_role("button", name="Apply to selected").click()
    page.get_by_text("2 items hidden.").wait_for()
    axe_check(page)

    # Suspend the author of the spam.
    page.goto(f"/moderation/users/{ids['troll']}")
    axe_check(page)
    page.get_by_label("Suspend for a number of days").check()
    page.get_by_label("Days (suspension only)").fill("3")
    page.get_by_label("Reason (shown to the member)").fill("Spamming the discussion")
    page.get_by_role("button", name="Record sanction").click()
    page.get_by_text("Sanction recorded").wait_for()
    assert page.get_by_text("in force").first.is_visible()

    # Decide the appeal (another moderator hid the comment).
    page.goto("/moderation/appeals")
    axe_check(page)
    card = page.locator("article", has_text="It was a joke")
    card.get_by_label("Grant (restore if hidden)").check()
    card.get_by_label("Reason (shown to the author)").fill("Humour is fine here")
    card.get_by_role("button", name="Decide").click()
    page.get_by_text("Appeal decided").wait_for()

    author = new_context().new_page()
    login(author, ids["hidden_author"])
    author.goto("/moderation/mine")
    assert author.get_by_text("Humour is fine here").is_visible()
    axe_check(author)


def test_moderation_works_without_javascript(nojs_page: Any, live_server: LiveServer) -> None:
    def build(s: Any) -> dict[str, Any]:
        pending = make_comment(s, status=CommentStatus.PENDING)
        return {"pending": pending.id, "moderator": make_moderator(s).email}

    ids = _ids(live_server, build)
    page = nojs_page
    login(page, ids["moderator"], totp_secret=TEST_TOTP_SECRET, live=live_server)
    page.goto("/moderation/queue")
    row = page.locator(f"#queue-row-comment-{ids['pending']}")
    row.get_by_label("Public reason (required to hide or remove)").fill("Not civil")
    row.get_by_role("button", name="Hide").click()
    page.wait_for_load_state()
    assert "/moderation/queue" in page.url
    assert page.get_by_text(f"Hidden: Comment #{ids['pending']}.").is_visible()


def test_citizen_reports_sees_pending_and_appeals(page: Any, live_server: LiveServer) -> None:
    def build(s: Any) -> dict[str, Any]:
        citizen = make_user(s)
        other = make_comment(s, body="Buy cheap watches")
        mine_pending = make_comment(s, author=citizen, status=CommentStatus.PENDING)
        mine_hidden = make_comment(s, author=citizen)
        services.moderate_item(
            s,
            item=mine_hidden,
            actor=make_moderator(s),
            action="hide",
            expected_version=1,
            reason="Off topic",
        )
        return {
            "citizen": citizen.email,
            "other": other.id,
            "pending": mine_pending.id,
            "hidden": mine_hidden.id,
        }

    ids = _ids(live_server, build)
    login(page, ids["citizen"])
    page.goto(f"/moderation/report/comment/{ids['other']}")
    axe_check(page)
    page.get_by_label("Spam or advertising").check()
    page.get_by_role("button", name="Send report").click()
    page.get_by_text("Moderators will review your report").wait_for()

    page.goto("/moderation/mine")
    axe_check(page)
    assert page.get_by_text("awaiting review").first.is_visible()
    page.locator("li", has_text=f"Comment #{ids['hidden']}").get_by_role(
        "link", name="Appeal this decision"
    ).click()
    axe_check(page)
    page.get_by_label("Why should the decision change?").fill("It answers the question asked.")
    page.get_by_role("button", name="Send appeal").click()
    page.get_by_text("Your appeal was sent").wait_for()


def test_anyone_reads_the_transparency_page(page: Any) -> None:
    page.goto("/")
    page.locator("footer").get_by_role("link", name="Moderation log").click()
    page.wait_for_url("**/moderation/transparency")
    assert page.get_by_role("img", name="Moderation decisions per month by action").is_visible()
    assert page.get_by_role("table").first.is_visible()
    axe_check(page)


@pytest.mark.parametrize("javascript", [True, False])
def test_bulk_remove_without_a_reason_keeps_the_queue_and_the_ticks(
    javascript: bool, page: Any, nojs_page: Any, live_server: LiveServer
) -> None:
    """Issue 15, item 1: after the confirm dialog (with JS) or a plain post (without), a
    refused bulk action leaves the queue, the form and the selection, and says what to fix."""
    browser_page = page if javascript else nojs_page
    ids = _ids(
        live_server,
        lambda s: {
            "pending": [make_comment(s, status=CommentStatus.PENDING).id for _ in range(2)],
            "moderator": make_moderator(s).email,
        },
    )
    login(browser_page, ids["moderator"], totp_secret=TEST_TOTP_SECRET, live=live_server)
    browser_page.goto("/moderation/queue")
    browser_page.on("dialog", lambda dialog: dialog.accept())
    for comment_id in ids["pending"]:
        browser_page.get_by_label(f"Select Comment #{comment_id}").check()
    browser_page.get_by_label("Action").select_option("remove")
    browser_page.get_by_role("button", name="Apply to selected").click()
    errors = browser_page.locator("#bulk-errors")
    errors.wait_for()
    assert "Write a public reason" in errors.inner_text()
    if javascript:
        browser_page.wait_for_function("() => document.activeElement.id === 'bulk-errors'")
    for comment_id in ids["pending"]:
        assert browser_page.get_by_label(f"Select Comment #{comment_id}").is_checked()
    assert browser_page.get_by_label("Action").input_value() == "remove"
    assert browser_page.get_by_role("heading", name="Moderation queue").is_visible()
    errors.get_by_role("link").click()
    if javascript:
        browser_page.wait_for_function("() => document.activeElement.id === 'bulk-reason'")
    browser_page.locator("#bulk-reason").fill("Off-topic spam")
    browser_page.get_by_role("button", name="Apply to selected").click()
    browser_page.get_by_text("2 items removed.").wait_for()
    axe_check(browser_page) if javascript else None


def test_transparency_chart_legend_sits_by_its_swatches_on_a_phone(
    new_context: Any, live_server: LiveServer
) -> None:
    """Issue 15, item 9: ".mod-chart svg" also sized the legend's swatches to the full width,
    so each label sat far below its colour; on a phone the chart's text was tiny."""
    from tests.browser.conftest import PHONE, sideways_overflow

    _ids(
        live_server,
        lambda s: services.moderate_item(
            s,
            item=make_comment(s),
            actor=make_moderator(s),
            action="hide",
            expected_version=1,
            reason="Rude",
        ),
    )
    page = new_context(viewport=PHONE).new_page()
    page.goto("/moderation/transparency")
    assert sideways_overflow(page) is None
    for item in page.locator(".chart-legend li").all():
        swatch = item.locator("svg").bounding_box()
        label = item.evaluate(
            "li => { const r = document.createRange(); r.selectNodeContents(li);"
            " const b = r.getClientRects(); return [...b].map(x => [x.left, x.top]); }"
        )
        assert swatch and swatch["width"] <= 16
        assert abs(label[-1][1] - swatch["y"]) < 12  # the label is on the swatch's line
    size = page.locator(".mod-chart > svg text").first.evaluate(
        "t => t.getBoundingClientRect().height"
    )
    assert size >= 9  # readable once the 720-unit chart is drawn at phone width
    axe_check(page)
