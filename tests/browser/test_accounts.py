"""Accounts in a real browser: register, verify by mail, log out and in, with and without JS."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, axe_check, login, logout
from tests.factories import TEST_PASSWORD, TEST_TOTP_SECRET

pytestmark = pytest.mark.browser
_seq = itertools.count(1)


def test_new_user_registers_verifies_logs_out_and_in(page: Any, live_server: LiveServer) -> None:
    email = f"newcomer{next(_seq)}@browser.test"
    password = "a fine long passphrase"

    page.goto("/")
    axe_check(page)
    page.locator("header").get_by_role("link", name="Register").click()
    axe_check(page)
    form = page.locator("#register-form")
    form.get_by_label("Display name").fill("Nadia Newcomer")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/account/")
    assert page.get_by_text("not confirmed yet").is_visible()
    axe_check(page)

    mail = live_server.mailbox.wait_for(to=email)
    link = live_server.mailbox.link(mail, "/account/verify/")
    page.goto(link)
    axe_check(page)
    page.get_by_role("button", name="Confirm my email address").click()
    page.wait_for_url("**/account/")
    assert page.get_by_text("your email address is confirmed").is_visible()
    assert page.get_by_text("confirmed", exact=True).is_visible()

    logout(page)
    assert page.locator("header").get_by_role("link", name="Log in").is_visible()

    page.goto("/account/login")
    axe_check(page)
    login(page, email, password)
    page.goto("/account/")
    assert page.get_by_role("heading", name="Your account").is_visible()
    assert page.locator("#sessions tbody tr").count() == 1


def test_wrong_password_shows_an_accessible_error(page: Any, live_user: Any) -> None:
    user = live_user()
    page.goto("/account/login")
    form = page.locator("#login-form")
    form.get_by_label("Email").fill(user.email)
    form.get_by_label("Password").fill("not the password at all")
    form.get_by_role("button", name="Log in").click()
    assert page.get_by_text("Email or password is not correct.").is_visible()
    assert form.get_by_label("Email").input_value() == user.email
    assert form.get_by_label("Password").input_value() == ""
    axe_check(page)


def test_login_without_javascript(nojs_page: Any, live_user: Any) -> None:
    user = live_user()
    nojs_page.goto("/account/login")
    login(nojs_page, user.email, TEST_PASSWORD)
    nojs_page.goto("/account/")
    assert nojs_page.get_by_role("heading", name="Your account").is_visible()
    logout(nojs_page)
    assert nojs_page.locator("header").get_by_role("link", name="Log in").is_visible()


def test_moderator_logs_in_with_totp_and_sets_nothing_up(
    page: Any, live_user: Any, live_server: LiveServer
) -> None:
    moderator = live_user(roles=("citizen", "moderator"))
    login(page, moderator.email, totp_secret=TEST_TOTP_SECRET, live=live_server)
    page.goto("/account/")
    assert page.get_by_text("Recovery codes left").is_visible()
    axe_check(page)


def test_the_two_factor_prompt_puts_focus_on_the_code_field(
    page: Any, live_user: Any, live_server: LiveServer
) -> None:
    """Issue 15, item 7: the prompt has one task; its field (with its hint) gets focus."""
    moderator = live_user(roles=("citizen", "moderator"))
    page.goto("/account/login")
    form = page.locator("#login-form")
    form.get_by_label("Email").fill(moderator.email)
    form.get_by_label("Password").fill(TEST_PASSWORD)
    form.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/account/totp/challenge**")
    code = page.get_by_label("Authentication code")
    assert code.evaluate("e => e === document.activeElement")
    assert "6-digit code" in page.locator("#" + code.get_attribute("aria-describedby")).inner_text()
    axe_check(page)
