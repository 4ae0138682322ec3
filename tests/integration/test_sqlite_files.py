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


def test_after_closing_not_even_the_database_file_alone_holds_the_links(tmp_path: Path) -> None:
    # A copy of the main file without its -wal (a naive backup) held the pages from before
    # the closing deleted the links, until SQLite's next automatic checkpoint.
    import shutil

    import flask_migrate

    from civicforum.ballots import services
    from civicforum.extensions import db
    from tests.factories import make_user
    from tests.factories_ballots import approve, close, make_ballot

    database = tmp_path / "vote.sqlite"
    app = make_test_app(f"sqlite:///{database}", tmp_path / "instance")
    with app.app_context(), app.test_request_context():
        flask_migrate.upgrade()
        voters = [make_user(db.session) for _ in range(5)]
        ballot = make_ballot(db.session, secret=True)
        db.session.commit()
        for voter in voters:
            services.cast_ballot(db.session, ballot=ballot, voter=voter, choice=approve("o1"))
            db.session.commit()
        with db.engine.connect() as conn:  # as SQLite's automatic checkpoints do while voting
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert close(db.session, ballot)
        db.session.commit()
        ballot_id = ballot.id
        db.session.remove()
        copy = tmp_path / "copy.sqlite"
        shutil.copyfile(database, copy)  # the main file alone
        with sqlite3.connect(copy) as conn:
            links = conn.execute(
                "SELECT count(*) FROM ballot_voter_links WHERE ballot_id = ?", (ballot_id,)
            ).fetchone()[0]
            status = conn.execute("SELECT status FROM ballots WHERE id = ?", (ballot_id,))
            assert links == 0 and status.fetchone()[0] == "closed"
        assert Path(f"{database}-wal").stat().st_size == 0  # emptied, not only copied back
        db.engine.dispose()
