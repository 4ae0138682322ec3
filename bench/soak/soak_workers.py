"""Worker-crash soak (issue #17): the README's reproduction, N times, each on a fresh gunicorn.

    flock /tmp/civicforum-bench.lock .venv/bin/python bench/soak/soak_workers.py \\
        [--runs 50] [--python PATH] [--backend sqlite|postgresql] [--seconds 3] [--signed-in]
        [--threads 8] [--server-env NAME=VALUE ...] [--python-option=-Xdev ...]
        [--core-dumps] [--log-dir DIR]

Builds one scratch database per invocation (SQLite file in a temp dir by default; with
`--backend postgresql`, database `civicforum_bench_soak` on CIVICFORUM_TEST_POSTGRES_URL's
server, dropped afterwards), `db upgrade` + `seed-demo`. Then, per run, starts gunicorn as the
README's Deployment section does (2 workers x 8 threads, `wsgi:app`, in the checkout so
gunicorn.conf.py enables faulthandler in every worker) with the page cache off
(CIVICFORUM_PAGE_CACHE=false: every request renders, as a signed-in member's does), drives the
pages bench's load (20 warm-up requests, then wrk, 16 connections, `--seconds` each) on
/proposals/, the ~50-comment and the 2,500-comment proposal, stops gunicorn and reads its
error log: a worker "was sent SIGSEGV/SIGBUS/SIGABRT/..." (not after a WORKER TIMEOUT) is a
crash, and faulthandler's "Fatal Python error" lines say what kind. Failed requests are
requests that got no answer (connections reset: wrk's socket errors, lost warm-up requests) or
a 4xx/5xx; answers slower than wrk's 2 s timeout are counted apart (the machine is shared).

`--python` is the server's interpreter (default: the one running this script); it must have
civicforum and gunicorn installed (a venv made with `pip install -e .`). `--server-env` and
`--python-option` reach the server only (e.g. `--server-env PYTHONMALLOC=debug
--python-option=-Xdev`). `--core-dumps` lifts the core size limit for the server and moves each
run's core file next to its log. The gunicorn logs of runs with a crash are kept in `--log-dir`
(default bench/out/soak/<time>/). Prints one line per run, a summary and the interpreter;
exits 1 when any worker crashed. The soak does not run in CI: the machine is shared.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.ledger_http.bench_append import csrf_token  # noqa: E402
from bench.pages.bench_pages import (  # noqa: E402
    big_proposal,
    measure,
    pg_database,
    run,
    serve,
)

DB = "civicforum_bench_soak"
# Signals that mean the worker died of itself: a memory fault, or abort() from a failed check
# (PYTHONMALLOC=debug and -X dev report corruption that way).
FATAL = ("SIGSEGV", "SIGBUS", "SIGABRT", "SIGFPE", "SIGILL")
SENT = re.compile(r"Worker \(pid:(\d+)\) was sent (\w+)")
TIMEOUT = re.compile(r"WORKER TIMEOUT \(pid:(\d+)\)")
FATAL_ERROR = re.compile(r"^Fatal Python error: ([^\n]+)", re.M)
# Flask-Login's "strong" session protection binds a session to the client's user agent, so wrk
# must send the one the login used.
USER_AGENT = "civicforum-soak"
DEMO_MEMBER = ("citizen@demo.civicforum.test", "demo-citizen-password")


@dataclass
class Run:
    """What one run's gunicorn log and load said."""

    crashes: collections.Counter[str] = field(default_factory=collections.Counter)
    fatal_errors: collections.Counter[str] = field(default_factory=collections.Counter)
    timeouts: int = 0
    requests: int = 0
    failed: int = 0
    slow: int = 0
    started: bool = True

    def line(self) -> str:
        if not self.started:
            return "gunicorn did not answer: not counted"
        crashed = sum(self.crashes.values())
        what = ", ".join(f"{sig} x{n}" for sig, n in self.crashes.most_common())
        kinds = "; ".join(f'"{kind}" x{n}' for kind, n in self.fatal_errors.most_common())
        text = f"{crashed} crashed worker{'s' if crashed != 1 else ''}"
        text += f" ({what})" if what else ""
        text += f", {self.failed} failed of {self.requests} requests"
        text += f" ({self.slow} slower than 2 s)" if self.slow else ""
        text += f", {self.timeouts} worker timeouts" if self.timeouts else ""
        return text + (f"; faulthandler: {kinds}" if kinds else "")


