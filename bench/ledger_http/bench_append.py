"""Ledger append throughput vs bare inserts on PostgreSQL, and casting through HTTP.

    CIVICFORUM_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/ledger_http/bench_append.py [--seconds 4] [--voters 600]

Creates (and drops) a scratch database `civicforum_bench_append` on that server. Prints:
  1. bare single-row committed inserts from 1 and 8 connections;
  2. from 1 and 8 concurrent writers, with the ratio to bare inserts: `append_entry` + commit
     (head lock held through each commit), and the cast path's batching sequencer
     (`submit_entries`, commit, `await_sequenced`; docs/ledger.md §2.2). Every writer (and
     every bare-insert connection) is a separate process, as gunicorn's workers are;
  3. casting ballots through HTTP: gunicorn with 2 workers, voters already logged in.
Figures are printed, not asserted: the machine is shared.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

DB = "civicforum_bench_append"


def admin_url() -> str:
    from sqlalchemy.engine import make_url

    base = (
        os.environ.get("CIVICFORUM_TEST_POSTGRES_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    return make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)


def scratch(create: bool) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    admin = admin_url()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        if create:
            conn.execute(f"CREATE DATABASE {DB}")
    return make_url(admin).set(database=DB).render_as_string(hide_password=False)


def timed(workers: int, seconds: float, setup: Callable[[], Callable[[], None]]) -> float:
    """Run `workers` separate processes (as gunicorn's workers are: no shared GIL), each
    repeating its operation for `seconds`; ops per second. Forked: `setup` runs in the child
    and must open its own connections."""
    ctx = multiprocessing.get_context("fork")
    start = ctx.Barrier(workers + 1)
    stop = ctx.Event()
    counts = ctx.Array("q", workers)

    def run(slot: int) -> None:
        op = setup()
        start.wait()
        n = 0
        while not stop.is_set():
            op()
            n += 1
        counts[slot] = n

    procs = [ctx.Process(target=run, args=(i,)) for i in range(workers)]
    for p in procs:
        p.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for p in procs:
        p.join()
        if p.exitcode:
            raise RuntimeError(f"bench writer exited with {p.exitcode}")
    return sum(counts) / (time.perf_counter() - began)


def bench_storage(url: str, seconds: float) -> None:
    import flask_migrate
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from civicforum import create_app
    from civicforum.extensions import db
    from civicforum.ledger import entry as E
    from civicforum.logstore import services

    instance = Path(tempfile.mkdtemp(prefix="bench-instance-"))
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-only-secret-0000",
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 20, "max_overflow": 0},
        }
    )
    with app.app_context():
        flask_migrate.upgrade()
        engine = db.engine
        with engine.begin() as conn:
            conn.execute(
                text("CREATE TABLE bench_rows (id bigserial PRIMARY KEY, payload bytea NOT NULL)")
            )
        leaf = E.ballot_cast(
            ballot="bench", tracker=E.new_tracker(), choice=["a"], day="2026-11-25"
        )

        def cast() -> bytes:  # a fresh tracker each time, as real casts have
            return E.ballot_cast(
                ballot="bench", tracker=E.new_tracker(), choice=["a"], day="2026-11-25"
            )

        def bare() -> Callable[[], None]:
            engine.dispose(close=False)  # forked: never reuse the parent's connections
            conn = engine.connect()
            insert = text("INSERT INTO bench_rows (payload) VALUES (:p)")

            def op() -> None:
                with conn.begin():
                    conn.execute(insert, {"p": leaf})

            return op

        def appender() -> Callable[[], None]:
            # The old contract: the head lock is held through each caller's own commit.
            engine.dispose(close=False)
            ctx = app.app_context()
            ctx.push()  # services read the signing keys from the app
            session = Session(engine)

            def op() -> None:
                services.append_entry(session, log="votes", entry=cast())
                session.commit()

            return op

        def sequencer() -> Callable[[], None]:
            # What a cast does (docs/ledger.md §2.2): submit in the vote's transaction (append
            # at once if the head is free, else commit as pending), commit, then wait until a
            # sequencer batch has it under a signed checkpoint (its receipt is ready).
            engine.dispose(close=False)
            ctx = app.app_context()
            ctx.push()
            session = Session(engine)

            def op() -> None:
                done = services.submit_entries(session, log="votes", entries=[cast()])
                session.commit()
                if done.pending_id is not None:
                    services.await_sequenced(session, log="votes", pending_id=done.pending_id)
                    session.commit()

            return op

        from civicforum.logstore.keys import current_keys

        current_keys().signer("votes")  # create the key file once, before forking
        db.session.remove()
        engine.dispose()
        rows = {}
        for workers in (1, 8):
            rows[("bare", workers)] = timed(workers, seconds, bare)
            rows[("append", workers)] = timed(workers, seconds, appender)
            rows[("seq", workers)] = timed(workers, seconds, sequencer)
        size = services.log_size(db.session, log="votes")
        checkpoints = services.checkpoint_count(db.session, log="votes")
        db.session.remove()
        print(f"PostgreSQL, committed writes per second (same run; load average {load()}):")
        for workers in (1, 8):
            b, a, q = rows[("bare", workers)], rows[("append", workers)], rows[("seq", workers)]
            print(
                f"  {workers} writer(s): bare single-row insert {b:7.0f}/s | append_entry+commit "
                f"{a:7.0f}/s ({100 * a / b:5.1f} %) | sequencer (submit, commit, await) "
                f"{q:7.0f}/s ({100 * q / b:5.1f} %)"
            )
        print(f"  (log size after the run: {size}; checkpoints signed: {checkpoints})")
        engine.dispose()


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench_http(url: str, voters: int) -> None:
    import re
    import subprocess

    import flask_migrate
    import requests

    from civicforum import create_app
    from civicforum.extensions import db

    sys.path.insert(0, str(REPO / "tests"))
    from tests.factories import make_user
    from tests.factories_ballots import make_ballot

    instance = Path(tempfile.mkdtemp(prefix="bench-http-"))
    secret = "bench-only-secret-0000"
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": secret, "INSTANCE_PATH": str(instance), "TESTING": True}
    )
    with app.app_context():
        flask_migrate.upgrade()
        users = [
            make_user(db.session, password="correct horse battery staple") for _ in range(voters)
        ]
        ballot = make_ballot(db.session)
        db.session.commit()
        emails = [u.email for u in users]
        ballot_id, key = ballot.id, ballot.options[0].key
        db.session.remove()
        db.engine.dispose()
    port = 18000 + os.getpid() % 1000
    env = {
        **os.environ,
        "CIVICFORUM_DATABASE_URL": url,
        "CIVICFORUM_INSTANCE_PATH": str(instance),
        "CIVICFORUM_SECRET_KEY": secret,
        "CIVICFORUM_SESSION_COOKIE_SECURE": "false",
        "CIVICFORUM_RATELIMIT_ENABLED": "false",
        "CIVICFORUM_ARGON2_TIME_COST": "1",
        "CIVICFORUM_ARGON2_MEMORY_COST": "1024",
        "CIVICFORUM_ARGON2_PARALLELISM": "1",
    }
    log = (instance / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "-w",
            "2",
            "--threads",
            "8",
            "-b",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    csrf = re.compile(r'name="csrf_token" value="([^"]+)"')
    try:
        for _ in range(100):
            try:
                requests.get(base + "/healthz", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.2)

        def login(email: str) -> tuple[requests.Session, str]:
            s = requests.Session()
            page = s.get(base + "/account/login", timeout=30)
            s.post(
                base + "/account/login",
                timeout=30,
                allow_redirects=False,
                data={
                    "email": email,
                    "password": "correct horse battery staple",
                    "csrf_token": csrf.search(page.text).group(1),
                },
            )  # type: ignore[union-attr]
            token = csrf.search(s.get(f"{base}/ballots/{ballot_id}", timeout=30).text).group(1)  # type: ignore[union-attr]
            return s, token

        with ThreadPoolExecutor(16) as pool:
            sessions = list(pool.map(login, emails))
        statuses: list[int] = []

        def cast(job: tuple[requests.Session, str]) -> None:
            s, token = job
            r = s.post(
                f"{base}/ballots/{ballot_id}/cast",
                timeout=60,
                allow_redirects=False,
                data={"approve": key, "csrf_token": token},
            )
            statuses.append(r.status_code)

        began = time.perf_counter()
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(cast, sessions))
        elapsed = time.perf_counter() - began
        ok = statuses.count(303)
        print(
            f"HTTP casting (gunicorn 2 workers x 8 threads, PostgreSQL, {voters} voters "
            f"logged in, 32 client threads on the same 2 cores; load average {load()}): "
            f"{ok} accepted in {elapsed:.2f} s = {ok / elapsed:.0f} ballots/s"
        )
        if ok != voters:
            print(f"  statuses: { {s: statuses.count(s) for s in set(statuses)} }")
    finally:
        os.killpg(server.pid, 9)
        server.wait()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--voters", type=int, default=600)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    url = scratch(create=True)
    try:
        bench_storage(url, args.seconds)
        if not args.skip_http:
            url = scratch(create=True)
            bench_http(url, args.voters)
    finally:
        scratch(create=False)


if __name__ == "__main__":
    main()
