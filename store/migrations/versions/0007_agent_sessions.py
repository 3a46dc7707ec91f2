"""agent management: a session epoch per console account (console/models.py), bumped when an admin disables
the account or resets its password, so every session signed in before ends on its next request

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 01:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('console_agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('console_agents', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
