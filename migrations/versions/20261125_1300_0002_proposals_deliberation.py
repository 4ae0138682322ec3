"""proposals, deliberation, notifications; full-text search (FTS5 / tsvector)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:00:00

Search is the database's own engine:
- PostgreSQL: `proposals.search_vector` (tsvector) with a GIN index, kept up to date by a
  BEFORE INSERT/UPDATE OF title, summary, body_source trigger (counter updates do not fire it).
- SQLite: an external-content FTS5 table `proposals_fts` over the same three columns, kept in
  step by AFTER INSERT/UPDATE/DELETE triggers. A later migration that rebuilds `proposals`
  with batch mode ("move and copy") drops these triggers and must recreate them.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import civicforum.db


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def _search_vector_type():
    return postgresql.TSVECTOR() if op.get_bind().dialect.name == "postgresql" else sa.Text()


_FTS_COLUMNS = "title, summary, body_source"
_FTS_OLD = "old.id, old.title, old.summary, old.body_source"
_FTS_NEW = "new.id, new.title, new.summary, new.body_source"


def _create_search(dialect):
    if dialect == "postgresql":
        op.execute(
            """
            CREATE FUNCTION proposals_search_vector_update() RETURNS trigger AS $$
            BEGIN
              NEW.search_vector :=
                setweight(to_tsvector('simple', coalesce(NEW.title, '')), 'A') ||
                setweight(to_tsvector('simple', coalesce(NEW.summary, '')), 'B') ||
                setweight(to_tsvector('simple', coalesce(NEW.body_source, '')), 'C');
              RETURN NEW;
            END
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER proposals_search_vector_trg "
            "BEFORE INSERT OR UPDATE OF title, summary, body_source ON proposals "
            "FOR EACH ROW EXECUTE FUNCTION proposals_search_vector_update()"
        )
    elif dialect == "sqlite":
        op.execute(
            f"CREATE VIRTUAL TABLE proposals_fts USING fts5({_FTS_COLUMNS}, "
            "content='proposals', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER proposals_fts_ai AFTER INSERT ON proposals BEGIN "
            f"INSERT INTO proposals_fts(rowid, {_FTS_COLUMNS}) VALUES ({_FTS_NEW}); END"
        )
        op.execute(
            "CREATE TRIGGER proposals_fts_ad AFTER DELETE ON proposals BEGIN "
            f"INSERT INTO proposals_fts(proposals_fts, rowid, {_FTS_COLUMNS}) "
            f"VALUES ('delete', {_FTS_OLD}); END"
        )
        op.execute(
            "CREATE TRIGGER proposals_fts_au AFTER UPDATE OF title, summary, body_source "
            "ON proposals BEGIN "
            f"INSERT INTO proposals_fts(proposals_fts, rowid, {_FTS_COLUMNS}) "
            f"VALUES ('delete', {_FTS_OLD}); "
            f"INSERT INTO proposals_fts(rowid, {_FTS_COLUMNS}) VALUES ({_FTS_NEW}); END"
        )


def _drop_search(dialect):
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS proposals_search_vector_trg ON proposals")
        op.execute("DROP FUNCTION IF EXISTS proposals_search_vector_update()")
    elif dialect == "sqlite":
        for name in ("proposals_fts_ai", "proposals_fts_ad", "proposals_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS proposals_fts")


