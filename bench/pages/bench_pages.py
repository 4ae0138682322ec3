"""Proposal list and proposal page vs a bare Flask list, served by gunicorn (2 workers).

    .venv/bin/python bench/pages/bench_pages.py [--seconds 10] [--backends sqlite,postgresql]

For each backend: a scratch database (SQLite file in a temp dir; PostgreSQL database
`civicforum_bench_pages` on CIVICFORUM_TEST_POSTGRES_URL's server, dropped afterwards),
`db upgrade` + `seed-demo`, gunicorn with 2 sync workers on 127.0.0.1, then wrk (16
connections, 2 threads) against each page; the bare app is measured the same way in the same
run. Each page is measured twice: as anonymous visitors get it (the page cache of
civicforum/web/cache.py answers after the first request) and with the cache off
(CIVICFORUM_PAGE_CACHE=false: what every request of a signed-in member costs). Prints
median, p99, req/s and the ratio to the bare app, and the load average before and after.
Figures are printed, not asserted: the machine is shared. Without wrk, a small threaded
Python client is used.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv" / "bin"
DB = "civicforum_bench_pages"
CONNECTIONS = 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_admin_url() -> str:
    return (
        os.environ.get("CIVICFORUM_TEST_POSTGRES_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres"
    )


def pg_database(create: bool, name: str = DB) -> str:
    """Drop the scratch database `name` (and create it afresh when `create`); its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(pg_admin_url())
    with psycopg.connect(
        url.set(database="postgres").render_as_string(False).replace("+psycopg", ""),
        autocommit=True,
    ) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if create:
            conn.execute(f"CREATE DATABASE {name}")
    return url.set(database=name).render_as_string(False)


def run(cmd: list[str], env: dict[str, str]) -> None:
    subprocess.run(cmd, env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL)


