"""ballot links: drop log_index (the cast row's index is the one the receipt uses)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 16:20:00

The sequencer filled in the index of a pending cast on two rows, the cast and the voter's
link. Updating the link row under the log head could deadlock with a vote change holding
that row, and needed a scan of the ballot's links by tracker. The cast row (primary key
ballot, tracker) has the same index. Code from before this revision writes the column: stop
its workers before upgrading.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ballot_voter_links', schema=None) as batch_op:
        batch_op.drop_column('log_index')


def downgrade():
    with op.batch_alter_table('ballot_voter_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('log_index', sa.Integer(), nullable=True))
    op.execute(
        'UPDATE ballot_voter_links SET log_index = (SELECT c.log_index FROM ballot_casts c '
        'WHERE c.ballot_id = ballot_voter_links.ballot_id '
        'AND c.tracker = ballot_voter_links.tracker)'
    )
