"""`civicforum ledger ...`: verify the stored logs, export them, sign, manage witnesses."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from civicforum.extensions import db
from civicforum.ledger.entry import LOGS
from civicforum.ledger.export import zip_export
from civicforum.logstore import checkpoints, integrity, sequencer, witnesses
from civicforum.logstore.errors import LogstoreError
from civicforum.logstore.keys import current_keys

ledger = AppGroup("ledger", help="The vote log and the civic record.")


@ledger.command("verify")
@click.option("--skip-recount", is_flag=True, help="Do not re-tabulate published results.")
def verify(skip_recount: bool) -> None:
    """Audit the stored logs (pure verifier + stored nodes) and record the run."""
    result = integrity.verify_database(db.session, recount=not skip_recount)
    text = result.format()
    db.session.rollback()  # end the read snapshot before writing the run record
    run = integrity.record_verification(db.session, ok=result.ok, sizes=result.sizes, report=text)
    db.session.commit()
    click.echo(text)
    click.echo(f"(recorded as verification run #{run.id})", err=True)
    if not result.ok:
        sys.exit(1)


@ledger.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--zip", "as_zip", type=click.Path(dir_okay=False, path_type=Path), help="Also zip it."
)
def export(directory: Path, as_zip: Path | None) -> None:
    """Write the complete export (for `civicforum-audit verify DIRECTORY`)."""
    for log in LOGS:  # cover every appended entry with a signed checkpoint first
        checkpoints.sign_checkpoint(db.session, log=log)
        db.session.commit()
    sizes = integrity.write_export(db.session, directory)
    db.session.rollback()
    if as_zip:
        zip_export(directory, as_zip)
    click.echo(" ".join(f"{log}={size}" for log, size in sizes.items()) + f" -> {directory}")


@ledger.command("sign")
def sign() -> None:
    """Sign a checkpoint of each log that grew since its last one (pooled casts stay pooled)."""
    for log in LOGS:
        checkpoint = checkpoints.sign_checkpoint(db.session, log=log)
        db.session.commit()
        click.echo(f"{log}: {checkpoint.size}")


@ledger.command("sequence")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Append every pooled cast now, due or not (shrinks the batches that hide voters).",
)
def sequence(everything: bool) -> None:
    """Append the pooled casts whose batch is due (run it every minute from cron: a pool that
    no new cast fills is appended once its oldest entry waited LEDGER_MIX_MAX_WAIT)."""
    for log in LOGS:
        count = sequencer.sequence_due(db.session, log=log, everything=everything)
        db.session.commit()
        click.echo(f"{log}: {count} pooled entries appended")


@ledger.command("vkey")
@click.argument("log", type=click.Choice(LOGS))
def vkey(log: str) -> None:
    """Print a log's verifier key (publish it through an independent channel)."""
    click.echo(current_keys().verifier(log).text)


@ledger.command("add-witness")
@click.argument("verifier_key")
def add_witness(verifier_key: str) -> None:
    """Accept cosignatures from a witness key (`name+id+base64`, type 0x04), given as text
    or as the file `civicforum-audit witness keygen` wrote it to (WKEY.pub)."""
    if Path(verifier_key).is_file():
        verifier_key = Path(verifier_key).read_text(encoding="utf-8").strip()
    try:
        witness = witnesses.add_witness(db.session, vkey=verifier_key)
    except LogstoreError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"witness {witness.name} accepted")


def init_app(app: Flask) -> None:
    app.cli.add_command(ledger)
