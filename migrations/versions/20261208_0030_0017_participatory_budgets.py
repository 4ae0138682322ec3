"""participatory budgets: budgets, their projects, budget ballots

Revision ID: 0017
Revises: 0012
Create Date: 2026-12-08 00:30:00

* ``budgets`` and ``budget_projects``: the amount, the vote type and allocation rule, the
  projects with their requested and confirmed costs and feasibility review.
* ``ballots.budget_rules``: a budget ballot's rules as published in ``ballot.opened``;
  ``ballot_options.cost``: a project's cost (exact decimal strings). Both stay empty on other
  ballots, so the previous code keeps working beside these columns.
"""
from alembic import op
import sqlalchemy as sa

from civicforum.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('budget_rules', sa.Text(), nullable=True))
    with op.batch_alter_table('ballot_options', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cost', sa.String(length=24), nullable=True))

    op.create_table(
        'budgets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('amount', sa.String(length=24), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('period', sa.String(length=100), nullable=False),
        sa.Column('area', sa.String(length=200), nullable=False),
        sa.Column('vote_type', sa.String(length=16), nullable=False),
        sa.Column('rule', sa.String(length=40), nullable=False),
        sa.Column('min_projects', sa.Integer(), nullable=True),
        sa.Column('max_projects', sa.Integer(), nullable=True),
        sa.Column('cost_limit', sa.Boolean(), nullable=False),
        sa.Column('max_points', sa.Integer(), nullable=True),
        sa.Column('total_points', sa.Integer(), nullable=True),
        sa.Column('ballot_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['ballot_id'], ['ballots.id'], name=op.f('fk_budgets_ballot_id_ballots'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_budgets_created_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_budgets')),
    )
    with op.batch_alter_table('budgets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_budgets_ballot_id'), ['ballot_id'], unique=False)

    op.create_table(
        'budget_projects',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('budget_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('category', sa.String(length=100), nullable=False),
        sa.Column('location', sa.String(length=200), nullable=False),
        sa.Column('requested_cost', sa.String(length=24), nullable=True),
        sa.Column('proposal_id', sa.Integer(), nullable=True),
        sa.Column('feasibility', sa.String(length=16), nullable=False),
        sa.Column('cost', sa.String(length=24), nullable=True),
        sa.Column('feasibility_reason', sa.Text(), nullable=False),
        sa.Column('reviewed_at', UTCDateTime(), nullable=True),
        sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
        sa.Column('option_key', sa.String(length=16), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['budget_id'], ['budgets.id'], name=op.f('fk_budget_projects_budget_id_budgets'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_budget_projects_proposal_id_proposals'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_budget_projects_reviewed_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_projects')),
        sa.UniqueConstraint('budget_id', 'proposal_id', name=op.f('uq_budget_projects_budget_id_proposal_id')),
    )
    with op.batch_alter_table('budget_projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_budget_projects_proposal_id'), ['proposal_id'], unique=False)


def downgrade():
    op.drop_table('budget_projects')
    op.drop_table('budgets')
    with op.batch_alter_table('ballot_options', schema=None) as batch_op:
        batch_op.drop_column('cost')
    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.drop_column('budget_rules')
