"""proposals_deliberation (placeholder, filled by its feature)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:00:00

"""
from alembic import op
import sqlalchemy as sa

import civicforum.db


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
