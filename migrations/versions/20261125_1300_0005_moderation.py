"""moderation: flags, append-only action log, sanctions, appeals

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 13:00:00

Items are referenced as (item_type, item_id) without a foreign key, so the log outlives any
later change to the comment or proposal it names.
"""
from alembic import op
import sqlalchemy as sa

import civicforum.db


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('moderation_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('item_type', sa.String(length=20), nullable=True),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('target_user_id', sa.Integer(), nullable=True),
    sa.Column('reason_code', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('previous_state', sa.String(length=20), nullable=True),
    sa.Column('new_state', sa.String(length=20), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_moderation_actions_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['target_user_id'], ['users.id'], name=op.f('fk_moderation_actions_target_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_actions'))
    )
    with op.batch_alter_table('moderation_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moderation_actions_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_moderation_actions_at'), ['at'], unique=False)
        batch_op.create_index('ix_moderation_actions_item', ['item_type', 'item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_moderation_actions_target_user_id'), ['target_user_id'], unique=False)

    op.create_table('moderation_sanctions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('ends_at', civicforum.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lifted_at', civicforum.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lifted_by_id', sa.Integer(), nullable=True),
    sa.Column('seen_at', civicforum.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_moderation_sanctions_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lifted_by_id'], ['users.id'], name=op.f('fk_moderation_sanctions_lifted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_moderation_sanctions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_sanctions'))
    )
    with op.batch_alter_table('moderation_sanctions', schema=None) as batch_op:
        batch_op.create_index('ix_moderation_sanctions_user_kind', ['user_id', 'kind'], unique=False)

    op.create_table('moderation_appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_type', sa.String(length=20), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('appellant_id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', civicforum.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.String(length=500), nullable=True),
    sa.Column('seen_at', civicforum.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['moderation_actions.id'], name=op.f('fk_moderation_appeals_action_id_moderation_actions')),
    sa.ForeignKeyConstraint(['appellant_id'], ['users.id'], name=op.f('fk_moderation_appeals_appellant_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_moderation_appeals_decided_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_appeals')),
    sa.UniqueConstraint('item_type', 'item_id', 'appellant_id', name=op.f('uq_moderation_appeals_item_type_item_id_appellant_id'))
    )
    with op.batch_alter_table('moderation_appeals', schema=None) as batch_op:
        batch_op.create_index('ix_moderation_appeals_status', ['status'], unique=False)

    op.create_table('moderation_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_type', sa.String(length=20), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('flagger_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('details', sa.String(length=500), nullable=False),
    sa.Column('created_at', civicforum.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', civicforum.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_action_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['flagger_id'], ['users.id'], name=op.f('fk_moderation_flags_flagger_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_action_id'], ['moderation_actions.id'], name=op.f('fk_moderation_flags_resolved_by_action_id_moderation_actions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_flags')),
    sa.UniqueConstraint('item_type', 'item_id', 'flagger_id', name=op.f('uq_moderation_flags_item_type_item_id_flagger_id'))
    )
    with op.batch_alter_table('moderation_flags', schema=None) as batch_op:
        batch_op.create_index('ix_moderation_flags_flagger_created', ['flagger_id', 'created_at'], unique=False)
        batch_op.create_index('ix_moderation_flags_item', ['item_type', 'item_id'], unique=False)


def downgrade():
    with op.batch_alter_table('moderation_flags', schema=None) as batch_op:
        batch_op.drop_index('ix_moderation_flags_item')
        batch_op.drop_index('ix_moderation_flags_flagger_created')
    op.drop_table('moderation_flags')
    with op.batch_alter_table('moderation_appeals', schema=None) as batch_op:
        batch_op.drop_index('ix_moderation_appeals_status')
    op.drop_table('moderation_appeals')
    with op.batch_alter_table('moderation_sanctions', schema=None) as batch_op:
        batch_op.drop_index('ix_moderation_sanctions_user_kind')
    op.drop_table('moderation_sanctions')
    with op.batch_alter_table('moderation_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_moderation_actions_target_user_id'))
        batch_op.drop_index('ix_moderation_actions_item')
        batch_op.drop_index(batch_op.f('ix_moderation_actions_at'))
        batch_op.drop_index(batch_op.f('ix_moderation_actions_action'))
    op.drop_table('moderation_actions')
