"""canned replies name the shop through the profile's placeholders: the seeded greeting says {shop_name}, the
refund timing {refund_time} (console/operations.py fills them from shop.yml when the console shows them)

Only rows that still hold the text 0003 seeded are rewritten: a reply the shop has edited is its own.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 02:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# (title, the text 0003 seeded, the text with placeholders)
REWRITTEN = [
    ("Greeting",
     "Hi, this is the ShopDesk customer service team. Thanks for waiting, I'm looking at your conversation now.",
     "Hi, this is the {shop_name} customer service team. Thanks for waiting, I'm looking at your conversation now."),
    ("Refund timing",
     "Once we've received the return, the refund goes back to your original payment method within 3–5 business "
     "days.",
     "Once we've received the return, the refund goes back to your original payment method within {refund_time}."),
]
CANNED = sa.table('canned_replies', sa.column('title', sa.String), sa.column('text', sa.Text))


def _rewrite(pairs: list[tuple[str, str, str]]) -> None:
    for title, old, new in pairs:
        op.execute(CANNED.update().where(CANNED.c.title == title, CANNED.c.text == old).values(text=new))


def upgrade() -> None:
    _rewrite(REWRITTEN)


def downgrade() -> None:
    _rewrite([(title, new, old) for title, old, new in REWRITTEN])
