"""Profile the HTTP cast path in-process (Flask test client, PostgreSQL, logged-in voters).

    CIVICFORUM_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/ledger_http/profile_cast.py [--voters 300] [--profile]

Creates (and drops) the scratch database `civicforum_bench_profile`. Prints the mean time per
`POST /ballots/<id>/cast` (sequential, one process: the request's own cost, no contention),
the SQL statements per request that go through SQLAlchemy (db.OnDriver and logstore.pg run
theirs on the driver), and with --profile the function calls per request (a deterministic
measure of the Python work, where timings on a shared machine vary by tens of percent) and
the top functions by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

DB = "civicforum_bench_profile"


def scratch(create: bool) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    base = (
        os.environ.get("CIVICFORUM_TEST_POSTGRES_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    admin = make_url(base).set(drivername="postgresql", database="postgres")
    admin_s = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_s, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        if create:
            conn.execute(f"CREATE DATABASE {DB}")
            if os.environ.get("LOG_STATEMENTS"):
                conn.execute(f"ALTER DATABASE {DB} SET log_statement = 'all'")
    return admin.set(database=DB).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--voters", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    url = scratch(create=True)
    try:
        run(url, args.voters, args.profile)
    finally:
        scratch(create=False)


def run(url: str, voters: int, profile: bool) -> None:
    import flask_migrate
    from bench_append import PASSWORD, logged_in_client  # this folder: sys.path[0]
    from sqlalchemy import event

    from civicforum import create_app
    from civicforum.extensions import db
    from tests.factories import make_user
    from tests.factories_ballots import make_ballot

    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-only-secret-0000",
            "INSTANCE_PATH": tempfile.mkdtemp(prefix="bench-prof-"),
            "TESTING": True,
            "SESSION_COOKIE_SECURE": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        flask_migrate.upgrade()
        users = [make_user(db.session, password=PASSWORD) for _ in range(voters)]
        ballot = make_ballot(db.session)
        db.session.commit()
        emails, ballot_id, key = [u.email for u in users], ballot.id, ballot.options[0].key
        db.session.remove()
        engine = db.engine
    statements: Counter[str] = Counter()
    order: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def count(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        statements[" ".join(statement.split())[:110]] += 1
        order.append(" ".join(statement.split())[:140])

    from civicforum.accounts.models import User
    from civicforum.ballots import cast_tokens

    clients = [logged_in_client(app, email, ballot_id) for email in emails]
    with app.app_context():  # the one-time cast tokens review steps would issue
        ids = dict(db.session.query(User.email, User.id).filter(User.email.in_(emails)).all())
        tokens = [cast_tokens.issue(ballot_id=ballot_id, voter_id=ids[e]) for e in emails]
        db.session.remove()
    statements.clear()
    profiler = cProfile.Profile() if profile else None
    began, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    for (c, token), cast_token in zip(clients, tokens, strict=True):
        data = {"approve": key, "action": "cast", "csrf_token": token, "cast_token": cast_token}
        r = c.post(f"/ballots/{ballot_id}/cast", data=data)
        assert r.status_code == 200 and "tlog-promise" in r.text, (r.status_code, r.text[:300])
    if profiler:
        profiler.disable()
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    print(
        f"POST /cast, sequential, one process: {1000 * elapsed / voters:.2f} ms/request "
        f"({voters / elapsed:.0f}/s; Python CPU {1000 * cpu / voters:.2f} ms/request), "
        f"{sum(statements.values()) / voters:.1f} SQL statements/request through SQLAlchemy "
        "(the others run on the driver: db.OnDriver, logstore.pg)"
    )
    for stmt, n in statements.most_common(40):
        print(f"  {n / voters:5.2f}  {stmt}")
    order.clear()
    c, token = clients[0]
    with app.app_context():
        again = cast_tokens.issue(ballot_id=ballot_id, voter_id=ids[emails[0]])
    data = {"approve": key, "action": "cast", "csrf_token": token, "cast_token": again}
    c.post(f"/ballots/{ballot_id}/cast", data=data)
    print("One request (a vote change), in order:")
    for stmt in order:
        print("   ", stmt)
    if profiler:
        profiler.dump_stats("/tmp/cast.prof")
        stats = pstats.Stats(profiler)
        # Deterministic, unlike the timings on a shared machine: compare code versions by it.
        print(f"function calls per request (cProfile): {stats.total_calls / voters:.0f}")  # type: ignore[attr-defined]
        stats.sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
            int(os.environ.get("TOP", "45"))
        )
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
