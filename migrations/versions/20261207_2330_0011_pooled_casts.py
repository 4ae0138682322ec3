"""ballot secrecy: pooled casts, signed promises, the electorate fixed at opening

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 23:30:00

* ``ballot_casts`` is dropped: results are counted from the signed vote log itself, and a
  copy of every cast written in arrival order kept the voting order in the database.
* ``ledger_pending`` becomes the mixing pool: each row gets its mix group (a ballot) and the
  minute it was queued (docs/ledger.md §2.2).
* ``ledger_checkpoints.signed_at`` is dropped: a vote-log checkpoint is signed by the batch it
  covers, and its time dated that batch's ballots.
* ``ledger_entries`` gets an index by leaf hash: a voter's signed promise names the leaf.
* ``ballot_voter_links`` keeps the current receipt's key and the trackers vote changes
  replaced (marked superseded at closing); ``ballot_receipts`` keeps each cast's receipt under
  its one-time cast token; ``ballots`` keeps the electorate commitment published at opening,
  and ``ballot_electors`` the members it covers.

Upgrade with the workers stopped: the old code writes ``signed_at`` and ``ballot_casts``.
Run ``civicforum ledger sequence`` with the old code first, so no old-style pending row is
left (one left over is appended by the first batch, as overdue). Ballots open during the
upgrade keep counting correctly: their vote changes made since are marked at closing, which
the auditor accepts for ballots opened before (docs/ledger.md §1.3). Downgrading recreates an
empty ``ballot_casts``: do it only with no ballot open.
"""
from alembic import op
import sqlalchemy as sa

from civicforum.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ballot_casts', schema=None) as batch_op:
        batch_op.drop_index('ix_ballot_casts_ballot_live')
    op.drop_table('ballot_casts')

    with op.batch_alter_table('ledger_pending', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grp', sa.String(length=64), server_default='', nullable=False))
        batch_op.add_column(sa.Column('queued_at', UTCDateTime(), nullable=True))
    with op.batch_alter_table('ledger_checkpoints', schema=None) as batch_op:
        batch_op.drop_column('signed_at')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_leaf', ['log', 'leaf_hash'], unique=False)

    with op.batch_alter_table('ballot_voter_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('superseded', sa.Text(), server_default='', nullable=False))
    op.create_table(
        'ballot_receipts',
        sa.Column('token_key', sa.String(length=64), nullable=False),
        sa.Column('ballot_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ['ballot_id'], ['ballots.id'],
            name=op.f('fk_ballot_receipts_ballot_id_ballots'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('token_key', name=op.f('pk_ballot_receipts')),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table('ballot_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ballot_receipts_ballot_id'), ['ballot_id'], unique=False)
    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('electorate_size', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('electorate_root', sa.String(length=64), nullable=True))
    op.create_table(
        'ballot_electors',
        sa.Column('ballot_id', sa.Integer(), nullable=False),
        sa.Column('voter_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['ballot_id'], ['ballots.id'],
            name=op.f('fk_ballot_electors_ballot_id_ballots'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['voter_id'], ['users.id'],
            name=op.f('fk_ballot_electors_voter_id_users'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('ballot_id', 'voter_id', name=op.f('pk_ballot_electors')),
        sqlite_with_rowid=False,
    )


def downgrade():
    op.drop_table('ballot_electors')
    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.drop_column('electorate_root')
        batch_op.drop_column('electorate_size')
    with op.batch_alter_table('ballot_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ballot_receipts_ballot_id'))
    op.drop_table('ballot_receipts')
    with op.batch_alter_table('ballot_voter_links', schema=None) as batch_op:
        batch_op.drop_column('superseded')
        batch_op.drop_column('receipt_key')

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_leaf')
    with op.batch_alter_table('ledger_checkpoints', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('signed_at', UTCDateTime(), nullable=False, server_default=sa.func.now())
        )
    with op.batch_alter_table('ledger_pending', schema=None) as batch_op:
        batch_op.drop_column('queued_at')
        batch_op.drop_column('grp')

    op.create_table(
        'ballot_casts',
        sa.Column('ballot_id', sa.Integer(), nullable=False),
        sa.Column('tracker', sa.String(length=32), nullable=False),
        sa.Column('choice', sa.JSON(), nullable=False),
        sa.Column('log_index', sa.Integer(), nullable=True),
        sa.Column('superseded', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['ballot_id'], ['ballots.id'], name=op.f('fk_ballot_casts_ballot_id_ballots'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ballot_id', 'tracker', name=op.f('pk_ballot_casts')),
        sa.UniqueConstraint('log_index', name=op.f('uq_ballot_casts_log_index')),
    )
    with op.batch_alter_table('ballot_casts', schema=None) as batch_op:
        batch_op.create_index('ix_ballot_casts_ballot_live', ['ballot_id', 'superseded'], unique=False)
