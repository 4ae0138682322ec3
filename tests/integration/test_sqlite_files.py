"""The SQLite database's files: owner-only, and deleted rows do not linger in them."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import text

from tests.conftest import make_test_app


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_database_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    from civicforum.extensions import db

    old_umask = os.umask(0o022)  # a usual umask, under which SQLite would make 0644 files
    try:
        database = tmp_path / "new.sqlite"
        app = make_test_app(f"sqlite:///{database}", tmp_path / "instance")
        with app.app_context():
            with db.engine.begin() as conn:
                conn.execute(text("CREATE TABLE t (x INTEGER)"))
                conn.execute(text("INSERT INTO t VALUES (1)"))
            files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
            assert all(f.exists() for f in files)
            assert [_mode(f) for f in files] == [0o600] * 3
            db.engine.dispose()
        # A database made before (0644) is tightened when the app starts.
        older = tmp_path / "older.sqlite"
        sqlite3.connect(older).close()
        older.chmod(0o644)
        make_test_app(f"sqlite:///{older}", tmp_path / "instance")
        assert _mode(older) == 0o600
    finally:
        os.umask(old_umask)


def test_deleted_rows_are_zeroed_in_the_database_file(tmp_path: Path) -> None:
    # Closing a ballot deletes its voter links; PRAGMA secure_delete keeps them from lingering
    # in the file's free pages, where a copy of the file would still hold them.
    from civicforum.extensions import db

    database = tmp_path / "db.sqlite"
    app = make_test_app(f"sqlite:///{database}", tmp_path / "instance")
    marker = "voter-17-tracker-f00dfeedcafe"
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE links (id INTEGER PRIMARY KEY, tracker TEXT)"))
            conn.execute(text("INSERT INTO links (tracker) VALUES (:t)"), {"t": marker})
            conn.execute(text("INSERT INTO links (tracker) VALUES ('kept')"))
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM links WHERE tracker = :t"), {"t": marker})
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA secure_delete")).scalar() == 1
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.engine.dispose()
    assert marker.encode() not in database.read_bytes()
    assert b"kept" in database.read_bytes()
