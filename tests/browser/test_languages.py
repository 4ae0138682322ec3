"""Languages in Chromium (issue 15, item 11): the switcher without JavaScript, remembered on
the next visit; Arabic mirrored right to left, fitting a phone, axe-clean."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PHONE, LiveServer, axe_check, sideways_overflow

pytestmark = pytest.mark.browser


def test_switching_language_without_javascript_is_remembered(
    nojs_page: Any, live_server: LiveServer
) -> None:
    page = nojs_page
    page.goto("/proposals/")
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Change language").click()
    page.wait_for_load_state()
    assert page.url.endswith("/proposals/")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", level=1).inner_text() == "Propositions"
    page.goto("/ballots/")  # remembered on the next page, without asking again
    assert page.locator("html").get_attribute("lang") == "fr"
    page.get_by_label("Langue").select_option("es")
    page.get_by_role("button", name="Changer de langue").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "es"


def test_arabic_is_mirrored_right_to_left_on_a_phone(
    new_context: Any, live_server: LiveServer
) -> None:
    page = new_context(viewport=PHONE).new_page()
    page.goto("/language?lang=ar&next=/proposals/")
    html = page.locator("html")
    assert html.get_attribute("dir") == "rtl" and html.get_attribute("lang") == "ar"
    # Mirrored: the site name starts at the right edge, text runs from the right.
    brand = page.locator(".brand").bounding_box()
    assert brand and brand["x"] + brand["width"] > PHONE["width"] - 40
    heading = page.get_by_role("heading", level=1)
    assert heading.evaluate("h => getComputedStyle(h).direction") == "rtl"
    box = heading.bounding_box()
    assert box and box["x"] + box["width"] > PHONE["width"] - 40
    assert sideways_overflow(page) is None
    axe_check(page)
    page.goto("/ballots/")
    assert sideways_overflow(page) is None
    axe_check(page)
