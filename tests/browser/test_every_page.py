"""Every page each role can reach, on a phone: a crawl of the demo site at 375 px.

Anonymous visitors, a citizen, a moderator, an auditor and an admin (the demo accounts) each
start at the home page and follow every same-site link (one page per address pattern: ids
and page numbers are folded). On every page: no sideways scrolling, no console error or
failed request, headings that do not skip a level, and no serious or critical axe-core
violation. This is the check that keeps the 375 px layout and the crawl clean in CI.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.browser.conftest import (
    PHONE,
    LiveServer,
    axe_check,
    live_app,
    login,
    serve,
    sideways_overflow,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DOMAIN = "demo.civicforum.test"
ROLES: dict[str, tuple[str, str, str | None] | None] = {
    "anonymous": None,
    "citizen": (f"citizen@{DOMAIN}", "demo-citizen-password", None),
    "moderator": (
        f"moderator@{DOMAIN}",
        "demo-moderator-password",
        "DEMOMODERATORTOTPSECRETAAAAAAAAA",
    ),
    "auditor": (f"auditor@{DOMAIN}", "demo-auditor-password", "DEMOAUDITORTOTPSECRETAAAAAAAAAAA"),
    "admin": (f"admin@{DOMAIN}", "demo-admin-password", "DEMOADMINTOTPSECRETAAAAAAAAAAAAA"),
}
# Downloads, machine-readable endpoints and the favicon are not pages.
NOT_PAGES = re.compile(
    r"^/(static|ledger)/|^/healthz$|^/favicon\.ico$|\.(json|csv|blt|zip|tlog-proof|txt)$"
    r"|/cvr\.|/results\.|/receipt\.tlog-proof$"
)
# Two pages per address pattern (two ballots may be two methods), a few query variants
# per path (?page=2, ?state=closed, ...): enough to meet every layout without reading the site.
SAMPLES_PER_PATTERN = 2
VARIANTS_PER_PATH = 3
MAX_PAGES = 150


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory, smtp_server: Any) -> Iterator[LiveServer]:
    """A live server of its own with the whole demo (`civicforum seed-demo`)."""
    app = live_app(tmp_path_factory.mktemp("demo"), smtp_server)
    with serve(app, smtp_server[2]) as server:
        with app.app_context():
            result = app.test_cli_runner().invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
        yield server


def pattern(url: str) -> tuple[str, str]:
    """(path with numbers folded, query keys with numbers folded)."""
    parts = urlsplit(url)
    path = re.sub(r"\d+", "N", parts.path)
    query = "&".join(sorted(f"{k}={re.sub(r'[0-9]+', 'N', v)}" for k, v in parse_qsl(parts.query)))
    return path, query


@dataclass
class Crawl:
    origin: str
    seen: set[str] = field(default_factory=set)
    samples: dict[tuple[str, str], int] = field(default_factory=dict)
    variants: dict[str, set[str]] = field(default_factory=dict)
    queue: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    axe_checked: set[str] = field(default_factory=set)

    def offer(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or f"{parts.scheme}://{parts.netloc}" != (
            self.origin
        ):
            return
        if NOT_PAGES.search(parts.path):
            return
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        path, query = key = pattern(url)
        variants = self.variants.setdefault(path, set())
        if (
            target in self.seen
            or self.samples.get(key, 0) >= SAMPLES_PER_PATTERN
            or (query not in variants and len(variants) >= VARIANTS_PER_PATH)
        ):
            return
        self.seen.add(target)
        self.samples[key] = self.samples.get(key, 0) + 1
        variants.add(query)
        self.queue.append(target)


HEADINGS = """() => {
  const levels = [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')]
    .map(h => [parseInt(h.tagName[1], 10), h.textContent.trim().slice(0, 40)]);
  const skips = [];
  let last = 0;
  for (const [level, text] of levels) {
    if (level > last + 1) { skips.push('h' + last + ' -> h' + level + ' "' + text + '"'); }
    last = level;
  }
  if (!levels.length || levels[0][0] !== 1) { skips.push('no h1 first'); }
  return skips;
}"""


def crawl(page: Any, server: LiveServer, role: str) -> Crawl:
    state = Crawl(server.url)
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} for {r.url}") if r.status >= 400 else None,
    )
    state.offer(server.url + "/")
    while state.queue and len(state.seen) <= MAX_PAGES:
        path = state.queue.pop(0)
        errors.clear()
        response = page.goto(path)
        page.wait_for_load_state("load")
        where = f"{role} {path}"
        if response is None or response.status >= 400:
            state.problems.append(f"{where}: status {response and response.status}")
        if overflow := sideways_overflow(page):
            state.problems.append(f"{where}: scrolls sideways at 375 px ({overflow})")
        if skips := page.evaluate(HEADINGS):
            state.problems.append(f"{where}: heading levels skip: {skips}")
        if (path_pattern := pattern(server.url + path)[0]) not in state.axe_checked:
            # axe is the slow part: once per path pattern (query variants share a layout).
            state.axe_checked.add(path_pattern)
            try:
                axe_check(page)
            except AssertionError as error:
                state.problems.append(f"{where}: {error}")
        state.problems.extend(f"{where}: {e}" for e in errors)
        for href in page.eval_on_selector_all(
            "a[href]:not([download])", "links => links.map(a => a.href.split('#')[0])"
        ):
            state.offer(href)
    return state


@pytest.mark.parametrize(
    ("role", "language"),
    [(role, "en") for role in ROLES] + [("anonymous", "ar"), ("citizen", "es")],
)
def test_every_page_fits_a_phone_and_is_clean(
    role: str,
    language: str,
    demo_server: LiveServer,
    browser: Any,
    browser_context_args: dict[str, Any],
) -> None:
    """English for every role; Arabic (right to left, longer words) and Spanish as well."""
    args = {**browser_context_args, "viewport": PHONE, "base_url": demo_server.url}
    context = browser.new_context(**args)
    page = context.new_page()
    account = ROLES[role]
    if account is not None:
        email, password, secret = account
        login(page, email, password, totp_secret=secret, live=demo_server)
    if language != "en":  # through the header's switcher (a member's choice is saved)
        page.goto("/")
        page.locator("#language-select").select_option(language)
        page.locator(".language-form button").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == language
    result = crawl(page, demo_server, role)
    context.close()
    assert len(result.seen) > 3, result.seen
    assert not result.problems, f"{len(result.problems)} problems:\n" + "\n".join(result.problems)
