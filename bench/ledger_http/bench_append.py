"""Ledger append throughput vs bare inserts on PostgreSQL, and casting through HTTP.

    CIVICFORUM_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/ledger_http/bench_append.py [--seconds 4] [--voters 3000]
        [--http-seconds 6] [--skip-storage] [--skip-http] [--pinned]

Creates (and drops) a scratch database `civicforum_bench_append` on that server. Prints:
  1. bare single-row committed inserts from 1 and 8 connections;
  2. from 1 and 8 concurrent writers, with the ratio to bare inserts: `append_entry` + commit
     (head lock held through each commit: what a cast cost before casts were pooled) and a
     cast's side of the log now, `submit_entries` to the pool + commit (docs/ledger.md §2.2);
     then the time to sequence a pooled batch of 1,000 (twice) and 10,000 casts. Every writer
     (and every bare-insert connection) is a separate process with its own connection, as
     gunicorn's workers are;
  3. casting ballots through HTTP: gunicorn with 2 workers (BENCH_GUNICORN_THREADS threads,
     default 8), voters already logged in, load from wrk (Debian package; BENCH_WRK_CONNECTIONS
     concurrent voters, default 32) with cast.lua, measured after a 2 s warm-up cast by other
     voters (sustained casting, not a cold start); CPU per ballot by program and per worker.
     gunicorn reads the checkout's gunicorn.conf.py (each worker on its own SO_REUSEPORT
     socket); BENCH_GUNICORN_ARGS adds options (e.g. "-c /dev/null" for gunicorn's defaults).
     BENCH_PYSPY=PREFIX also records where each worker spends its GIL time (py-spy, raw);
  4. with --pinned (root: it moves PostgreSQL's processes, and puts them back), the same with
     one worker alone on CPU 0 and PostgreSQL, wrk and the script on the other CPUs: what a
     worker casts with a core of its own, where the run above shares 2 cores among 2 workers,
     PostgreSQL and wrk.
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

DB = "civicforum_bench_append"
MIX_MIN = int(os.environ.get("CIVICFORUM_LEDGER_MIX_MIN", 16))  # the server's batch size


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
    from sqlalchemy import insert, text
    from sqlalchemy.orm import Session

    from civicforum import create_app
    from civicforum.extensions import db
    from civicforum.ledger import entry as E
    from civicforum.ledger.tiles import entry_bundle
    from civicforum.logstore import checkpoints, sequencer, storage
    from civicforum.logstore.storage import PENDING

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
            # Appending one entry per transaction, the head lock held through each commit:
            # what every cast cost before casts were pooled.
            engine.dispose(close=False)
            ctx = app.app_context()
            ctx.push()  # services read the signing keys from the app
            session = Session(engine.connect())  # one connection, as the bare inserts

            def op() -> None:
                sequencer.append_entry(session, log="votes", entry=cast())
                session.commit()

            return op

        def pooler() -> Callable[[], None]:
            # A cast's side of the log now (docs/ledger.md §2.2): queue the entry in the pool
            # in the vote's transaction and commit; never waits for the head. The batch
            # threshold is set out of reach here, so no writer sequences during the run.
            engine.dispose(close=False)
            ctx = app.app_context()
            ctx.push()
            session = Session(engine.connect())

            def op() -> None:
                sequencer.submit_entries(session, log="votes", entries=[cast()], group="bench")
                session.commit()

            return op

        def batch(n: int) -> tuple[float, float]:
            """(wall, CPU) seconds to sequence a pooled batch of n casts: take them under the
            head lock, shuffle, append, sign one checkpoint, commit."""
            with Session(engine) as session:
                for _ in range(n // 500):
                    rows = [
                        {"log": "votes", "grp": "batch", "data": entry_bundle([cast()])}
                        for _ in range(500)
                    ]
                    session.execute(insert(PENDING), rows)
                session.commit()
                cpu = time.process_time()
                began = time.perf_counter()
                appended = sequencer.sequence_due(session, log="votes", sweep=["batch"])
                session.commit()
                wall = time.perf_counter() - began
                assert appended == n, appended
                return wall, time.process_time() - cpu

        from civicforum.logstore.keys import current_keys

        app.config["LEDGER_MIX_MIN"] = 10**9  # no writer sequences during the timed runs
        current_keys().signer("votes")  # create the key file once, before forking
        db.session.remove()
        engine.dispose()
        rows = {}
        for workers in (1, 8):
            rows[("bare", workers)] = timed(workers, seconds, bare)
            rows[("append", workers)] = timed(workers, seconds, appender)
            rows[("pool", workers)] = timed(workers, seconds, pooler)
        with Session(engine) as session:  # empty the pool the writers filled
            sequencer.sequence_due(session, log="votes", everything=True)
            session.commit()
        batches = {n: batch(n) for n in (1000, 1000, 10000)}
        size = storage.log_size(db.session, log="votes")
        signed = checkpoints.checkpoint_count(db.session, log="votes")
        db.session.remove()
        print(f"PostgreSQL, committed writes per second (same run; load average {load()}):")
        for workers in (1, 8):
            b = rows[("bare", workers)]
            print(f"  {workers} writer(s): bare single-row committed insert {b:7.0f}/s")
            for key, label in (
                ("append", "append_entry + commit (a cast before pooling)"),
                ("pool", "submit to the pool + commit (a cast now)"),
            ):
                rate = rows[(key, workers)]
                print(f"    {label:60s} {rate:7.0f}/s ({100 * rate / b:5.1f} % of bare)")
        for n, (wall, cpu) in batches.items():
            print(
                f"  sequencing a pooled batch of {n:5d} casts (one shuffled batch, one "
                f"checkpoint): {wall * 1000:7.1f} ms wall, {cpu * 1000:7.1f} ms CPU in Python"
            )
        print(f"  (log size after the run: {size}; checkpoints signed: {signed})")
        engine.dispose()


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def login_voters(app, emails: list[str], ballot_id: int, out: Path) -> None:  # type: ignore[no-untyped-def]
    """Log every voter in (in-process test clients: sessions are server-side rows in the
    shared database, so gunicorn accepts their cookies) and write "cookie<TAB>csrf token"
    lines for cast.lua. Two forked processes, one per core."""
    from civicforum.extensions import db

    with app.app_context():
        db.engine.dispose()
    ctx = multiprocessing.get_context("fork")
    parts = [out.with_suffix(f".{i}") for i in range(2)]
    procs = [
        ctx.Process(target=_login_part, args=(app, emails[i::2], ballot_id, part))
        for i, part in enumerate(parts)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0, "a login process failed"
    out.write_text("".join(part.read_text() for part in parts))


def logged_in_client(app, email: str, ballot_id: int):  # type: ignore[no-untyped-def]
    """A test client logged in as `email` (password PASSWORD), and the CSRF token of the
    ballot's page. Flask-Login's "strong" protection binds the session to address and user
    agent, so whoever reuses its cookie (wrk) must send USER_AGENT too."""
    c = app.test_client()
    c.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    page = c.get("/account/login")
    c.post(
        "/account/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(page.text)},
    )
    return c, csrf_token(c.get(f"/ballots/{ballot_id}").text)


def csrf_token(html: str) -> str:
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


def _login_part(app, emails: list[str], ballot_id: int, out: Path) -> None:  # type: ignore[no-untyped-def]
    from civicforum.accounts.models import User
    from civicforum.ballots import cast_tokens
    from civicforum.extensions import db

    cookie_name = app.config["SESSION_COOKIE_NAME"]
    with out.open("w") as f:
        for email in emails:
            c, token = logged_in_client(app, email, ballot_id)
            cookie = c.get_cookie(cookie_name)
            assert cookie is not None, f"{email} was not logged in"
            with app.app_context():  # the one-time cast token a review step would issue
                voter_id = db.session.query(User.id).filter_by(email=email).scalar()
                cast = cast_tokens.issue(ballot_id=ballot_id, voter_id=voter_id)
                db.session.remove()
            f.write(f"{cookie_name}={cookie.value}\t{token}\t{cast}\n")


def cpu_of(pid: str) -> float:
    """CPU seconds (user + system) used so far by one process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_program() -> dict[str, float]:
    """CPU seconds (user + system) used so far by every process, summed by program name
    (Linux /proc; children already reaped are not counted, so sample around one run)."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        name = "postgres" if name.startswith("postgres") else name
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return out


def wrk(base: str, path: str, seconds: float, *extra: str) -> dict[str, float]:
    """Run wrk (2 threads, 32 connections) and parse requests/s, non-3xx count and latency."""
    import re
    import subprocess

    script = list(extra[: extra.index("--")] if "--" in extra else extra)
    args = list(extra[extra.index("--") :] if "--" in extra else [])
    cmd = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{round(seconds)}s", "--latency", *script]
    cmd += [base + path, *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    fields = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "requests": float(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "elapsed": float(re.search(r"requests in ([\d.]+)s", out).group(1)),  # type: ignore[union-attr]
        "bad": float(m.group(1))
        if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out))
        else 0.0,
        "spare": float(m.group(1)) if (m := re.search(r"ran out: (\d+)", out)) else 0.0,
    }
    for pct in ("50", "99"):
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        if m:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
            fields[f"p{pct}"] = float(m.group(1)) * scale
    return fields


PASSWORD = "correct horse battery staple"
USER_AGENT = "civicforum-bench"
THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS", "8"))
CONNECTIONS = int(os.environ.get("BENCH_WRK_CONNECTIONS", "32"))  # concurrent voters
WARMUP_SECONDS, WARMUP_VOTERS = 2, 600


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process (Linux /proc)."""
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                pids.append(int(comm.parent.name))
        except OSError:
            continue
    return pids


