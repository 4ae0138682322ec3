from __future__ import annotations

import secrets

import click

from civicforum.accounts import services
from civicforum.accounts.errors import FieldError
from civicforum.accounts.models import Role
from civicforum.db import utcnow
from civicforum.extensions import db


@click.command("create-admin")
@click.argument("email")
@click.option("--name", default="Administrator", help="Display name.")
@click.option(
    "--password",
    default=None,
    help="At least 12 characters. Omit to be asked, or use --generate-password.",
)
@click.option(
    "--generate-password", is_flag=True, help="Create a random password and print it once."
)
def create_admin(email: str, name: str, password: str | None, generate_password: bool) -> None:
    """Create the first administrator (or grant admin to an existing account)."""
    user = services.find_user_by_email(db.session, email)
    if user is None:
        if generate_password:
            password = secrets.token_urlsafe(18)
        elif password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        assert password is not None
        try:
            services.check_password_policy(password, email=email, display_name=name)
        except FieldError as error:
            raise click.BadParameter(error.message, param_hint="--password") from None
        user = services.create_user(
            db.session, email=email, display_name=name, password=password, roles=()
        )
        # The operator typed the address, so it counts as verified.
        user.email_verified_at = utcnow()
        services.grant_role(db.session, actor=None, user=user, role=Role.CITIZEN)
        if generate_password:
            click.echo(f"Password (shown once): {password}")
    services.grant_role(db.session, actor=None, user=user, role=Role.ADMIN)
    db.session.commit()
    click.echo(
        f"{user.email} is an administrator. Set up two-factor authentication at first login."
    )


@click.command("totp-code")
@click.argument("email")
def totp_code(email: str) -> None:
    """Print the current TOTP code of an account (demo accounts: documented secrets)."""
    import pyotp

    user = services.find_user_by_email(db.session, email)
    if user is None or not user.totp_secret:
        raise click.ClickException("no such account with two-factor authentication")
    click.echo(pyotp.TOTP(user.totp_secret).now())


@click.group("sessions")
def sessions_cli() -> None:
    """Server-side session maintenance."""


@sessions_cli.command("purge")
def purge_sessions() -> None:
    """Delete expired session records (Redis expires its own)."""
    from flask import current_app

    from civicforum.accounts.sessions import SqlSessionStore, current_store

    store = current_store(current_app)
    if not isinstance(store, SqlSessionStore):
        click.echo("sessions are in Redis, which expires them itself")
        return
    click.echo(f"{store.purge_expired()} expired sessions deleted")
