"""Participatory budgets in Chromium: the demo citizen votes in the open demo budget with the
running total (axe-clean), over the budget the total says so and the server refuses; the
decided demo budget's results page shows the budget bar and why the park lost."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LiveServer, axe_check, login

pytestmark = pytest.mark.browser
DEMO_CITIZEN = "citizen@demo.civicforum.test"
DEMO_PASSWORD = "demo-citizen-password"


@pytest.fixture(scope="module")
def budgets(live_server: LiveServer) -> dict[str, int]:
    """The demo budgets in the live database (the seeders are idempotent): title -> ballot id."""
    from sqlalchemy import select

    from civicforum.accounts import demo as accounts_demo
    from civicforum.ballots import demo as ballots_demo
    from civicforum.budgets import demo as budgets_demo
    from civicforum.budgets.models import Budget

    with live_server.session() as s, live_server.app.test_request_context():
        accounts_demo.seed(s)
        s.commit()
        ballots_demo.seed(s)
        s.commit()
        budgets_demo.seed(s)
        s.commit()
        rows = s.execute(select(Budget.title, Budget.ballot_id))
        return {title: ballot_id for title, ballot_id in rows if ballot_id is not None}


def test_the_running_total_follows_the_choice_and_the_server_checks_it(
    page: Any, live_server: LiveServer, budgets: dict[str, int]
) -> None:
    from civicforum.budgets.demo import TITLES

    login(page, DEMO_CITIZEN, DEMO_PASSWORD)
    page.goto("/budgets/")
    axe_check(page)
    page.get_by_role("link", name=TITLES[1]).click()
    axe_check(page)
    page.get_by_role("link", name="Vote on this budget").click()
    panel = page.locator("#vote-panel")
    total = panel.locator("[data-budget-total]")
    panel.get_by_label("Skate park extension").check()
    assert total.inner_text() == "Chosen: 35,000 of 80,000"
    panel.get_by_label("Free music studio for teenagers").check()
    panel.get_by_label("Library late openings").check()
    assert total.inner_text() == "Chosen: 79,000 of 80,000"
    axe_check(page)
    panel.get_by_label("Street art walls").check()  # 87,000: over the budget
    assert "7,000 more than you have" in total.inner_text()
    panel.get_by_role("button", name="Review my ballot").click()
    page.get_by_text("more than the 80,000 EUR available").wait_for()
    panel.get_by_label("Street art walls").uncheck()
    panel.get_by_role("button", name="Review my ballot").click()
    page.locator("[data-testid=chosen-total]").wait_for()
    assert "79,000 EUR of 80,000 EUR" in page.locator("[data-testid=chosen-total]").inner_text()
    page.get_by_role("button", name="Cast my ballot").click()
    page.get_by_role("heading", name="Your ballot has been recorded").wait_for()
    recorded = page.locator("[data-testid=recorded-choice] li").all_inner_texts()
    assert recorded == [
        "Skate park extension",
        "Free music studio for teenagers",
        "Library late openings",
    ]


def test_the_decided_budget_explains_its_result(
    page: Any, live_server: LiveServer, budgets: dict[str, int]
) -> None:
    from civicforum.budgets.demo import TITLES

    page.goto(f"/ballots/{budgets[TITLES[0]]}/results")
    assert page.locator("svg.budget-bar rect.seg").count() >= 3
    why = page.locator("[data-testid=unfunded] li", has_text="Riverside park renovation")
    assert "supporters' shares could not pay for it" in why.inner_text()
    fairness = page.locator("[data-testid=fairness]").inner_text()
    assert "(14 of 14) got at least one project they chose" in fairness
    axe_check(page)
