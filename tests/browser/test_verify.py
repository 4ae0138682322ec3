"""/verify in Chromium: vote, keep the receipt, verify it (with and without JavaScript),
and see a tampered receipt refused."""

from __future__ import annotations

import base64
import itertools
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import PHONE, LiveServer, axe_check, login, sideways_overflow

pytestmark = pytest.mark.browser
_seq = itertools.count(1)


def vote_and_keep_receipt(page: Any, live_server: LiveServer, live_user: Any, tmp: Path) -> Path:
    from tests.factories_ballots import make_ballot

    user = live_user()  # a member before the ballot opens: its electorate is fixed then
    with live_server.session() as s, live_server.app.test_request_context():
        ballot = make_ballot(
            s, title=f"Verify ballot {next(_seq)}", options=("Night buses", "Bike lanes")
        )
        s.flush()
        ballot_id = ballot.id
    login(page, user.email)
    page.goto(f"/ballots/{ballot_id}")
    panel = page.locator("#vote-panel")
    panel.get_by_label("Bike lanes").check()
    panel.get_by_role("button", name="Review my ballot").click()
    page.get_by_role("button", name="Cast my ballot").click()
    page.get_by_role("heading", name="Your ballot has been recorded").wait_for()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download receipt (.tlog-promise)").click()
    saved = tmp / "my-vote.tlog-promise"
    download.value.save_as(saved)
    return saved


def test_vote_keep_receipt_and_verify_it(
    page: Any, live_server: LiveServer, live_user: Any, tmp_path: Path
) -> None:
    receipt = vote_and_keep_receipt(page, live_server, live_user, tmp_path)
    page.get_by_role("link", name="Verify a receipt").click()  # footer navigation
    page.wait_for_url("**/verify")
    axe_check(page)
    page.get_by_label("…or upload the receipt file").set_input_files(str(receipt))
    page.get_by_role("button", name="Verify").click()
    result = page.locator("#verify-result")
    result.get_by_role("heading", name="This receipt is valid").wait_for()
    assert result.locator(".entry-choices li").all_inner_texts() == ["Bike lanes"]
    axe_check(page)
    # The promise is kept (the ballot is in the log): the full proof can be downloaded.
    with page.expect_download() as download:
        result.get_by_role("button", name="Download the full proof (.tlog-proof)").click()
    proof = Path(download.value.path()).read_text(encoding="utf-8")
    assert proof.startswith("c2sp.org/tlog-proof@v1") and "\nindex " in proof

    # The same receipt with its choice rewritten is refused.
    text = receipt.read_text(encoding="utf-8")
    extra = text.split("\n")[1].removeprefix("extra ")
    entry = base64.b64decode(extra)
    forged = text.replace(extra, base64.b64encode(entry.replace(b'"o2"', b'"o1"')).decode())
    assert forged != text
    page.get_by_label("Receipt text (.tlog-promise or .tlog-proof)").fill(forged)
    page.get_by_label("…or upload the receipt file").set_input_files([])
    page.get_by_role("button", name="Verify").click()
    result.get_by_role("heading", name="This receipt does not verify").wait_for()


def test_verify_works_without_javascript(
    nojs_page: Any, live_server: LiveServer, live_user: Any, tmp_path: Path, page: Any
) -> None:
    receipt = vote_and_keep_receipt(page, live_server, live_user, tmp_path)
    nojs_page.goto("/verify")
    nojs_page.get_by_label("Receipt text (.tlog-promise or .tlog-proof)").fill(
        receipt.read_text(encoding="utf-8")
    )
    nojs_page.get_by_role("button", name="Verify").click()
    nojs_page.wait_for_load_state()
    assert nojs_page.get_by_role("heading", name="This receipt is valid").is_visible()
    assert "Bike lanes" in nojs_page.locator("#verify-result").inner_text()


def test_a_verified_receipt_fits_a_phone(
    page: Any, new_context: Any, live_server: LiveServer, live_user: Any, tmp_path: Path
) -> None:
    """Issue 15, item 9: /verify's result was 496 px wide on a 375 px phone, and its choice
    list (a CSS class clash) laid the options over their numbers."""
    receipt = vote_and_keep_receipt(page, live_server, live_user, tmp_path)
    phone = new_context(viewport=PHONE).new_page()
    phone.goto("/verify")
    phone.get_by_label("…or upload the receipt file").set_input_files(str(receipt))
    phone.get_by_role("button", name="Verify").click()
    phone.locator("#verify-result").get_by_role("heading", name="This receipt is valid").wait_for()
    assert sideways_overflow(phone) is None
    item = phone.locator("#verify-result .entry-choices li").first
    assert item.evaluate("e => getComputedStyle(e).display") == "list-item"  # numbered, not flex
    axe_check(phone)
