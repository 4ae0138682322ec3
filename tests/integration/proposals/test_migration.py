"""Migration 0002 matches the models for every table of this feature, on both backends.

The SQLite FTS5 index (`proposals_fts` and its shadow tables) is created by the migration
on purpose and is not a model; the shared tests/test_migrations.py still lists it as a
difference on SQLite until it ignores those tables (see the report of issue 3).
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect, text

MY_TABLES = {
    "proposal_categories",
    "proposals",
    "proposal_tags",
    "proposal_revisions",
    "proposal_transitions",
    "supports",
    "comments",
    "comment_votes",
    "comment_edits",
    "notifications",
    "notification_settings",
}


def _not_fts(name: str | None, type_: str, parent_names: dict) -> bool:
    return not (type_ == "table" and name and name.startswith("proposals_fts"))


def test_models_match_migration_for_proposal_tables(app: Flask, db_session) -> None:
    from civicforum.extensions import db

    conn = db_session.connection()
    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "include_name": _not_fts}
    )
    diff = compare_metadata(context, db.metadata)
    assert diff == [], diff
    assert set(inspect(conn).get_table_names()) >= MY_TABLES


def test_search_objects_exist(app: Flask, db_session) -> None:
    conn = db_session.connection()
    if conn.dialect.name == "postgresql":
        trigger = conn.scalar(
            text("SELECT count(*) FROM pg_trigger WHERE tgname = 'proposals_search_vector_trg'")
        )
        index = conn.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_proposals_search_vector'")
        )
        assert trigger == 1 and "gin" in index.lower()
    else:
        names = set(
            conn.scalars(text("SELECT name FROM sqlite_master WHERE name LIKE 'proposals_fts%'"))
        )
        assert {
            "proposals_fts",
            "proposals_fts_ai",
            "proposals_fts_ad",
            "proposals_fts_au",
        } <= names
