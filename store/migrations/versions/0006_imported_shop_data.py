"""imported shop data: free-form SKUs up to 64 characters; shipments whose carrier, tracking number or dates
the shop's export does not give

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.alter_column('sku', existing_type=sa.String(length=32), type_=sa.String(length=64),
                              existing_nullable=False)
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.alter_column('carrier', existing_type=sa.String(length=40), nullable=True)
        batch_op.alter_column('tracking_number', existing_type=sa.String(length=40), type_=sa.String(length=64),
                              nullable=True)
        batch_op.alter_column('shipped_at', existing_type=sa.DateTime(), nullable=True)
        batch_op.alter_column('estimated_delivery', existing_type=sa.DateTime(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.alter_column('estimated_delivery', existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column('shipped_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column('tracking_number', existing_type=sa.String(length=64), type_=sa.String(length=40),
                              nullable=False)
        batch_op.alter_column('carrier', existing_type=sa.String(length=40), nullable=False)
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.alter_column('sku', existing_type=sa.String(length=64), type_=sa.String(length=32),
                              existing_nullable=False)
