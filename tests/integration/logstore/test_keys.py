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