def read_log(text: str) -> Run:
    """Count crashed workers (a fatal signal not sent by gunicorn's timeout) in a gunicorn log."""
    result = Run()
    timed_out = set(TIMEOUT.findall(text))
    result.timeouts = len(timed_out)
    for pid, sig in SENT.findall(text):
        if sig in FATAL and pid not in timed_out:
            result.crashes[sig] += 1
    result.fatal_errors.update(FATAL_ERROR.findall(text))
    return result


def interpreter(python: str, options: list[str], env: dict[str, str]) -> str:
    """The server interpreter's version, checked to have civicforum and gunicorn."""
    probe = "import sys, civicforum, gunicorn; print(sys.version.replace(chr(10), ' '))"
    out = subprocess.run(
        [python, *options, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True
    )
    if out.returncode:
        sys.exit(f"soak: {python} cannot serve civicforum (pip install -e .?):\n{out.stderr}")
    return out.stdout.strip()


def sign_in(base: str) -> list[str]:
    """Sign the demo member in through the login form; the headers that carry the session."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(base + "/account/login", timeout=30).read().decode()
    email, password = DEMO_MEMBER
    form = {"email": email, "password": password, "csrf_token": csrf_token(page)}
    home = opener.open(
        base + "/account/login", data=urllib.parse.urlencode(form).encode(), timeout=30
    ).read()
    if b"/account/logout" not in home:
        sys.exit("soak: the demo member could not sign in")
    cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
    return [f"Cookie: {cookies}", f"User-Agent: {USER_AGENT}"]


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn (graceful, then forced): no worker may outlive the run."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()  # orphaned workers notice their parent changed and exit
            proc.wait()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=3, help="wrk time per page")
    parser.add_argument("--python", default=sys.executable, help="the server's interpreter")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (2 workers)")
    parser.add_argument("--signed-in", action="store_true", help="load as a signed-in member")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--python-option", action="append", default=[], metavar="OPTION")
    parser.add_argument("--core-dumps", action="store_true")
    parser.add_argument("--log-dir", type=Path)
    args = parser.parse_args()
    if args.backend == "postgresql" and not os.environ.get("CIVICFORUM_TEST_POSTGRES_URL"):
        parser.error("--backend postgresql needs CIVICFORUM_TEST_POSTGRES_URL (its server)")
    if not shutil.which("wrk"):
        parser.error("wrk is missing (Debian package wrk)")
    return args


def main() -> int:
    args = parse_args()
    # Ending the soak (Ctrl-C, or a TERM from whoever started it) must still stop gunicorn and
    # drop the scratch database: turn TERM into an exception the finally blocks see.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICFORUM_")}
    server_env = dict(base_env, **dict(item.split("=", 1) for item in args.server_env))
    version = interpreter(args.python, args.python_option, server_env)
    log_dir = args.log_dir or REPO / "bench" / "out" / "soak" / time.strftime("%Y%m%d-%H%M%S")
    if args.core_dumps:
        # Inherited by gunicorn and its workers; core_pattern decides where the kernel writes.
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    gunicorn = [args.python, *args.python_option, "-m", "gunicorn"]
    tmp = Path(tempfile.mkdtemp(prefix="civicforum-soak-"))
    url = f"sqlite:///{tmp / 'soak.sqlite'}" if args.backend == "sqlite" else ""
    print(f"server interpreter: {args.python}: {version}")
    extra = " ".join([*args.python_option, *args.server_env]) or "none"
    print(f"server options: {extra}; backend: {args.backend}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    runs: list[Run] = []
    proc: subprocess.Popen[bytes] | None = None
    try:
        url = url or pg_database(True, DB)
        env = {
            **base_env,
            "CIVICFORUM_DATABASE_URL": url,
            "CIVICFORUM_INSTANCE_PATH": str(tmp),
            "CIVICFORUM_SESSION_COOKIE_SECURE": "false",
            "CIVICFORUM_DEMO_MODE": "true",
        }
        cli = str(Path(args.python).parent / "civicforum")
        run([cli, "db", "upgrade"], env)
        run([cli, "seed-demo"], env)
        big, small = big_proposal(env, Path(args.python))
        paths = ["/proposals/", f"/proposals/{small}", f"/proposals/{big}"]
        env = {**server_env, **env, "CIVICFORUM_PAGE_CACHE": "false"}
        headers: list[str] = []
        print(
            f"load: 2 workers x {args.threads} threads, page cache off, "
            f"{'signed-in member' if args.signed_in else 'anonymous'}; per page 20 warm-up "
            f"requests + wrk 16 connections x {args.seconds}s on {', '.join(paths)}"
        )
        for number in range(1, args.runs + 1):
            log_path = tmp / f"run-{number:02d}.log"
            with log_path.open("wb") as log:
                proc, base = serve(
                    "wsgi:app",
                    env,
                    gunicorn=gunicorn,
                    options=["--threads", str(args.threads)],
                    log=log,
                    ready_seconds=120,
                )
                requests = failed = slow = 0
                started = proc.poll() is None
                if started:
                    if args.signed_in and not headers:
                        headers = sign_in(base)  # sessions are rows: valid for every run
                    for path in paths:
                        r = measure(base + path, args.seconds, headers)
                        requests += int(r["requests"] + 20)
                        failed += int(r["socket_errors"] + r["errors"] + r["lost"])
                        slow += int(r["timeouts"])
                stop(proc)
            result = read_log(log_path.read_text(errors="replace"))
            result.requests, result.failed, result.slow = requests, failed, slow
            result.started = started
            runs.append(result)
            print(f"run {number:3d}/{args.runs}: {result.line()}", flush=True)
            cores = sorted(REPO.glob("core*")) if args.core_dumps else []
            if result.crashes or result.fatal_errors or not started or cores:
                log_dir.mkdir(parents=True, exist_ok=True)
                shutil.copy(log_path, log_dir)
                for index, core in enumerate(cores):
                    shutil.move(core, log_dir / f"run-{number:02d}.core{index or ''}")
    finally:
        if proc is not None:
            stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
        if args.backend == "postgresql":
            pg_database(False, DB)
    counted = [r for r in runs if r.started]
    crashed = [r for r in counted if r.crashes]
    workers = sum((r.crashes for r in counted), collections.Counter[str]())
    kinds = sum((r.fatal_errors for r in counted), collections.Counter[str]())
    failed = sum(r.failed for r in counted)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"interpreter: {version}")
    print(
        f"summary: {len(crashed)} of {len(counted)} runs had a crashed worker; "
        f"{sum(workers.values())} workers crashed"
        + (f" ({', '.join(f'{s} x{n}' for s, n in workers.most_common())})" if workers else "")
        + f"; {failed} failed of {sum(r.requests for r in counted)} requests"
        + f" ({sum(r.slow for r in counted)} more answered slower than 2 s)"
        + (f"; {len(runs) - len(counted)} runs did not start" if len(runs) > len(counted) else "")
    )
    if kinds:
        print("faulthandler: " + "; ".join(f'"{k}" x{n}' for k, n in kinds.most_common()))
    if crashed or len(runs) > len(counted):
        print(f"logs of those runs: {log_dir}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
