"""ledger sequencer: pending vote-log entries; a cast's log index is filled in when sequenced

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 15:00:00

`ledger_pending` holds entries committed with their vote but not yet appended to the log
(docs/ledger.md §2.2): a bundle of canonical entries per row, no voter, deleted when the
sequencer appends it. `ballot_casts.log_index` becomes nullable because a cast committed as
pending learns its index only then. Older code keeps working against this schema (it never
writes pending rows and always sets the index). Downgrading needs an empty `ledger_pending`:
run `civicforum ledger sequence` first.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ledger_pending',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('log', sa.String(length=16), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_pending'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        # Every row is deleted within milliseconds: vacuum the dead ones often, so the
        # sequencer's scan stays a few pages long under sustained voting.
        op.execute(
            'ALTER TABLE ledger_pending SET (autovacuum_vacuum_scale_factor = 0, '
            'autovacuum_vacuum_threshold = 1000)'
        )
    with op.batch_alter_table('ballot_casts', schema=None) as batch_op:
        batch_op.alter_column('log_index', existing_type=sa.Integer(), nullable=True)


def downgrade():
    with op.batch_alter_table('ballot_casts', schema=None) as batch_op:
        batch_op.alter_column('log_index', existing_type=sa.Integer(), nullable=False)
    op.drop_table('ledger_pending')
