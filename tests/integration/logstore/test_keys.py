"""Signing keys and origins (logstore.keys): generated once, private, and an origin of their own."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from flask import Flask

from civicforum.ledger.entry import LOGS
from civicforum.logstore.keys import key_file, load_keys


def _app(instance: Path, **config: object) -> Flask:
    app = Flask(__name__, instance_path=str(instance))
    app.config.update({"LEDGER_KEY_FILE": None, "LEDGER_ORIGIN_HOST": None, **config})
    return app


def test_a_new_installation_gets_private_keys_and_an_origin_of_its_own(tmp_path: Path) -> None:
    first = load_keys(_app(tmp_path / "a"))
    assert stat.S_IMODE(os.stat(key_file(_app(tmp_path / "a"))).st_mode) == 0o600
    host = first.origin("votes").removesuffix("/ledger/votes")
    assert host.endswith(".civicforum.localhost")
    assert [first.origin(log) for log in LOGS] == [f"{host}/ledger/{log}" for log in LOGS]
    # Restarted, it keeps its keys and origin; another installation gets another origin.
    again = load_keys(_app(tmp_path / "a"))
    assert again.verifier("votes") == first.verifier("votes")
    assert again.origin("votes") == first.origin("votes")
    assert load_keys(_app(tmp_path / "b")).origin("votes") != first.origin("votes")


def test_the_configured_host_names_the_logs_and_must_match_the_key_file(tmp_path: Path) -> None:
    keys = load_keys(_app(tmp_path, LEDGER_ORIGIN_HOST="vote.example.org"))
    assert keys.origin("civic") == "vote.example.org/ledger/civic"
    with pytest.raises(RuntimeError, match="CIVICFORUM_LEDGER_ORIGIN_HOST"):
        load_keys(_app(tmp_path, LEDGER_ORIGIN_HOST="other.example.org"))
    # A shared key file names the host for every instance that uses it.
    shared = _app(tmp_path / "elsewhere", LEDGER_KEY_FILE=str(key_file(_app(tmp_path))))
    assert load_keys(shared).origin("votes") == "vote.example.org/ledger/votes"


def test_a_key_file_from_before_ledger_origins_is_refused_with_a_clear_message(
    tmp_path: Path,
) -> None:
    from civicforum.ledger.note import generate_key

    old = "".join(
        generate_key(f"civicforum.localhost/civicforum/{log}")[0].decode() + "\n" for log in LOGS
    )
    key_file(_app(tmp_path)).write_text(old)
    with pytest.raises(RuntimeError, match="<host>/civicforum/<log>"):
        load_keys(_app(tmp_path))


def _signed_app(tmp_path: Path) -> Flask:
    """A migrated SQLite app whose logs hold a signed checkpoint each."""
    import flask_migrate

    from civicforum.extensions import db
    from civicforum.logstore import checkpoints
    from tests.conftest import make_test_app

    app = make_test_app(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    with app.app_context():
        flask_migrate.upgrade()
        for log in LOGS:
            checkpoints.sign_checkpoint(db.session, log=log)
        db.session.commit()
        db.engine.dispose()
    return app


def test_a_lost_key_file_stops_start_up_once_the_logs_hold_checkpoints(tmp_path: Path) -> None:
    from civicforum.logstore.keys import MissingKeyError
    from tests.conftest import make_test_app

    app = _signed_app(tmp_path)
    path = key_file(app)
    kept = path.read_text()
    path.unlink()
    with pytest.raises(MissingKeyError, match=f"{path} is missing"):
        make_test_app(app.config["DATABASE_URL"], tmp_path)
    assert not path.exists()  # no new key was generated in its place
    path.write_text(kept)  # restored from the backup: it starts again
    make_test_app(app.config["DATABASE_URL"], tmp_path)


def test_a_replaced_key_file_stops_start_up_naming_the_file(tmp_path: Path) -> None:
    from civicforum.logstore.keys import MissingKeyError
    from tests.conftest import make_test_app

    app = _signed_app(tmp_path)
    host = load_keys(app).origin("votes").removesuffix("/ledger/votes")
    other = _app(tmp_path / "other", LEDGER_ORIGIN_HOST=host)
    load_keys(other)  # another installation's keys, under the same origin
    key_file(app).write_text(key_file(other).read_text())
    with pytest.raises(MissingKeyError, match=f"{key_file(app)}: its key .* did not sign"):
        make_test_app(app.config["DATABASE_URL"], tmp_path)


def test_without_checkpoints_a_missing_key_is_a_first_run(tmp_path: Path) -> None:
    # `db upgrade` on a new installation starts the app before the tables exist.
    keys = load_keys(_app(tmp_path), stored={})
    assert keys.origin("votes").endswith(".civicforum.localhost/ledger/votes")
