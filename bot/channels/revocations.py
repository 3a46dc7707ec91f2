"""Has the shop revoked (signed out of) a conversation? Asked by the socket.io channel before it joins one.

Reads the store database's `revoked_conversations` table (store/security.py) directly with the SQLAlchemy
that Rasa ships (1.4; the store package itself needs 2.x). The database is the one the action server uses:
SHOPDESK_DATABASE_URL, else the embedded profile's var/shop.db. Any error counts as revoked, so a session
token is never honoured unchecked (the client just gets a fresh conversation).
"""

from __future__ import annotations

import asyncio
import logging

from bot.channels.store_reader import StoreReader

logger = logging.getLogger(__name__)

QUERY = "SELECT 1 FROM revoked_conversations WHERE conversation_id = :cid"


class RevocationList(StoreReader):
    def is_revoked_sync(self, conversation_id: str) -> bool:
        from sqlalchemy import text

        try:
            with self._engine_or_create().connect() as connection:
                return connection.execute(text(QUERY), {"cid": conversation_id}).first() is not None
        except Exception:
            logger.exception("cannot read revoked conversations from the store database; refusing to resume")
            return True

    async def is_revoked(self, conversation_id: str) -> bool:
        return await asyncio.to_thread(self.is_revoked_sync, conversation_id)
