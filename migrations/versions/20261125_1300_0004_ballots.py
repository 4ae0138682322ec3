"""ballots: definitions, options, open-period voter links, participation roll, casts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 13:00:00

"""
from alembic import op
import sqlalchemy as sa

import civicforum.db


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ballots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('max_approvals', sa.Integer(), nullable=True),
    sa.Column('opens_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closes_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('eligibility', sa.String(length=20), nullable=False),
    sa.Column('eligibility_role', sa.String(length=20), nullable=True),
    sa.Column('secret', sa.Boolean(), nullable=False),
    sa.Column('vote_changes', sa.Boolean(), nullable=False),
    sa.Column('results_hidden', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('opened_index', sa.Integer(), nullable=True),
    sa.Column('closed_at', civicforum.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_index', sa.Integer(), nullable=True),
    sa.Column('cast_count', sa.Integer(), nullable=True),
    sa.Column('superseded_count', sa.Integer(), nullable=True),
    sa.Column('counted_count', sa.Integer(), nullable=True),
    sa.Column('result_json', sa.Text(), nullable=True),
    sa.Column('result_sha256', sa.String(length=64), nullable=True),
    sa.Column('seed_size', sa.Integer(), nullable=True),
    sa.Column('seed_root', sa.String(length=64), nullable=True),
    sa.Column('result_index', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', civicforum.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_ballots_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballots'))
    )
    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ballots_closes_at'), ['closes_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ballots_status'), ['status'], unique=False)

    op.create_table('ballot_options',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ballot_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=16), nullable=False),
    sa.Column('label', sa.String(length=500), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['ballot_id'], ['ballots.id'], name=op.f('fk_ballot_options_ballot_id_ballots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_ballot_options_proposal_id_proposals'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_options')),
    sa.UniqueConstraint('ballot_id', 'key', name=op.f('uq_ballot_options_ballot_id_key')),
    sa.UniqueConstraint('ballot_id', 'position', name=op.f('uq_ballot_options_ballot_id_position'))
    )
    with op.batch_alter_table('ballot_options', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ballot_options_proposal_id'), ['proposal_id'], unique=False)

    # Voter <-> tracker, only while the ballot is open: closing deletes the rows.
    op.create_table('ballot_voter_links',
    sa.Column('ballot_id', sa.Integer(), nullable=False),
    sa.Column('voter_id', sa.Integer(), nullable=False),
    sa.Column('tracker', sa.String(length=32), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['ballot_id'], ['ballots.id'], name=op.f('fk_ballot_voter_links_ballot_id_ballots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voter_id'], ['users.id'], name=op.f('fk_ballot_voter_links_voter_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ballot_id', 'voter_id', name=op.f('pk_ballot_voter_links'))
    )
    # The participation roll: who, never how, when or in which order (no rowid on SQLite).
    op.create_table('ballot_participations',
    sa.Column('ballot_id', sa.Integer(), nullable=False),
    sa.Column('voter_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ballot_id'], ['ballots.id'], name=op.f('fk_ballot_participations_ballot_id_ballots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voter_id'], ['users.id'], name=op.f('fk_ballot_participations_voter_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ballot_id', 'voter_id', name=op.f('pk_ballot_participations')),
    sqlite_with_rowid=False
    )
    op.create_table('ballot_casts',
    sa.Column('ballot_id', sa.Integer(), nullable=False),
    sa.Column('tracker', sa.String(length=32), nullable=False),
    sa.Column('choice', sa.JSON(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('superseded', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['ballot_id'], ['ballots.id'], name=op.f('fk_ballot_casts_ballot_id_ballots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ballot_id', 'tracker', name=op.f('pk_ballot_casts')),
    sa.UniqueConstraint('log_index', name=op.f('uq_ballot_casts_log_index'))
    )
    with op.batch_alter_table('ballot_casts', schema=None) as batch_op:
        batch_op.create_index('ix_ballot_casts_ballot_live', ['ballot_id', 'superseded'], unique=False)


def downgrade():
    with op.batch_alter_table('ballot_casts', schema=None) as batch_op:
        batch_op.drop_index('ix_ballot_casts_ballot_live')
    op.drop_table('ballot_casts')
    op.drop_table('ballot_participations')
    op.drop_table('ballot_voter_links')
    with op.batch_alter_table('ballot_options', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ballot_options_proposal_id'))
    op.drop_table('ballot_options')
    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ballots_status'))
        batch_op.drop_index(batch_op.f('ix_ballots_closes_at'))
    op.drop_table('ballots')
