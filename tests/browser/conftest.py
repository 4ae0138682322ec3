"""Browser-test infrastructure: a live civicforum server driven by headless Chromium.

Write `tests/browser/test_<feature>.py` files with `pytestmark = pytest.mark.browser` and use:

Fixtures
- `live_server` (session): a `LiveServer` with `.url` ("http://127.0.0.1:<port>"), `.app` (its own
  Flask app on its own migrated SQLite file, not the rolled-back test transaction — data
  persists for the whole session, so create fresh users per test) and `.mailbox` (a real
  local SMTP server receiving everything the app sends; see `Mailbox` in tests/conftest.py:
  `mailbox.wait_for(to=email)`, `mailbox.link(message, "/account/verify/")`).
  `live_server.session()` is a context manager giving a SQLAlchemy session on the live
  database that commits on exit, for setting up data directly:
      with live_server.session() as s:
          proposal = make_proposal(s, author=...)
- `live_user(**kwargs)`: create a user in the live database with `tests.factories.make_user`
  (same keyword arguments: roles=("citizen", "moderator"), totp=..., verified=...). Privileged
  roles get TEST_TOTP_SECRET automatically. Password: `tests.factories.TEST_PASSWORD`.
- `page`, `context`, `new_context` (pytest-playwright): `base_url` is the live server, so
  `page.goto("/account/login")` works. Contexts are opened with `bypass_csp=True` only for
  axe injection convenience; the app's CSP still applies to everything else we test
  (axe is served from the app's own origin, so it would work under the CSP too).
- `nojs_page`: a page in a context with JavaScript disabled (progressive enhancement).

Helpers (import from `tests.browser.conftest`)
- `axe_check(page, *, ignore=())`: inject axe-core (static/vendor/axe.min.js) and assert no
  serious or critical violation; returns the full violation list for extra asserts.
- `login(page, email, password=TEST_PASSWORD, *, totp_secret=None, live=None)`: log in
  through the UI, answering the TOTP challenge when it appears. Pass `live=live_server`
  with a TOTP secret so the helper can clear the account's last-used step first (a code is
  accepted once, and two logins within 30 s would otherwise reuse it).
- `logout(page)`: press the "Log out" button in the header.

Browser tests are skipped (with the reason) only when /usr/bin/chromium is missing;
`bash .ci/setup --browser` installs it. Never run `playwright install`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from tests.conftest import Mailbox, make_test_app
from tests.factories import TEST_PASSWORD, TEST_TOTP_SECRET, make_user, totp_now

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "static" / "vendor" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: run `bash .ci/setup --browser`")
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@dataclass
class LiveServer:
    url: str
    app: Flask
    mailbox: Mailbox

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the live database; commits on success (tests own this commit)."""
        from civicforum.extensions import db

        with self.app.app_context():
            try:
                yield db.session
                db.session.commit()
            finally:
                db.session.remove()


