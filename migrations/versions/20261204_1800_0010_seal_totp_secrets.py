"""users: TOTP secrets sealed at rest (accounts.sealing)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 18:00:00

The column holds Fernet ciphertext under a key derived from CIVICFORUM_TOTP_KEY or the secret
key, so a copy of the database does not carry every account's second factor. Existing
secrets are sealed here, with the key of the app running the upgrade.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

users = sa.table('users', sa.column('id', sa.Integer), sa.column('totp_secret', sa.String))


def _rewrite(change):
    conn = op.get_bind()
    rows = conn.execute(sa.select(users.c.id, users.c.totp_secret).where(
        users.c.totp_secret.is_not(None))).all()
    for user_id, value in rows:
        conn.execute(users.update().where(users.c.id == user_id).values(totp_secret=change(value)))


def upgrade():
    from civicforum.accounts import sealing

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=64),
                              type_=sa.String(length=255), existing_nullable=True)
    _rewrite(lambda value: value if value.startswith('f1:') else sealing.seal(value))


def downgrade():
    from civicforum.accounts import sealing

    _rewrite(lambda value: sealing.unseal(value) if value.startswith('f1:') else value)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=255),
                              type_=sa.String(length=64), existing_nullable=True)
