"""Real processes: gunicorn (several workers) on a scratch PostgreSQL database, voters casting
through the ballots feature's HTTP endpoint concurrently, and a server killed mid-burst.

Slow and PostgreSQL-only: run with `-m slow` and CIVICFORUM_TEST_POSTGRES_URL set.
"""

from __future__ import annotations

import html
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select, text

from tests.conftest import REPO, TEST_SECRET, scratch_postgres_app

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CAST_TOKEN = re.compile(r'name="cast_token" value="([^"]+)"')
RECEIPT = re.compile(r'data-testid="receipt-text">(.*?)</pre>', re.S)
TIMEOUT = 20


# --------------------------------------------------------------------------- scratch database


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proc-instance")


@pytest.fixture(scope="module")
def local_app(instance: Path) -> Iterator[Flask]:
    """The test's own app on a scratch database (same instance folder as the servers: same keys)."""
    with scratch_postgres_app(instance) as app:
        yield app


@pytest.fixture(scope="module")
def scratch_url(local_app: Flask) -> str:
    from civicforum.extensions import db

    with local_app.app_context():
        return db.engine.url.render_as_string(hide_password=False)


@dataclass
class Setup:
    ballot_id: int
    option_key: str
    emails: list[str]


def make_ballot_and_voters(app: Flask, voters: int, **ballot: Any) -> Setup:
    from civicforum.extensions import db
    from tests.factories import make_user
    from tests.factories_ballots import make_ballot

    with app.app_context():
        users = [make_user(db.session, password=PASSWORD) for _ in range(voters)]
        made = make_ballot(db.session, **ballot)
        db.session.commit()
        setup = Setup(made.id, made.options[0].key, [u.email for u in users])
        db.session.remove()
    return setup


# --------------------------------------------------------------------------- gunicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening_sockets(port: int) -> int:
    """How many sockets listen on 127.0.0.1:``port`` (Linux /proc/net/tcp; state 0A)."""
    local = f"0100007F:{port:04X}"
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for line in lines if line.split()[1] == local and line.split()[3] == "0A")