@contextmanager
def serve(app: Flask, mailbox: Mailbox) -> Iterator[LiveServer]:
    """Migrate `app`'s database and serve it on a free port until the block ends."""
    import flask_migrate
    from werkzeug.serving import make_server

    from civicforum.extensions import db

    with app.app_context():
        flask_migrate.upgrade()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = url  # the mailed links: known once the port is
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url, app, mailbox)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def live_app(tmp: Path, smtp: tuple[str, int, Mailbox], **extra: Any) -> Flask:
    """A test app on its own SQLite file, mailing to the local SMTP server."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `bash .ci/setup` (copies axe-core from npm)")
    host, port, _mailbox = smtp
    return make_test_app(
        f"sqlite:///{tmp / 'live.sqlite'}",
        tmp,
        MAIL_SERVER=host,
        MAIL_PORT=port,
        MAIL_SEND_IN_PROCESS=True,  # as deployed: a thread sends after the request
        # Many browser tests log in from 127.0.0.1; the throttles have their own tests.
        LOGIN_LIMIT_PER_ADDRESS="1000 per minute",
        LOGIN_LIMIT_PER_ACCOUNT="1000 per minute",
        LOGIN_LIMIT_PER_ACCOUNT_ADDRESS="1000 per minute",
        REGISTER_LIMIT_PER_ADDRESS="1000 per minute",
        RESET_LIMIT_PER_ADDRESS="1000 per minute",
        **extra,
    )


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, smtp_server: tuple[str, int, Mailbox]
) -> Iterator[LiveServer]:
    app = live_app(tmp_path_factory.mktemp("live"), smtp_server)
    with serve(app, smtp_server[2]) as server:
        yield server


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    return live_server.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "bypass_csp": True, "locale": "en-GB"}


@pytest.fixture
def nojs_page(new_context: Callable[..., Any]) -> Any:
    """A page whose context has JavaScript disabled: every flow must work without it."""
    return new_context(java_script_enabled=False).new_page()


@pytest.fixture
def live_user(live_server: LiveServer) -> Callable[..., Any]:
    """Create a user (committed) in the live server's database; returns a detached User."""

    def create(**kwargs: Any) -> Any:
        with live_server.session() as s:
            user = make_user(s, **kwargs)
            s.commit()
            s.refresh(user)
            _ = user.roles  # load before detaching
            s.expunge(user)
        return user

    return create


def axe_check(page: Any, *, ignore: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Run axe-core on the current page; fail on serious or critical violations."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url="/static/vendor/axe.min.js")
        page.wait_for_function("() => typeof window.axe !== 'undefined'")
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    bad = [v for v in result if v["impact"] in ("serious", "critical") and v["id"] not in ignore]
    assert not bad, f"axe found on {page.url}:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:5])
        for v in bad
    )
    return list(result)


PHONE = {"width": 375, "height": 740}
_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) { return null; }
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 1 && box.width > 0 && getComputedStyle(el).position !== 'absolute') {
      wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '') +
        ' ' + Math.round(box.right) + 'px');
    }
  }
  return document.documentElement.scrollWidth + 'px wide: ' + wide.slice(0, 6).join(', ');
}"""


def sideways_overflow(page: Any) -> str | None:
    """None when the page fits its viewport's width; else how wide it is and what sticks out
    (the 375 px check of issue 15: a page must never scroll sideways on a phone)."""
    found = page.evaluate(_OVERFLOW)
    return str(found) if found else None


def login(
    page: Any,
    email: str,
    password: str = TEST_PASSWORD,
    *,
    totp_secret: str | None = None,
    live: LiveServer | None = None,
    next: str | None = None,
) -> None:
    """Log in through the login form (and the TOTP challenge when the account has 2FA)."""
    if totp_secret and live is not None:
        _forget_totp_step(live, email)
    page.goto("/account/login" + (f"?next={next}" if next else ""))
    form = page.locator("#login-form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    if "/account/totp/challenge" in page.url:
        assert totp_secret, f"{email} has two-factor authentication: pass totp_secret"
        challenge = page.locator("#challenge-form")
        challenge.get_by_label("Authentication code").fill(totp_now(totp_secret))
        challenge.get_by_role("button", name="Continue").click()
        page.wait_for_load_state()
    assert "/account/login" not in page.url, f"login failed for {email}: {page.url}"


def logout(page: Any) -> None:
    page.locator("header").get_by_role("button", name="Log out").click()
    page.wait_for_load_state()


def _forget_totp_step(live: LiveServer, email: str) -> None:
    # Test-only: lets one account log in twice within the same 30-second TOTP step.
    from sqlalchemy import update

    from civicforum.accounts.models import User

    with live.session() as s:
        s.execute(update(User).where(User.email == email.lower()).values(totp_last_step=None))


__all__ = [
    "PHONE",
    "LiveServer",
    "TEST_PASSWORD",
    "TEST_TOTP_SECRET",
    "axe_check",
    "login",
    "logout",
    "sideways_overflow",
]
