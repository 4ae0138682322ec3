"""mail: the outgoing mail queue

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 23:00:00

Mail is queued in the transaction of the action that sends it and delivered outside the
request (civicforum/mail), so a reset answer takes as long for an unknown address as for a
registered one. Rows are deleted once sent: a body may hold a token.
"""
from alembic import op
import sqlalchemy as sa

import civicforum.db


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outgoing_mails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('not_before', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_mails'))
    )
    with op.batch_alter_table('outgoing_mails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outgoing_mails_not_before'), ['not_before'], unique=False)


def downgrade():
    with op.batch_alter_table('outgoing_mails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outgoing_mails_not_before'))

    op.drop_table('outgoing_mails')