def upgrade():
    op.create_table('proposal_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_categories')),
    sa.UniqueConstraint('slug', name=op.f('uq_proposal_categories_slug'))
    )
    op.create_table('notification_settings',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('comment_replies', sa.Boolean(), nullable=False),
    sa.Column('proposal_comments', sa.Boolean(), nullable=False),
    sa.Column('state_changes', sa.Boolean(), nullable=False),
    sa.Column('last_digest_at', civicforum.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_settings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_settings'))
    )
    op.create_table('proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=150), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('body_source', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'published', 'qualified', 'on_ballot', 'adopted', 'rejected', 'withdrawn', 'archived', name='proposalstate', native_enum=False, length=20), nullable=False),
    sa.Column('created_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', civicforum.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('support_deadline', civicforum.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('qualified_at', civicforum.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('support_count', sa.Integer(), nullable=False),
    sa.Column('comment_count', sa.Integer(), nullable=False),
    sa.Column('stance_in_favour', sa.Integer(), nullable=False),
    sa.Column('stance_against', sa.Integer(), nullable=False),
    sa.Column('stance_neutral', sa.Integer(), nullable=False),
    sa.Column('last_comment_at', civicforum.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('moderation_status', sa.Enum('visible', 'hidden', 'removed', name='moderationstatus', native_enum=False, length=20), nullable=False),
    sa.Column('hidden_reason', sa.String(length=500), nullable=True),
    sa.Column('moderation_version', sa.Integer(), nullable=False),
    sa.Column('search_vector', _search_vector_type(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_proposals_author_id_users')),
    sa.ForeignKeyConstraint(['category_id'], ['proposal_categories.id'], name=op.f('fk_proposals_category_id_proposal_categories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals'))
    )
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposals_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_proposals_search_vector', ['search_vector'], unique=False, postgresql_using='gin')
        batch_op.create_index(batch_op.f('ix_proposals_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_support_count'), ['support_count'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_support_deadline'), ['support_deadline'], unique=False)

    op.create_table('comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('root_id', sa.Integer(), nullable=True),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body_source', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('stance', sa.Enum('in_favour', 'against', 'neutral', name='stance', native_enum=False, length=20), nullable=True),
    sa.Column('status', sa.Enum('visible', 'pending', 'hidden', 'removed', 'deleted', name='commentstatus', native_enum=False, length=20), nullable=False),
    sa.Column('hidden_reason', sa.String(length=500), nullable=True),
    sa.Column('moderation_version', sa.Integer(), nullable=False),
    sa.Column('created_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('edited_at', civicforum.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('upvotes', sa.Integer(), nullable=False),
    sa.Column('downvotes', sa.Integer(), nullable=False),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('reply_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_comments_author_id_users')),
    sa.ForeignKeyConstraint(['parent_id'], ['comments.id'], name=op.f('fk_comments_parent_id_comments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_comments_proposal_id_proposals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id'], ['comments.id'], name=op.f('fk_comments_root_id_comments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comments'))
    )
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comments_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_comments_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index('ix_comments_proposal_id_depth', ['proposal_id', 'depth'], unique=False)
        batch_op.create_index('ix_comments_root_id_depth', ['root_id', 'depth'], unique=False)

    op.create_table('proposal_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('title', sa.String(length=150), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('body_source', sa.Text(), nullable=False),
    sa.Column('category_name', sa.String(length=80), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_proposal_revisions_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_revisions_proposal_id_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_revisions')),
    sa.UniqueConstraint('proposal_id', 'number', name=op.f('uq_proposal_revisions_proposal_id_number'))
    )
    with op.batch_alter_table('proposal_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_revisions_proposal_id'), ['proposal_id'], unique=False)

    op.create_table('proposal_tags',
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_tags_proposal_id_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('proposal_id', 'tag', name=op.f('pk_proposal_tags'))
    )
    with op.batch_alter_table('proposal_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_tags_tag'), ['tag'], unique=False)

    op.create_table('proposal_transitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('from_state', sa.Enum('draft', 'published', 'qualified', 'on_ballot', 'adopted', 'rejected', 'withdrawn', 'archived', name='proposalstate', native_enum=False, length=20), nullable=True),
    sa.Column('to_state', sa.Enum('draft', 'published', 'qualified', 'on_ballot', 'adopted', 'rejected', 'withdrawn', 'archived', name='proposalstate', native_enum=False, length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_proposal_transitions_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_transitions_proposal_id_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_transitions'))
    )
    with op.batch_alter_table('proposal_transitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_transitions_proposal_id'), ['proposal_id'], unique=False)

    op.create_table('supports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_supports_proposal_id_proposals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_supports_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supports')),
    sa.UniqueConstraint('proposal_id', 'user_id', name=op.f('uq_supports_proposal_id_user_id'))
    )
    with op.batch_alter_table('supports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supports_user_id'), ['user_id'], unique=False)

    op.create_table('comment_edits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('body_source', sa.Text(), nullable=False),
    sa.Column('written_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('replaced_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], name=op.f('fk_comment_edits_comment_id_comments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comment_edits'))
    )
    with op.batch_alter_table('comment_edits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comment_edits_comment_id'), ['comment_id'], unique=False)

    op.create_table('comment_votes',
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('created_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], name=op.f('fk_comment_votes_comment_id_comments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_comment_votes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('comment_id', 'user_id', name=op.f('pk_comment_votes'))
    )
    with op.batch_alter_table('comment_votes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comment_votes_user_id'), ['user_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('comment_reply', 'proposal_comment', 'proposal_state', name='notificationkind', native_enum=False, length=30), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=True),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', civicforum.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('emailed_at', civicforum.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_notifications_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], name=op.f('fk_notifications_comment_id_comments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_notifications_proposal_id_proposals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_id_read_at', ['user_id', 'read_at'], unique=False)

    _create_search(op.get_bind().dialect.name)


def downgrade():
    _drop_search(op.get_bind().dialect.name)
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_id_read_at')

    op.drop_table('notifications')
    with op.batch_alter_table('comment_votes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comment_votes_user_id'))

    op.drop_table('comment_votes')
    with op.batch_alter_table('comment_edits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comment_edits_comment_id'))

    op.drop_table('comment_edits')
    with op.batch_alter_table('supports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supports_user_id'))

    op.drop_table('supports')
    with op.batch_alter_table('proposal_transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_transitions_proposal_id'))

    op.drop_table('proposal_transitions')
    with op.batch_alter_table('proposal_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_tags_tag'))

    op.drop_table('proposal_tags')
    with op.batch_alter_table('proposal_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_revisions_proposal_id'))

    op.drop_table('proposal_revisions')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ix_comments_root_id_depth')
        batch_op.drop_index('ix_comments_proposal_id_depth')
        batch_op.drop_index(batch_op.f('ix_comments_parent_id'))
        batch_op.drop_index(batch_op.f('ix_comments_author_id'))

    op.drop_table('comments')
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposals_support_deadline'))
        batch_op.drop_index(batch_op.f('ix_proposals_support_count'))
        batch_op.drop_index(batch_op.f('ix_proposals_state'))
        batch_op.drop_index('ix_proposals_search_vector', postgresql_using='gin')
        batch_op.drop_index(batch_op.f('ix_proposals_created_at'))
        batch_op.drop_index(batch_op.f('ix_proposals_category_id'))
        batch_op.drop_index(batch_op.f('ix_proposals_author_id'))

    op.drop_table('proposals')
    op.drop_table('notification_settings')
    op.drop_table('proposal_categories')
