from __future__ import annotations

import click

from civicforum.accounts import services
from civicforum.accounts.models import Role, UserRole
from civicforum.extensions import db


@click.command("create-admin")
@click.argument("email")
@click.option("--name", default="Administrator", help="Display name.")
@click.password_option(help="At least 12 characters.")
def create_admin(email: str, name: str, password: str) -> None:
    """Create the first administrator (or grant admin to an existing account)."""
    user = services.find_user_by_email(db.session, email)
    if user is None:
        user = services.create_user(
            db.session,
            email=email,
            display_name=name,
            password=password,
            roles=(Role.CITIZEN, Role.ADMIN),
        )
    elif not user.has_role(Role.ADMIN):
        user.roles.append(UserRole(role=str(Role.ADMIN)))
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
