"""page cache: one-row data version of public pages

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 15:10:00

Bumped in the same transaction as every write that changes a public page
(civicforum/web/cache.py). The first value is the migration time in milliseconds, so a
database created again never reuses a version a shared (Redis) page cache may still hold.
"""
import time

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('page_versions',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_page_versions'))
    )
    op.bulk_insert(table, [{'id': 1, 'value': int(time.time() * 1000)}])


def downgrade():
    op.drop_table('page_versions')
