"""agent console: agents, handoffs (the human queue) and canned replies (console/models.py)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 12:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('waiting', 'claimed')")

CANNED = [
    ("Greeting", "Hi, this is the ShopDesk customer service team. Thanks for waiting, I'm looking at your "
                 "conversation now."),
    ("Checking", "Thanks! Give me a moment while I check that for you."),
    ("Order number", "Could you tell me your order number? You'll find it in your order confirmation email."),
    ("Refund timing", "Once we've received the return, the refund goes back to your original payment method "
                      "within 3–5 business days."),
    ("Anything else", "Is there anything else I can help you with?"),
    ("Back to assistant", "I'll hand you back to our assistant now. Just write here if you need us again."),
]


def upgrade() -> None:
    op.create_table('console_agents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=80), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('agent', 'admin', name='role', native_enum=False, length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('last_seen_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    op.create_table('handoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=255), nullable=False),
    sa.Column('status', sa.Enum('waiting', 'claimed', 'returned', 'closed', name='handoffstatus',
                                native_enum=False, length=20), nullable=False),
    sa.Column('reason', sa.Enum('requested', 'misses', 'sentiment', 'flow', name='handoffreason',
                                native_enum=False, length=20), nullable=False),
    sa.Column('reason_detail', sa.Text(), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('last_message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_by_id', sa.Integer(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['claimed_by_id'], ['console_agents.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.create_index('ux_handoffs_open_conversation', ['conversation_id'], unique=True,
                              sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.create_index('ix_handoffs_status_created', ['status', 'created_at'], unique=False)
    canned = op.create_table('canned_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=80), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('title')
    )
    op.bulk_insert(canned, [{"title": title, "text": text} for title, text in CANNED])


def downgrade() -> None:
    op.drop_table('canned_replies')
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index('ix_handoffs_status_created')
        batch_op.drop_index('ux_handoffs_open_conversation')
    op.drop_table('handoffs')
    op.drop_table('console_agents')