class Server:
    def __init__(self, scratch_url: str, instance: Path, workers: int = 4) -> None:
        self.workers = workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "CIVICFORUM_DATABASE_URL": scratch_url,
            "CIVICFORUM_INSTANCE_PATH": str(instance),
            "CIVICFORUM_SECRET_KEY": TEST_SECRET,
            "CIVICFORUM_SESSION_COOKIE_SECURE": "false",
            "CIVICFORUM_RATELIMIT_ENABLED": "false",
            # The accounts were hashed with the test app's cheap parameters: keep them, or
            # every login would rehash at full cost.
            "CIVICFORUM_ARGON2_TIME_COST": "1",
            "CIVICFORUM_ARGON2_MEMORY_COST": "1024",
            "CIVICFORUM_ARGON2_PARALLELISM": "1",
        }
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.log = (instance / f"gunicorn-{self.port}.log").open("wb")  # never a full pipe
        self.process = subprocess.Popen(
            [
                str(gunicorn),
                "-w",
                str(workers),
                "--threads",
                "4",
                "-b",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                "2",
                "wsgi:app",
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            start_new_session=True,  # one process group: the kill reaches every worker
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if requests.get(self.base + "/healthz", timeout=5).status_code == 200:
                        return
                except requests.RequestException:
                    time.sleep(0.2)
        except BaseException:
            self.kill()  # never leave an orphaned server behind
            raise
        self.kill()
        log = Path(self.log.name).read_text(errors="replace")[-2000:]
        raise RuntimeError(f"gunicorn did not start: {log}")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def server_factory(scratch_url: str, instance: Path) -> Iterator[Callable[[], Server]]:
    started: list[Server] = []

    def start() -> Server:
        server = Server(scratch_url, instance)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


# --------------------------------------------------------------------------- a voter over HTTP


def csrf_of(page: requests.Response) -> str:
    match = CSRF.search(page.text)
    assert match, page.text[:500]
    return match.group(1)


def logged_in(base: str, email: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(base + "/account/login", timeout=TIMEOUT)
    done = browser.post(
        base + "/account/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(page)},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert done.status_code == 303, done.text[:500]
    return browser


def review(base: str, browser: requests.Session, setup: Setup) -> dict[str, str]:
    """Review a ballot approving the setup's option: the confirmation form's fields (its
    CSRF token and one-time cast token), ready to cast."""
    page = browser.get(f"{base}/ballots/{setup.ballot_id}", timeout=TIMEOUT)
    confirm = browser.post(
        f"{base}/ballots/{setup.ballot_id}/review",
        data={"approve": setup.option_key, "csrf_token": csrf_of(page)},
        timeout=TIMEOUT,
    )
    assert confirm.status_code == 200, confirm.text[:500]
    token = CAST_TOKEN.search(confirm.text)
    assert token, confirm.text[:500]
    return {
        "approve": setup.option_key,
        "action": "cast",
        "csrf_token": csrf_of(confirm),
        "cast_token": token.group(1),
    }


def cast(base: str, browser: requests.Session, setup: Setup, form: dict[str, str]) -> Any:
    return browser.post(
        f"{base}/ballots/{setup.ballot_id}/cast", data=form, allow_redirects=False, timeout=TIMEOUT
    )


def receipt_in(response: Any) -> str | None:
    """The receipt (signed promise) the cast's own response carries."""
    match = RECEIPT.search(response.text) if response.status_code == 200 else None
    return html.unescape(match.group(1)) if match else None


# --------------------------------------------------------------------------- checks


def cast_entries(app: Flask, setup: Setup) -> list[dict[str, Any]]:
    from civicforum.ballots.models import Ballot
    from civicforum.extensions import db
    from civicforum.ledger.entry import decode_entry
    from civicforum.logstore import proofs, storage

    with app.app_context():
        ledger_id = db.session.get(Ballot, setup.ballot_id).ledger_id  # type: ignore[union-attr]
        size = storage.log_size(db.session, log="votes")
        entries = [
            decode_entry(data, "votes")
            for _, data, _ in proofs.iter_entries(db.session, log="votes", upto=size)
        ]
        db.session.remove()
    return [e for e in entries if e["type"] == "ballot.cast" and e["ballot"] == ledger_id]


def assert_log_sound(app: Flask) -> None:
    from civicforum.extensions import db
    from civicforum.logstore import checkpoints, integrity, storage
    from civicforum.logstore.models import LedgerEntry

    with app.app_context():
        count, top = db.session.execute(
            select(func.count(), func.max(LedgerEntry.idx)).where(LedgerEntry.log == "votes")
        ).one()
        assert count == top + 1 == storage.log_size(db.session, log="votes")  # dense
        checkpoints.sign_checkpoint(db.session, log="votes")
        db.session.commit()
        result = integrity.verify_database(db.session, recount=False)
        assert result.ok, result.format()
        db.session.remove()


# --------------------------------------------------------------------------- the tests


def test_fifty_concurrent_voters_and_a_double_submission(
    local_app: Flask, server_factory: Callable[[], Server]
) -> None:
    setup = make_ballot_and_voters(local_app, 51, secret=False, vote_changes=False)
    server = server_factory()
    # gunicorn.conf.py: each threaded worker listens on its own socket, so the kernel spreads
    # the voters' keep-alive connections over the workers instead of the first to wake.
    deadline = time.monotonic() + TIMEOUT
    while listening_sockets(server.port) < server.workers and time.monotonic() < deadline:
        time.sleep(0.2)
    assert listening_sockets(server.port) == server.workers
    browsers = [logged_in(server.base, email) for email in setup.emails]
    forms = [review(server.base, b, setup) for b in browsers]
    # Voter 50 submits twice at the same moment, from two connections sharing its session
    # and the same confirmation form (a double click).
    twin = requests.Session()
    twin.cookies.update(browsers[50].cookies)
    for browser in browsers:
        # Fresh connections for the burst: a keep-alive connection idle past gunicorn's
        # keep-alive timeout may be closed by the server just as a POST is sent on it.
        browser.close()
    jobs = [(b, f) for b, f in zip(browsers, forms, strict=True)] + [(twin, forms[50])]
    start = threading.Barrier(len(jobs))

    def vote(job: tuple[requests.Session, dict[str, str]]) -> Any:
        start.wait(timeout=TIMEOUT)
        return cast(server.base, job[0], setup, job[1])

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        responses = list(pool.map(vote, jobs))
    assert [r.status_code for r in responses] == [200] * 52
    # The twin got the same receipt: its form's cast token had already cast.
    assert receipt_in(responses[50]) == receipt_in(responses[51]) is not None
    flush_pool(local_app)
    entries = cast_entries(local_app, setup)
    assert len(entries) == 51  # every accepted ballot exactly once
    with local_app.app_context():
        from civicforum.accounts.models import User
        from civicforum.extensions import db

        handles = {
            u.handle for u in db.session.scalars(select(User).where(User.email.in_(setup.emails)))
        }
        db.session.remove()
    assert sorted(e["voter"] for e in entries) == sorted(handles)
    assert_log_sound(local_app)


def flush_pool(app: Flask) -> None:
    """Append whatever casts still wait in the pool (as closing would)."""
    from civicforum.extensions import db
    from civicforum.logstore import sequencer

    with app.app_context():
        sequencer.sequence_due(db.session, log="votes", everything=True)
        db.session.commit()
        db.session.remove()


def test_killed_server_loses_no_receipt(
    local_app: Flask, server_factory: Callable[[], Server]
) -> None:
    from civicforum.extensions import db
    from civicforum.logstore import receipts as logstore_receipts

    voters = 40
    setup = make_ballot_and_voters(local_app, voters)
    server = server_factory()
    browsers = [logged_in(server.base, email) for email in setup.emails]
    forms = [review(server.base, b, setup) for b in browsers]
    for browser in browsers:
        browser.close()  # fresh connections for the burst (see the test above)
    receipts: dict[int, str] = {}
    accepted = threading.Event()
    done = 0
    lock = threading.Lock()

    def burst(i: int) -> None:
        nonlocal done
        try:
            text_ = receipt_in(cast(server.base, browsers[i], setup, forms[i]))
            if text_ is None:
                return
            receipts[i] = text_
            with lock:
                done += 1
                if done >= voters // 3:
                    accepted.set()
        except requests.RequestException:
            return  # the server died under this request

    with ThreadPoolExecutor(max_workers=12) as pool:
        for i in range(voters):
            pool.submit(burst, i)
        assert accepted.wait(timeout=60)
        server.kill()  # SIGKILL to every worker in the middle of the burst
    before = len(receipts)
    assert 0 < before < voters
    restarted = server_factory()
    for i in range(voters):
        if i in receipts:
            continue
        # The client never heard back: it retries the very same request. A vote recorded
        # before the kill answers with its receipt; one that was not is cast now. Either way
        # exactly one ballot per voter (the cast token), and the voter gets its receipt.
        response = cast(restarted.base, browsers[i], setup, forms[i])
        assert response.status_code == 200, response.text[:500]
        receipts[i] = receipt_in(response) or ""
    assert all(receipts.values())
    flush_pool(local_app)
    assert_log_sound(local_app)
    assert len(cast_entries(local_app, setup)) == voters  # no retry became a vote change
    with local_app.app_context():
        for text_ in receipts.values():
            check = logstore_receipts.verify_receipt(db.session, text=text_)
            assert isinstance(check, logstore_receipts.ReceiptCheck), check
            assert check.recorded_matches
        live = db.session.execute(
            text("SELECT count(*) FROM ballot_participations WHERE ballot_id = :b"),
            {"b": setup.ballot_id},
        ).scalar()
        db.session.remove()
    assert live == voters
