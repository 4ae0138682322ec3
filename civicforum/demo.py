"""`civicforum seed-demo`: demo accounts and content, one feature module after another."""

from __future__ import annotations

import importlib

import click
from flask import Flask
from sqlalchemy import func, select

from civicforum.accounts.models import User
from civicforum.extensions import db

# Each module has seed(session) -> None; later ones may use what earlier ones created.
SEEDERS = ("accounts", "proposals", "deliberation", "moderation", "ballots", "budgets")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has users already.")
def seed_demo(if_empty: bool) -> None:
    """Create demo accounts (documented passwords and TOTP secrets) and demo content."""
    if if_empty and db.session.scalar(select(func.count()).select_from(User)):
        click.echo("seed-demo: database already has data; nothing to do.")
        return
    for name in SEEDERS:
        try:
            module = importlib.import_module(f"civicforum.{name}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"civicforum.{name}.demo":
                raise
            continue
        click.echo(f"seed-demo: {name}")
        module.seed(db.session)
        db.session.commit()
    click.echo("seed-demo: done. Demo accounts are listed in the README.")


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_demo)
