"""The embedded default, served as `bash .ci/start` serves it (`.ci/serve`: gunicorn with
bounded threads, SQLite): 50 members log in, browse and vote at once without an error; and a
second server never silently shares a port the first one serves.

Real processes on a scratch SQLite database; slow (about half a minute).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.conftest import REPO, TEST_SECRET

pytestmark = pytest.mark.slow

USERS = 50
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CAST_TOKEN = re.compile(r'name="cast_token" value="([^"]+)"')
TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(instance: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "CIVICFORUM_DATABASE_URL": f"sqlite:///{instance / 'civicforum.sqlite'}",
        "CIVICFORUM_INSTANCE_PATH": str(instance),
        "CIVICFORUM_SECRET_KEY": TEST_SECRET,
        # The accounts were hashed with the test app's cheap parameters: keep them.
        "CIVICFORUM_ARGON2_TIME_COST": "1",
        "CIVICFORUM_ARGON2_MEMORY_COST": "1024",
        "CIVICFORUM_ARGON2_PARALLELISM": "1",
        # Fifty members behind one address (this test): the per-address login cap would
        # rightly refuse the burst.
        "CIVICFORUM_LOGIN_LIMIT_PER_ADDRESS": "1000 per minute",
        **extra,
    }


class Served:
    """`.ci/serve` running in its own process group (gunicorn and the jobs loop)."""

    def __init__(self, instance: Path, port: int, **extra: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.log = (instance / f"serve-{port}.log").open("wb")
        self.process = subprocess.Popen(
            ["bash", str(REPO / ".ci" / "serve")],
            cwd=REPO,
            env=environment(instance, PORT=str(port), **extra),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f".ci/serve exited: {self.output()[-2000:]}")
            try:
                if requests.get(self.base + "/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f".ci/serve did not start: {self.output()[-2000:]}")

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Path]:
    """A migrated SQLite instance with 50 members and an open ballot they may all vote in."""
    import flask_migrate

    from civicforum.extensions import db
    from tests.conftest import make_test_app
    from tests.factories import make_user
    from tests.factories_ballots import make_ballot

    app = make_test_app(f"sqlite:///{tmp_path / 'civicforum.sqlite'}", tmp_path)
    with app.app_context(), app.test_request_context():
        flask_migrate.upgrade()
        for n in range(USERS):
            make_user(db.session, email=f"member{n}@example.test", password=PASSWORD)
        make_ballot(db.session, title="Embedded default ballot")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    yield tmp_path


def member(base: str, n: int, ballot_id: int) -> list[int]:
    """One member's visit: log in, browse, open the ballot, review and cast. The statuses."""
    browser = requests.Session()
    statuses = []

    def get(path: str) -> requests.Response:
        response = browser.get(base + path, timeout=TIMEOUT)
        statuses.append(response.status_code)
        return response

    def post(path: str, data: dict[str, str]) -> requests.Response:
        response = browser.post(base + path, data=data, timeout=TIMEOUT, allow_redirects=False)
        statuses.append(response.status_code)
        return response

    page = get("/account/login")
    tokens = CSRF.findall(page.text)
    assert tokens, f"login page {page.status_code}: {page.text[:300]}"
    login = {"email": f"member{n}@example.test", "password": PASSWORD}
    post("/account/login", {**login, "csrf_token": tokens[0]})
    get("/proposals/")
    ballot = get(f"/ballots/{ballot_id}")
    review = post(
        f"/ballots/{ballot_id}/review",
        {"approve": "o1", "csrf_token": CSRF.findall(ballot.text)[-1]},
    )
    token = CAST_TOKEN.search(review.text)
    assert token, review.text[:500]
    post(
        f"/ballots/{ballot_id}/cast",
        {
            "approve": "o1",
            "action": "cast",
            "cast_token": token.group(1),
            "csrf_token": CSRF.findall(review.text)[-1],
        },
    )
    return statuses


def test_fifty_members_at_once_on_the_embedded_default(instance: Path) -> None:
    served = Served(instance, free_port())
    try:
        served.wait_ready()
        with ThreadPoolExecutor(max_workers=USERS) as pool:
            visits = list(pool.map(lambda n: member(served.base, n, 1), range(USERS)))
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- server log ---\n{served.output()[-4000:]}") from exc
    finally:
        served.stop()
    statuses = [s for visit in visits for s in visit]
    assert len(statuses) == USERS * 6
    assert all(s < 500 for s in statuses), sorted(set(statuses))
    assert all(visit[1] == 303 and visit[-1] == 200 for visit in visits)  # logged in, cast
    log = served.output()
    assert "QueuePool limit" not in log and "Traceback" not in log, log[-3000:]


def test_a_second_server_refuses_a_port_already_served(instance: Path) -> None:
    port = free_port()
    first = Served(instance, port)
    try:
        first.wait_ready()
        second = Served(instance, port)
        try:
            second.process.wait(timeout=30)
            assert second.process.returncode != 0
            assert "refusing to share the port" in second.output()
        finally:
            second.stop()
        # Asked for, it may share the port (a rolling restart by hand).
        shared = Served(instance, port, CIVICFORUM_ALLOW_SHARED_PORT="true")
        try:
            time.sleep(3)
            assert shared.process.poll() is None, shared.output()[-2000:]
        finally:
            shared.stop()
    finally:
        first.stop()
