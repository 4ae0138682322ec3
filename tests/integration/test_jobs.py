"""`civicforum jobs run`: every registered job runs, and none leaves the next one (or the web
server) waiting on a transaction it left open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click
from flask import current_app

from civicforum import jobs
from tests.conftest import make_test_app


def _migrated_app(tmp_path: Path) -> tuple[object, Path]:
    import flask_migrate

    database = tmp_path / "jobs.sqlite"
    app = make_test_app(f"sqlite:///{database}", tmp_path / "instance")
    with app.app_context():
        flask_migrate.upgrade()
    return app, database


def test_every_scheduled_job_is_registered(tmp_path: Path) -> None:
    app, _ = _migrated_app(tmp_path)
    with app.app_context():  # type: ignore[attr-defined]
        registered = set(current_app.extensions[jobs.EXTENSION])
    assert registered == {
        ("ballots", "close-due"),
        ("ledger", "sequence"),
        ("proposals", "expire"),
        ("sessions", "purge"),
        ("mail", "send"),
    }


def test_a_pass_runs_every_job_and_leaves_no_transaction_open(tmp_path: Path) -> None:
    """`mail send` with nothing due used to keep its claim's transaction (SQLite: the write
    lock) open: `sessions purge` after it, and every web request's write, waited 10 s and
    failed with "database is locked"."""
    app, database = _migrated_app(tmp_path)
    writes: list[str] = []

    @app.cli.command("probe-write")  # type: ignore[attr-defined]
    def probe_write() -> None:
        # Another connection, as a web worker would be: it must get the write lock at once.
        other = sqlite3.connect(database, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.rollback()
            writes.append("ok")
        except sqlite3.OperationalError as exc:
            writes.append(str(exc))
        finally:
            other.close()

    with app.app_context():  # type: ignore[attr-defined]
        registered = current_app.extensions[jobs.EXTENSION]
        # The probe after each job: a job that leaves its transaction open fails the next.
        for path in list(registered):
            registered.insert(registered.index(path) + 1, ("probe-write",))
    result = app.test_cli_runner().invoke(args=["jobs", "run"])  # type: ignore[attr-defined]
    assert result.exit_code == 0, result.output
    assert writes == ["ok"] * 5, writes
    assert "jobs:" not in result.output  # no job failed


def test_a_failing_job_is_reported_and_the_others_still_run(tmp_path: Path) -> None:
    app, _ = _migrated_app(tmp_path)
    ran: list[str] = []

    @app.cli.command("boom")  # type: ignore[attr-defined]
    def boom() -> None:
        raise RuntimeError("broken job")

    @app.cli.command("after")  # type: ignore[attr-defined]
    def after() -> None:
        click.echo("after ran")
        ran.append("after")

    with app.app_context():  # type: ignore[attr-defined]
        current_app.extensions[jobs.EXTENSION][:] = [("boom",), ("after",)]
    result = app.test_cli_runner().invoke(args=["jobs", "run"])  # type: ignore[attr-defined]
    assert result.exit_code == 1
    assert "jobs: `boom` failed: broken job" in result.output and ran == ["after"]
