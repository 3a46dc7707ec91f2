"""Alembic environment: uses a connection handed in by store.migrate, or SHOPDESK_DATABASE_URL."""

from alembic import context

import console.models  # noqa: F401  (registers the agent console's tables on Base.metadata)
import store.attachments  # (registers the attachments table on Base.metadata)
import store.customer_conversations  # (registers the customer conversations table)
import store.security  # noqa: F401  (registers the throttle and revocation tables on Base.metadata)
import training.tables  # noqa: F401  (registers the training loop's tables on Base.metadata)
from store.db import make_engine
from store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    from store.db import database_url

    context.configure(url=database_url(), target_metadata=target_metadata, render_as_batch=True,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    with make_engine().connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
