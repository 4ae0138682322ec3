"""`civicforum jobs run`: the scheduled maintenance, in one command for cron or a loop.

Features register the CLI commands that must run every minute or so (`register`, at
init_app): opening and closing ballots, appending a quiet ballot's pooled casts, archiving
proposals, purging sessions. A deployment runs `civicforum jobs run` from cron every minute;
`--every 60` keeps it running (what `bash .ci/start` does beside the web server, so that a
development instance behaves like a deployed one). Each job owns its transactions; one that
fails is reported and the others still run.
"""

from __future__ import annotations

import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from civicforum.extensions import db

EXTENSION = "civicforum_jobs"

jobs_cli = AppGroup("jobs", help="Scheduled maintenance.")


def register(app: Flask, *command: str) -> None:
    """Run `civicforum <command...>` as part of every `jobs run` pass (e.g. "ballots",
    "close-due")."""
    registered: list[tuple[str, ...]] = app.extensions.setdefault(EXTENSION, [])
    if command not in registered:
        registered.append(command)


def _run_pass(ctx: click.Context) -> int:
    failures = 0
    for path in current_app.extensions.get(EXTENSION, []):
        group: click.Group = current_app.cli  # type: ignore[assignment]
        command: click.Command | None = group
        for name in path:
            command = command.get_command(ctx, name) if isinstance(command, click.Group) else None
        if command is None:
            click.echo(f"jobs: no command `{' '.join(path)}`", err=True)
            failures += 1
            continue
        try:
            ctx.invoke(command)
        except Exception as exc:  # one failing job must not stop the others
            click.echo(f"jobs: `{' '.join(path)}` failed: {exc}", err=True)
            failures += 1
        finally:
            # Whatever a job left open ends here: a transaction held into the next job (on
            # SQLite, a write lock) would block it and every web request's write.
            db.session.remove()
    return failures


@jobs_cli.command("run")
@click.option(
    "--every",
    type=click.IntRange(min=1),
    default=None,
    help="Run again every SECONDS until stopped (instead of once, as cron would).",
)
@click.pass_context
def run(ctx: click.Context, every: int | None) -> None:
    """Run every scheduled job once (or every SECONDS)."""
    while True:
        failures = _run_pass(ctx)
        if every is None:
            if failures:
                raise SystemExit(1)
            return
        time.sleep(every)


def init_app(app: Flask) -> None:
    app.cli.add_command(jobs_cli)