def set_affinity(pids: list[int], cpus: set[int]) -> None:
    for pid in pids:
        try:
            os.sched_setaffinity(pid, cpus)
        except OSError:  # gone meanwhile
            continue


def bench_http_pinned(url: str, voters: int, seconds: float) -> None:
    """One worker with a core of its own: gunicorn on CPU 0; PostgreSQL (every process, put
    back afterwards), wrk and this script on the other CPUs. What one worker casts when
    nothing else competes for its core: two workers with a core each cast about twice that."""
    cpus = os.sched_getaffinity(0)
    if 0 not in cpus or len(cpus) < 2:
        print("HTTP casting, one worker on its own core: skipped (needs CPU 0 and another)")
        return
    others = cpus - {0}
    postmaster = min(postgres_pids(), default=None)
    saved = os.sched_getaffinity(postmaster) if postmaster else cpus
    try:
        set_affinity(postgres_pids(), others)  # backends forked later inherit the postmaster's
        os.sched_setaffinity(0, others)  # this script, the login processes and wrk
        bench_http(url, voters, seconds, n_workers=1, gunicorn_cpus={0})
    except PermissionError:
        print("HTTP casting, one worker on its own core: skipped (may not move PostgreSQL)")
    finally:
        os.sched_setaffinity(0, cpus)
        set_affinity(postgres_pids(), saved)


