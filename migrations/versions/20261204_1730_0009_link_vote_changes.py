"""ballot links: count each voter's vote changes (a cap per ballot)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 17:30:00

Every vote change appends two entries to a log that never shrinks, so a voter's changes in a
ballot are capped (ballots.validation.MAX_VOTE_CHANGES). The count lives on the link row,
which the change already locks and rewrites, and is deleted with it at closing.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ballot_voter_links', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('changes', sa.Integer(), server_default='0', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('ballot_voter_links', schema=None) as batch_op:
        batch_op.drop_column('changes')
