"""The `civicforum` console script: the Flask CLI with the app loaded."""

from __future__ import annotations

from flask.cli import FlaskGroup

from civicforum import create_app


def main() -> None:
    cli = FlaskGroup(create_app=lambda: create_app(), help="civicforum command line.")
    cli.main(prog_name="civicforum")
