"""Proposals and discussion in Chromium, as a new member would: with and without JavaScript."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, axe_check, login
from tests.factories_proposals import make_category, make_comment, make_proposal

pytestmark = pytest.mark.browser
_seq = itertools.count(1)


def _category(live_server: LiveServer) -> str:
    with live_server.session() as s:
        category = make_category(s, name=f"Parks {next(_seq)}")
        s.commit()
        return category.name


def _proposal(live_server: LiveServer, author: Any, title: str) -> int:
    with live_server.session() as s:
        from civicforum.accounts.models import User

        proposal = make_proposal(s, author=s.get(User, author.id), title=title)
        make_comment(s, proposal=proposal, author=s.get(User, author.id), body="First thoughts")
        s.commit()
        return proposal.id


def test_write_edit_support_and_discuss_with_js(
    page: Any, live_server: LiveServer, live_user
) -> None:
    category = _category(live_server)
    author = live_user()
    login(page, author.email)
    page.goto("/proposals/new")
    axe_check(page)
    form = page.locator("#proposal-form")
    form.get_by_label("Title").fill("Shade sails on the playground")
    form.get_by_label("Summary").fill("Children need shade in summer.")
    form.get_by_label("Proposal text (Markdown)").fill("Install **shade sails**.")
    form.get_by_label("Category").select_option(label=category)
    form.get_by_role("button", name="Publish").click()
    page.wait_for_url("**/proposals/*")
    assert page.locator(".prose strong").inner_text() == "shade sails"
    axe_check(page)

    page.get_by_role("link", name="Edit").first.click()
    page.locator("#proposal-form").get_by_label("Summary").fill("Children and parents need shade.")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_role("link", name="edited (2 revisions)").click()
    assert page.locator(".diff ins").first.is_visible()
    axe_check(page)

    supporter = live_user()
    page.context.clear_cookies()
    login(page, supporter.email)
    page.goto("/proposals/?q=shade")
    page.get_by_role("link", name="Shade sails on the playground").click()
    url = page.url
    page.get_by_role("button", name="Support this proposal").click()
    page.get_by_role("button", name="Withdraw my support").wait_for()
    assert page.url == url  # swapped in place, no reload

    page.locator("#comment-form").get_by_label("Your comment (Markdown)").fill("Yes, *please*!")
    page.locator("#comment-form").get_by_label("In favour").check()
    page.get_by_role("button", name="Post comment").click()
    page.locator("#comment-list em", has_text="please").wait_for()
    first = page.locator("#comment-list > li").first
    first.get_by_role("link", name="Reply").click()
    page.locator(".reply-form textarea").fill("Replying to myself inline")
    page.locator(".reply-form").get_by_role("button", name="Post reply").click()
    page.get_by_text("Replying to myself inline").wait_for()
    assert page.url == url
    axe_check(page)

    page.context.clear_cookies()
    login(page, author.email)
    page.goto("/notifications/")
    assert page.get_by_text("New comment on your proposal").first.is_visible()
    axe_check(page)


def test_browse_filter_with_history(page: Any, live_server: LiveServer, live_user) -> None:
    author = live_user()
    title = f"Night bus line {next(_seq)}"
    _proposal(live_server, author, title)
    page.goto("/proposals/")
    axe_check(page)
    page.get_by_label("Search").fill("Night bus")
    page.get_by_label("Search").press("Enter")
    page.wait_for_url("**q=Night*bus*")
    assert page.get_by_role("link", name=title).is_visible()
    page.get_by_label("Sort by").select_option("supported")
    page.wait_for_url("**sort=supported**")
    page.go_back()
    page.wait_for_url("**q=Night*bus*")


def test_support_and_comment_without_js(nojs_page: Any, live_server: LiveServer, live_user) -> None:
    author = live_user()
    proposal_id = _proposal(live_server, author, f"Water fountains {next(_seq)}")
    member = live_user()
    login(nojs_page, member.email)
    nojs_page.goto(f"/proposals/{proposal_id}")
    nojs_page.get_by_role("button", name="Support this proposal").click()
    nojs_page.get_by_role("button", name="Withdraw my support").wait_for()
    nojs_page.locator("#comment-form").get_by_label("Your comment (Markdown)").fill(
        "Works without JS"
    )
    nojs_page.get_by_role("button", name="Post comment").click()
    nojs_page.get_by_text("Works without JS").wait_for()
    nojs_page.get_by_role("link", name="Reply").first.click()
    nojs_page.locator(".reply-form textarea").fill("A plain-form reply")
    nojs_page.get_by_role("button", name="Post reply").click()
    nojs_page.get_by_text("A plain-form reply").wait_for()


def test_posting_into_a_discussion_logs_no_console_error(
    page: Any, live_server: LiveServer, live_user
) -> None:
    """Issue 15, item 6: htmx's out-of-band updates find their targets on every page that
    posts a comment (the proposal, the discussion page, a comment's own page), whether the
    discussion was empty or not."""
    author = live_user()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, author.email)
    with live_server.session() as s:
        from civicforum.accounts.models import User

        empty = make_proposal(s, author=s.get(User, author.id), title=f"Quiet {next(_seq)}").id
    busy = _proposal(live_server, author, f"Busy {next(_seq)}")

    for where in (f"/proposals/{empty}", f"/proposals/{busy}", f"/proposals/{busy}/comments/"):
        page.goto(where)
        form = page.locator("#comment-form")
        form.get_by_label("Your comment (Markdown)").fill(f"A comment on {where}")
        form.get_by_role("button", name="Post comment").click()
        page.get_by_text(f"A comment on {where}").first.wait_for()
        assert not page.locator("#no-comments").is_visible()
    page.goto(f"/proposals/{busy}")
    permalink = page.locator(".comment .permalink").last.get_attribute("href")
    for where in (f"/proposals/{busy}", permalink):
        page.goto(where)
        page.locator(".comment").last.get_by_role("link", name="Reply").click()
        reply = page.locator(".reply-slot form")
        reply.get_by_role("textbox").fill(f"A reply on {where}")
        reply.get_by_role("button", name="Post reply").click()
        page.get_by_text(f"A reply on {where}").wait_for()
    page.wait_for_timeout(300)
    assert errors == []