def serve(
    app: str,
    env: dict[str, str],
    *,
    gunicorn: Sequence[str] = (str(VENV / "gunicorn"),),
    options: Sequence[str] = (),
    log: IO[bytes] | None = None,
    ready_seconds: float = 10,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `gunicorn` (a command: the venv's script, or `python -m gunicorn`) with 2 workers
    and `options` on a free port, in the checkout (so gunicorn.conf.py applies); wait until it
    answers or `ready_seconds` passed. Its error log goes to `log` (default: our stderr)."""
    port = free_port()
    proc = subprocess.Popen(
        [
            *gunicorn,
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            *options,
            app,
        ],
        cwd=REPO,
        env=env,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(base + "/favicon.ico", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    return proc, base


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def measure(url: str, seconds: int, headers: Sequence[str] = ()) -> dict[str, float]:
    """Warm up, then load `url` for `seconds` (wrk, else a Python client); `headers` are
    "Name: value" lines sent with every request. Returns p50/p99 (ms), rps, errors (non-2xx/3xx
    answers) and, with wrk, requests, socket_errors (connections refused or reset: requests
    that got no answer), timeouts (answers slower than wrk's 2 s, or none) and lost (warm-up
    requests that got no answer)."""
    import http.client

    lost = 0
    fields = dict(line.split(": ", 1) for line in headers)
    for _ in range(20):  # warm both workers (template compilation, connection pools)
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers=fields), timeout=10).read()
        except (OSError, http.client.HTTPException):
            lost += 1  # a worker died (gunicorn starts another): say so, keep measuring
            time.sleep(1)
    if lost:
        print(f"  ({lost} warm-up requests lost: a worker died, see gunicorn's log above)")
    if shutil.which("wrk"):
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{CONNECTIONS}",
                f"-d{seconds}s",
                "--latency",
                *(arg for line in headers for arg in ("-H", line)),
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        p50 = _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
        p99 = _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        requests = re.search(r"(\d+) requests in", out)
        sockets = re.search(
            r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
        )
        return {
            "p50": p50,
            "p99": p99,
            "rps": rps,
            "errors": float(errors.group(1)) if errors else 0.0,
            "requests": float(requests.group(1)) if requests else 0.0,
            "socket_errors": float(sum(map(int, sockets.groups()[:3]))) if sockets else 0.0,
            "timeouts": float(sockets.group(4)) if sockets else 0.0,
            "lost": float(lost),
        }
    return measure_python(url, seconds)


def measure_python(url: str, seconds: int) -> dict[str, float]:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine = []
        while time.perf_counter() < stop:
            began = time.perf_counter()
            conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""))
            conn.getresponse().read()
            mine.append((time.perf_counter() - began) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return {
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "rps": len(latencies) / seconds,
        "errors": 0.0,
    }


def big_proposal(env: dict[str, str], python: Path = VENV / "python") -> tuple[int, int]:
    """The ids of the proposal with the most comments and of a published one with ~50."""
    code = (
        "from civicforum import create_app;from civicforum.extensions import db;"
        "from sqlalchemy import text;app=create_app();ctx=app.app_context();ctx.push();"
        "big=db.session.execute(text('SELECT id FROM proposals "
        "ORDER BY comment_count DESC LIMIT 1')).scalar();"
        "small=db.session.execute(text(\"SELECT id FROM proposals WHERE state='published' "
        'ORDER BY abs(comment_count-50) LIMIT 1")).scalar();print(big, small)'
    )
    out = subprocess.run(
        [str(python), "-c", code],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    big, small = out.stdout.split()
    return int(big), int(small)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    tool = "wrk" if shutil.which("wrk") else "python client"
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"load: {tool}, {CONNECTIONS} connections, {args.seconds}s per page; "
        "gunicorn -w 2 on 127.0.0.1"
    )
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICFORUM_")}
    bare_proc, bare_base = serve("bench.pages.bare_app:app", base_env)
    try:
        bare = measure(bare_base + "/", args.seconds)
        print(
            f"{'bare Flask 50-row list':<52} p50 {bare['p50']:7.2f} ms  "
            f"p99 {bare['p99']:7.2f} ms  {bare['rps']:7.0f} req/s"
        )
        for backend in args.backends.split(","):
            tmp = Path(tempfile.mkdtemp(prefix="bench-pages-"))
            url = f"sqlite:///{tmp / 'bench.sqlite'}" if backend == "sqlite" else pg_database(True)
            env = {
                **base_env,
                "CIVICFORUM_DATABASE_URL": url,
                "CIVICFORUM_INSTANCE_PATH": str(tmp),
                "CIVICFORUM_SESSION_COOKIE_SECURE": "false",
                "CIVICFORUM_DEMO_MODE": "true",
            }
            try:
                run([str(VENV / "civicforum"), "db", "upgrade"], env)
                run([str(VENV / "civicforum"), "seed-demo"], env)
                big, small = big_proposal(env)
                pages = [
                    ("list (20 per page)", "/proposals/"),
                    (f"proposal {small}: ~50 comments", f"/proposals/{small}"),
                    (f"proposal {big}: 2,500 comments", f"/proposals/{big}"),
                ]
                for variant, cache in (("cached", "true"), ("no cache", "false")):
                    proc, base = serve("wsgi:app", {**env, "CIVICFORUM_PAGE_CACHE": cache})
                    try:
                        for label, path in pages:
                            r = measure(base + path, args.seconds)
                            ratio = r["rps"] / bare["rps"]
                            flag = "" if not r["errors"] else f"  ({r['errors']:.0f} errors)"
                            name = f"{backend} {variant}: {label}"
                            print(
                                f"{name:<52} p50 {r['p50']:7.2f} ms  "
                                f"p99 {r['p99']:7.2f} ms  {r['rps']:7.0f} req/s  "
                                f"{ratio:5.0%} of bare{flag}"
                            )
                    finally:
                        proc.terminate()
                        proc.wait(10)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
                if backend == "postgresql":
                    pg_database(False)
    finally:
        bare_proc.terminate()
        bare_proc.wait(10)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
