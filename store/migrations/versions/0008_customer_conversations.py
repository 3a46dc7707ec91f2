"""customer conversations: a verified customer's conversations, for their history on every device

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 01:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customer_conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=255), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('customer_conversations', schema=None) as batch_op:
        batch_op.create_index('ux_customer_conversations', ['customer_id', 'conversation_id'], unique=True)
        batch_op.create_index('ix_customer_conversations_recent', ['customer_id', 'last_seen_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('customer_conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_conversations_recent')
        batch_op.drop_index('ux_customer_conversations')
    op.drop_table('customer_conversations')
