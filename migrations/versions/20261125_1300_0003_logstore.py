"""logstore: transparency-log heads, entries, nodes, checkpoints, witnesses, cosignatures

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 13:00:00

"""
from alembic import op
import sqlalchemy as sa

import civicforum.db


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    heads = op.create_table('ledger_heads',
    sa.Column('log', sa.String(length=16), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('frontier', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('log', name=op.f('pk_ledger_heads'))
    )
    # Both logs exist from the start, so appenders always find a head row to lock.
    op.bulk_insert(heads, [
        {'log': 'votes', 'size': 0, 'frontier': b''},
        {'log': 'civic', 'size': 0, 'frontier': b''},
    ])
    op.create_table('ledger_entries',
    sa.Column('log', sa.String(length=16), nullable=False),
    sa.Column('idx', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('leaf_hash', sa.LargeBinary(length=32), nullable=False),
    sa.PrimaryKeyConstraint('log', 'idx', name=op.f('pk_ledger_entries'))
    )
    op.create_table('ledger_nodes',
    sa.Column('log', sa.String(length=16), nullable=False),
    sa.Column('level', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('idx', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.LargeBinary(length=32), nullable=False),
    sa.PrimaryKeyConstraint('log', 'level', 'idx', name=op.f('pk_ledger_nodes'))
    )
    op.create_table('ledger_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('log', sa.String(length=16), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('root', sa.LargeBinary(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('signed_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_checkpoints')),
    sa.UniqueConstraint('log', 'size', name=op.f('uq_ledger_checkpoints_log_size'))
    )
    op.create_table('ledger_witnesses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('vkey', sa.String(length=400), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('added_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_ledger_witnesses_added_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_witnesses')),
    sa.UniqueConstraint('vkey', name=op.f('uq_ledger_witnesses_vkey'))
    )
    op.create_table('ledger_cosignatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('witness_id', sa.Integer(), nullable=False),
    sa.Column('line', sa.Text(), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('received_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['ledger_checkpoints.id'], name=op.f('fk_ledger_cosignatures_checkpoint_id_ledger_checkpoints'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['witness_id'], ['ledger_witnesses.id'], name=op.f('fk_ledger_cosignatures_witness_id_ledger_witnesses'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_cosignatures')),
    sa.UniqueConstraint('checkpoint_id', 'witness_id', name=op.f('uq_ledger_cosignatures_checkpoint_id_witness_id'))
    )
    with op.batch_alter_table('ledger_cosignatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_cosignatures_checkpoint_id'), ['checkpoint_id'], unique=False)

    op.create_table('ledger_verifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('sizes', sa.String(length=200), nullable=False),
    sa.Column('report', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_verifications'))
    )
    with op.batch_alter_table('ledger_verifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_verifications_at'), ['at'], unique=False)


def downgrade():
    with op.batch_alter_table('ledger_verifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_verifications_at'))
    op.drop_table('ledger_verifications')
    with op.batch_alter_table('ledger_cosignatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_cosignatures_checkpoint_id'))
    op.drop_table('ledger_cosignatures')
    op.drop_table('ledger_witnesses')
    op.drop_table('ledger_checkpoints')
    op.drop_table('ledger_nodes')
    op.drop_table('ledger_entries')
    op.drop_table('ledger_heads')
