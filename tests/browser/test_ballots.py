"""Ballots in Chromium: a demo citizen votes in every ballot type (with and without
JavaScript), keeps the receipt, and reads results with charts and the transfer picture."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, axe_check, login

pytestmark = pytest.mark.browser
DEMO_CITIZEN = "citizen@demo.civicforum.test"
DEMO_PASSWORD = "demo-citizen-password"
_seq = itertools.count(1)


@pytest.fixture(scope="module")
def demo(live_server: LiveServer) -> dict[str, int]:
    """The accounts and ballots demo data in the live database (both seeders are idempotent)."""
    from sqlalchemy import select

    from civicforum.accounts import demo as accounts_demo
    from civicforum.ballots import demo as ballots_demo
    from civicforum.ballots.models import Ballot

    with live_server.session() as s, live_server.app.test_request_context():
        accounts_demo.seed(s)
        s.commit()
        ballots_demo.seed(s)
        s.commit()
        rows = s.execute(
            select(Ballot.title, Ballot.id).where(Ballot.title.in_(ballots_demo.TITLES))
        )
        ids = {title: ballot_id for title, ballot_id in rows}
    return {
        "approval": ids[ballots_demo.TITLES[0]],
        "irv": ids[ballots_demo.TITLES[1]],
        "stv": ids[ballots_demo.TITLES[2]],
    }


def fresh_ballot(live_server: LiveServer, **kwargs: Any) -> int:
    """An extra open ballot in the live database (each test gets its own)."""
    from tests.factories_ballots import make_ballot

    with live_server.session() as s, live_server.app.test_request_context():
        ballot = make_ballot(s, title=f"Browser ballot {next(_seq)}", **kwargs)
        s.flush()
        return ballot.id


def test_demo_citizen_votes_in_the_open_approval_ballot_with_js(
    page: Any, live_server: LiveServer, demo: dict[str, int]
) -> None:
    login(page, DEMO_CITIZEN, DEMO_PASSWORD)
    page.goto("/ballots/")
    axe_check(page)
    page.get_by_role("link", name="Which park improvements").click()
    axe_check(page)
    panel = page.locator("#vote-panel")
    panel.get_by_label("Plant 50 trees").check()
    panel.get_by_label("Outdoor gym").check()
    panel.get_by_role("button", name="Review my ballot").click()
    # htmx swapped the panel: the confirmation shows exactly what will be recorded.
    confirm = page.locator("[data-testid=confirm-choice]")
    confirm.wait_for()
    assert confirm.locator("li").all_inner_texts() == ["Plant 50 trees", "Outdoor gym"]
    # Focus moved into the new panel (its heading), not left on <body> by the swap.
    page.wait_for_function("() => document.activeElement.id === 'vote-heading'")
    assert page.evaluate("() => document.activeElement.textContent") == "Check your ballot"
    axe_check(page)
    page.get_by_role("button", name="Cast my ballot").click()
    page.get_by_role("heading", name="Your ballot has been recorded").wait_for()
    page.wait_for_function(
        "() => document.activeElement.textContent === 'Your ballot has been recorded'"
    )
    tracker = page.locator(".tracker").inner_text()
    assert len(tracker) == 32
    with page.expect_download() as download:
        page.get_by_role("button", name="Download receipt (.tlog-promise)").click()
    assert download.value.suggested_filename.endswith(".tlog-promise")
    promise = Path(download.value.path()).read_text(encoding="utf-8")
    assert promise.startswith("civicforum.org/tlog-promise@v1\nextra ")
    assert "merge-by " in promise


def test_demo_citizen_ranks_in_the_irv_ballot_without_js(
    nojs_page: Any, live_server: LiveServer, demo: dict[str, int]
) -> None:
    page = nojs_page
    login(page, DEMO_CITIZEN, DEMO_PASSWORD)
    page.goto(f"/ballots/{demo['irv']}")
    panel = page.locator("#vote-panel")
    assert panel.locator(".move-up").count() == 0  # no script: plain rank selectors
    panel.get_by_label("The Commons").select_option("1")
    panel.get_by_label("Ada Lovelace Library").select_option("2")
    panel.get_by_role("button", name="Review my ballot").click()
    page.wait_for_load_state()
    confirm = page.locator("[data-testid=confirm-choice] ol li")
    assert confirm.all_inner_texts() == ["The Commons", "Ada Lovelace Library"]
    page.get_by_role("button", name="Cast my ballot").click()
    page.wait_for_load_state()
    # The receipt comes in the cast's own response (reloading it is harmless: one token).
    assert page.get_by_role("heading", name="Your ballot has been recorded").is_visible()
    assert (page.locator("[data-testid=receipt-text]").text_content() or "").startswith(
        "civicforum.org/tlog-promise@v1"
    )
    recorded = page.locator("[data-testid=recorded-choice] li").all_inner_texts()
    assert recorded == ["The Commons", "Ada Lovelace Library"]
    # (No axe check here: axe is a script, and evaluating scripts hangs with JS disabled.)


def test_refusal_without_js_keeps_the_form(
    nojs_page: Any, live_server: LiveServer, live_user: Any
) -> None:
    user = live_user()
    ballot_id = fresh_ballot(live_server, method="irv")
    page = nojs_page
    login(page, user.email)
    page.goto(f"/ballots/{ballot_id}")
    panel = page.locator("#vote-panel")
    panel.get_by_label("Apples").select_option("1")
    panel.get_by_label("Bananas").select_option("3")
    panel.get_by_role("button", name="Review my ballot").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").filter(has_text="skip a number").is_visible()
    assert page.locator("#rank-o2").input_value() == "3"  # what the voter chose is kept


def test_ranking_control_buttons_keyboard_and_selects_stay_in_sync(
    page: Any, live_server: LiveServer, live_user: Any
) -> None:
    user = live_user()
    ballot_id = fresh_ballot(live_server, method="schulze", options=("Red", "Green", "Blue"))
    login(page, user.email)
    page.goto(f"/ballots/{ballot_id}")
    panel = page.locator("#vote-panel")
    # Moving an option ranks it (unranked options always stay below the ranked ones), and
    # its select follows.
    panel.get_by_role("button", name="Move Blue up").click()
    assert page.locator("#rank-o3").input_value() == "1"
    assert panel.locator(".rank-item .rank-label").all_inner_texts()[0] == "Blue"
    # At the top it cannot move further: it says so (aria-disabled) and keeps focus.
    assert panel.get_by_role("button", name="Move Blue up").get_attribute("aria-disabled") == (
        "true"
    )
    # Alt+ArrowDown on an option moves it (and ranks it) from the keyboard.
    page.locator("#rank-o1").focus()
    page.keyboard.press("Alt+ArrowDown")
    order = panel.locator(".rank-item .rank-label").all_inner_texts()
    ranks = {key: page.locator(f"#rank-{key}").input_value() for key in ("o1", "o2", "o3")}
    assert ranks["o3"] == "1" and ranks["o1"] == "2" and order[:2] == ["Blue", "Red"]
    # Choosing a rank in a select reorders the list and keeps ranks contiguous.
    page.locator("#rank-o2").select_option("1")
    order = panel.locator(".rank-item .rank-label").all_inner_texts()
    assert order == ["Green", "Blue", "Red"]
    assert [page.locator(f"#rank-{k}").input_value() for k in ("o2", "o3", "o1")] == ["1", "2", "3"]
    axe_check(page)
    panel.get_by_role("button", name="Review my ballot").click()
    confirm = page.locator("[data-testid=confirm-choice] ol li")
    confirm.first.wait_for()
    assert confirm.all_inner_texts() == ["Green", "Blue", "Red"]
    page.get_by_role("button", name="Cast my ballot").click()
    page.get_by_role("heading", name="Your ballot has been recorded").wait_for()


def test_stv_vote_with_drag_then_results_after_closing(
    page: Any, live_server: LiveServer, live_user: Any, demo: dict[str, int]
) -> None:
    user = live_user()
    ballot_id = fresh_ballot(live_server, method="stv", seats=2, options=("Ana", "Ben", "Cy", "Di"))
    login(page, user.email)
    page.goto(f"/ballots/{ballot_id}")
    panel = page.locator("#vote-panel")
    panel.locator(".rank-item[data-key=o4]").drag_to(panel.locator(".rank-item[data-key=o1]"))
    assert page.locator("#rank-o4").input_value() == "1"
    panel.get_by_role("button", name="Review my ballot").click()
    page.get_by_role("button", name="Cast my ballot").click()
    page.get_by_role("heading", name="Your ballot has been recorded").wait_for()

    # The demo's closed STV ballot: winners, a chart per round, the transfer picture.
    page.goto(f"/ballots/{demo['stv']}/results")
    winners = page.locator("[data-testid=winners] li").all_inner_texts()
    assert len(winners) == 3
    assert page.locator("svg.bar-chart").count() >= 2
    assert page.locator("svg.flow-chart").count() == 1
    assert page.locator("table.round-table").count() == page.locator("svg.bar-chart").count()
    axe_check(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Anonymised cast-vote records (BLT)").click()
    assert download.value.suggested_filename.endswith(".blt")


def _active(page: Any) -> str:
    """The focused element, as "tag#id" or "tag[aria-label]"."""
    return str(
        page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')"
            " + (e.getAttribute('aria-label') ? '[' + e.getAttribute('aria-label') + ']' : ''); }"
        )
    )


def _order(page: Any) -> list[str]:
    return page.locator("#vote-panel .rank-item .rank-label").all_inner_texts()


def test_ranking_by_keyboard_keeps_focus_where_the_voter_is(
    page: Any, live_server: LiveServer, live_user: Any
) -> None:
    """Issue 15, item 7 (WAI-ARIA APG: rearrangeable list, focusable unavailable buttons)."""
    email = live_user().email  # a member before the ballot opens: its electorate is fixed then
    ballot_id = fresh_ballot(live_server, method="irv", options=("Red", "Green", "Blue"))
    login(page, email)
    page.goto(f"/ballots/{ballot_id}")
    up = "button[Move Blue up]"
    page.get_by_role("button", name="Move Blue up").focus()
    page.keyboard.press("Enter")  # moving an option ranks it: Blue becomes 1st
    assert _active(page) == up and _order(page) == ["Blue", "Red", "Green"]
    button = page.get_by_role("button", name="Move Blue up")
    assert button.get_attribute("aria-disabled") == "true"  # it can go no further...
    page.keyboard.press("Space")  # ...so nothing happens, and focus stays
    assert _active(page) == up and _order(page) == ["Blue", "Red", "Green"]
    page.get_by_role("button", name="Move Green up").focus()
    page.keyboard.press("Enter")  # Green: 3rd -> 2nd (rank 2)
    assert _active(page) == "button[Move Green up]"
    assert _order(page) == ["Blue", "Green", "Red"]
    page.keyboard.press("Enter")  # Green: 2nd -> 1st
    assert _active(page) == "button[Move Green up]"
    assert _order(page) == ["Green", "Blue", "Red"]
    assert [page.locator(f"#rank-{k}").input_value() for k in ("o2", "o3", "o1")] == ["1", "2", ""]
    page.get_by_role("button", name="Move Green down").focus()
    page.keyboard.press("Enter")
    assert _order(page) == ["Blue", "Green", "Red"]
    assert page.locator("#rank-o3").input_value() == "1"
    # An unavailable button looks unavailable: not the enabled buttons' filled blue.
    look = "e => [getComputedStyle(e).borderStyle, getComputedStyle(e).color]"
    assert button.evaluate(look) != page.get_by_role("button", name="Move Blue down").evaluate(look)
    assert button.evaluate(look)[0] == "dashed"
    live = page.locator("#vote-panel [aria-live]").inner_text()
    assert live == "Green: rank 2"  # the last move, announced

    # Arrow keys on a closed rank selector change its rank, keep focus there, and do not
    # reorder the list under the keys; leaving the selector puts the list in order.
    page.locator("#rank-o3").focus()
    page.keyboard.press("ArrowDown")  # Blue: rank 1 -> 2
    assert _active(page) == "select#rank-o3"
    assert page.locator("#rank-o3").input_value() == "2"
    assert _order(page) == ["Blue", "Green", "Red"]
    page.keyboard.press("Tab")
    assert _order(page) == ["Green", "Blue", "Red"]
    assert [page.locator(f"#rank-{k}").input_value() for k in ("o2", "o3", "o1")] == ["1", "2", ""]

    # Alt+Arrow moves the option whose control has focus, and focus stays on that control.
    page.locator("#rank-o1").focus()
    page.keyboard.press("Alt+ArrowUp")  # Red (unranked, last) moves up and is ranked 2nd
    assert _active(page) == "select#rank-o1" and _order(page) == ["Green", "Red", "Blue"]
    assert page.locator("#rank-o1").input_value() == "2"
    axe_check(page)

    # "Clear my ranking" clears in place, keeping focus on the button.
    page.get_by_role("button", name="Clear my ranking").focus()
    page.keyboard.press("Enter")
    assert _active(page) == "button"
    assert {page.locator(f"#rank-{k}").input_value() for k in ("o1", "o2", "o3")} == {""}


def test_clear_my_ranking_without_javascript(
    nojs_page: Any, live_server: LiveServer, live_user: Any
) -> None:
    """Issue 15, item 8: a blank vote without JavaScript needs no selector reset by hand."""
    email = live_user().email  # a member before the ballot opens: its electorate is fixed then
    ballot_id = fresh_ballot(live_server, method="irv", options=("Red", "Green", "Blue"))
    page = nojs_page
    login(page, email)
    page.goto(f"/ballots/{ballot_id}")
    panel = page.locator("#vote-panel")
    panel.get_by_label("Red").select_option("1")
    panel.get_by_label("Blue").select_option("2")
    panel.get_by_role("button", name="Clear my ranking").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your ranking is cleared: no option is ranked.").is_visible()
    assert {page.locator(f"#rank-{k}").input_value() for k in ("o1", "o2", "o3")} == {""}
    page.get_by_label("Cast a blank ballot (abstain on purpose)").check()
    page.get_by_role("button", name="Review my ballot").click()
    page.wait_for_load_state()
    assert page.get_by_text("A blank ballot: you abstain.").is_visible()


def test_anonymous_visitors_see_the_options(page: Any, live_server: LiveServer) -> None:
    ballot_id = fresh_ballot(live_server, method="irv", options=("Red", "Green", "Blue"))
    page.goto(f"/ballots/{ballot_id}")
    options = page.get_by_role("list", name="Options on this ballot")
    assert options.get_by_role("listitem").all_inner_texts() == ["Red", "Green", "Blue"]
    axe_check(page)