def bench_http(
    url: str,
    voters: int,
    seconds: float,
    *,
    n_workers: int = 2,
    gunicorn_cpus: set[int] | None = None,
) -> None:
    import shutil
    import subprocess

    import flask_migrate
    import requests
    from sqlalchemy import func, select

    from civicforum import create_app
    from civicforum.ballots.models import BallotReceipt
    from civicforum.extensions import db
    from civicforum.logstore import checkpoints, sequencer, storage

    if shutil.which("wrk") is None:
        print("HTTP casting: skipped, wrk is not installed (Debian package wrk)")
        return
    sys.path.insert(0, str(REPO / "tests"))
    from tests.factories import make_user
    from tests.factories_ballots import make_ballot

    instance = Path(tempfile.mkdtemp(prefix="bench-http-"))
    secret = "bench-only-secret-0000"
    cheap_argon2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, "ARGON2_PARALLELISM": 1}
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": secret,
            "INSTANCE_PATH": str(instance),
            "SESSION_COOKIE_SECURE": False,
            "RATELIMIT_ENABLED": False,
            "TESTING": True,  # the test client speaks plain HTTP
            **cheap_argon2,
        }
    )
    voters_file = instance / "voters.tsv"
    began = time.perf_counter()
    with app.app_context():
        flask_migrate.upgrade()
        users = [make_user(db.session, password=PASSWORD) for _ in range(voters)]
        ballot = make_ballot(db.session)
        db.session.commit()
        emails = [u.email for u in users]
        ballot_id, key = ballot.id, ballot.options[0].key
        db.session.remove()
    # Outside the app context: each test request must get its own (and its own `g`).
    login_voters(app, emails, ballot_id, voters_file)
    with app.app_context():
        db.engine.dispose()
    print(f"  ({voters} voters logged in in {time.perf_counter() - began:.0f} s)")
    port = 18000 + os.getpid() % 1000
    env = {
        **os.environ,
        "CIVICFORUM_DATABASE_URL": url,
        "CIVICFORUM_INSTANCE_PATH": str(instance),
        "CIVICFORUM_SECRET_KEY": secret,
        "CIVICFORUM_SESSION_COOKIE_SECURE": "false",
        "CIVICFORUM_RATELIMIT_ENABLED": "false",
    }
    log = (instance / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "-w",
            str(n_workers),
            "--threads",
            str(THREADS),
            "-b",
            f"127.0.0.1:{port}",
            *os.environ.get("BENCH_GUNICORN_ARGS", "").split(),
            "wsgi:app",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
        # The master and every worker it forks on these CPUs only.
        preexec_fn=(lambda: os.sched_setaffinity(0, gunicorn_cpus)) if gunicorn_cpus else None,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(base + "/healthz", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.2)
        floor = wrk(base, "/healthz", 3)
        cast_path = f"/ballots/{ballot_id}/cast"
        # One cast by hand first: a run of redirects to the login page would look like success.
        lines = voters_file.read_text().splitlines()
        voters_file.write_text("\n".join(lines[1:]) + "\n")
        cookie, token, cast_token = lines[0].split("\t")
        check = requests.post(
            base + cast_path,
            data={"approve": key, "action": "cast", "csrf_token": token, "cast_token": cast_token},
            headers={"Cookie": cookie, "User-Agent": USER_AGENT},
            allow_redirects=False,
            timeout=30,
        )
        assert check.status_code == 200 and "tlog-promise" in check.text, (
            check.status_code,
            check.text[:500],
        )
        lua = str(Path(__file__).with_name("cast.lua"))
        # Warm-up, as a server that has been up a while: every worker compiles and prepares
        # its statements and opens its pool's connections on its first casts. A quarter of
        # the voters (at most WARMUP_VOTERS) cast for WARMUP_SECONDS before the clock starts.
        lines = voters_file.read_text().splitlines()
        warm = min(len(lines) // 4, WARMUP_VOTERS)
        warm_file = voters_file.with_suffix(".warmup")
        warm_file.write_text("\n".join(lines[:warm]) + "\n")
        voters_file.write_text("\n".join(lines[warm:]) + "\n")
        wrk(base, cast_path, WARMUP_SECONDS, "-s", lua, "--", str(warm_file), "2", cast_path, key)
        spies = []
        if os.environ.get("BENCH_PYSPY"):  # sampling profile of each worker during the run
            workers = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
            spies = [
                subprocess.Popen(
                    [
                        "py-spy",
                        "record",
                        "--gil",  # samples holding the GIL: where the workers' CPU goes
                        "--nonblocking",
                        "--format",
                        "raw",
                        "-r",
                        "200",
                        "-d",
                        str(round(seconds)),
                        "-p",
                        pid,
                        "-o",
                        f"{os.environ['BENCH_PYSPY']}.{pid}",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for pid in workers
            ]
        workers = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        cpu_before = cpu_by_program()
        per_worker = [cpu_of(pid) for pid in workers]
        run = wrk(base, cast_path, seconds, "-s", lua, "--", str(voters_file), "2", cast_path, key)
        cpu_after = cpu_by_program()
        per_worker = [cpu_of(pid) - before for pid, before in zip(workers, per_worker, strict=True)]
        for spy in spies:
            spy.wait()
        with app.app_context():
            casts = db.session.scalar(
                select(func.count())
                .select_from(BallotReceipt)
                .where(BallotReceipt.ballot_id == ballot_id)
            )
            pending = sequencer.pending_count(db.session, log="votes")
            signed = checkpoints.checkpoint_count(db.session, log="votes")
            size = storage.log_size(db.session, log="votes")
            db.session.remove()
            db.engine.dispose()
        accepted = run["requests"] - run["bad"] - run["spare"]
        rate = accepted / run["elapsed"]
        where = (
            f"gunicorn alone on CPU {sorted(gunicorn_cpus)}, PostgreSQL and wrk on the others"
            if gunicorn_cpus
            else f"all on the same {os.cpu_count()} cores"
        )
        print(
            f"HTTP, gunicorn {n_workers} worker(s) x {THREADS} threads, PostgreSQL, "
            f"wrk 2 threads x {CONNECTIONS} connections, {where}, "
            f"after a {WARMUP_SECONDS} s warm-up (load average {load()}):"
        )
        print(
            f"  GET /healthz (the framework floor): {floor['rps']:.0f} req/s, "
            f"p50 {floor.get('p50', 0):.1f} ms, p99 {floor.get('p99', 0):.1f} ms"
        )
        print(
            f"  POST /cast, logged-in voters: {rate:.0f} ballots/s "
            f"({accepted:.0f} accepted in {run['elapsed']:.1f} s; p50 {run.get('p50', 0):.1f} ms, "
            f"p99 {run.get('p99', 0):.1f} ms); {100 * rate / floor['rps']:.0f} % "
            f"of the floor"
        )
        used = {k: cpu_after[k] - cpu_before.get(k, 0.0) for k in cpu_after}
        shares = [f"{t:.1f} s, {100 * t / run['elapsed']:.0f} % of a core" for t in per_worker]
        print(
            "  CPU per accepted ballot: "
            + ", ".join(
                f"{name} {1000 * t / max(accepted, 1):.2f} ms"
                for name, t in sorted(used.items(), key=lambda kv: -kv[1])[:4]
            )
            + " (each gunicorn worker: "
            + "; ".join(shares)
            + ")"
        )
        print(
            f"  database afterwards: {casts} casts, log size {size} in {signed} checkpoints, "
            f"{pending} casts still pooled (batches of {MIX_MIN})"
            + (f"; REFUSED {run['bad']:.0f}" if run["bad"] else "")
            + (
                f"; voters ran out ({run['spare']:.0f} spare requests): use more"
                if run["spare"]
                else ""
            )
        )
    finally:
        os.killpg(server.pid, 9)
        server.wait()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--voters", type=int, default=3000)
    parser.add_argument("--http-seconds", type=float, default=6.0)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-storage", action="store_true")
    parser.add_argument(
        "--pinned", action="store_true", help="also one worker on a core of its own (root)"
    )
    args = parser.parse_args()
    url = scratch(create=True)
    try:
        if not args.skip_storage:
            bench_storage(url, args.seconds)
        if not args.skip_http:
            url = scratch(create=True)
            bench_http(url, args.voters, args.http_seconds)
        if not args.skip_http and args.pinned:
            url = scratch(create=True)
            bench_http_pinned(url, args.voters // 2, args.http_seconds)
    finally:
        scratch(create=False)


if __name__ == "__main__":
    main()
