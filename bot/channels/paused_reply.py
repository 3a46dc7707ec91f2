"""The reply to a message the bot stays silent on because the conversation waits for a person.

While a handoff is paused (an agent is online, nobody has joined yet) Rasa records the customer's messages
and answers nothing, so the customer would be left wondering whether anyone got them. The channels call
`PausedReplies.acknowledgement` when Rasa produced no reply at all: for a conversation still waiting in the
queue it is a short "passed to the team, you're number N" note; once an agent has claimed it there is none
(the agent answers). Nothing here changes the conversation.

Reads the console's `handoffs` and `console_agents` tables in the store database directly, with the
SQLAlchemy that Rasa ships (1.4), through bot/channels/store_reader.py: SHOPDESK_DATABASE_URL, else the
embedded profile's var/shop.db. Any error means no acknowledgement (never a failed message).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from bot.channels.store_reader import StoreReader
from shop_profile import current_profile
from shop_profile.wording import office_hours

logger = logging.getLogger(__name__)

ONLINE_WINDOW = timedelta(seconds=45)  # console.handoffs.ONLINE_WINDOW
OPEN_HANDOFF = ("SELECT id, status FROM handoffs WHERE conversation_id = :cid AND status IN ('waiting', 'claimed') "
                "ORDER BY id DESC")
POSITION = "SELECT COUNT(*) FROM handoffs WHERE status = 'waiting' AND id <= :id"
ONLINE = "SELECT COUNT(*) FROM console_agents WHERE active = :yes AND last_seen_at >= :since"


def acknowledgement_text(position: int, agents_online: int) -> str:
    if agents_online == 0:
        return ("Thanks, I've added this to your message for our customer service team. No one is online right "
                f"now; they're available {office_hours(current_profile().office_hours)} and will reply here as "
                "soon as they're back.")
    place = "next in line" if position <= 1 else f"number {position} in the queue"
    return (f"Thanks, your message has been passed to our customer service team. You're {place}; someone will "
            "be with you shortly.")


class PausedReplies(StoreReader):
    def acknowledgement_sync(self, conversation_id: str) -> str | None:
        from sqlalchemy import DateTime, bindparam, text

        try:
            with self._engine_or_create().connect() as connection:
                row = connection.execute(text(OPEN_HANDOFF), {"cid": conversation_id}).first()
                if row is None or row[1] != "waiting":
                    return None  # not waiting for a person (or an agent is already chatting)
                position = connection.execute(text(POSITION), {"id": row[0]}).scalar() or 0
                since = datetime.now(timezone.utc).replace(tzinfo=None) - ONLINE_WINDOW
                online = connection.execute(text(ONLINE).bindparams(bindparam("since", type_=DateTime)),
                                            {"yes": True, "since": since}).scalar() or 0
        except Exception:
            logger.exception("cannot read the handoff queue for %s; no acknowledgement", conversation_id)
            return None
        return acknowledgement_text(int(position), int(online))

    async def acknowledgement(self, conversation_id: str) -> str | None:
        return await asyncio.to_thread(self.acknowledgement_sync, conversation_id)


async def acknowledge_if_silent(replies: PausedReplies, message: Any) -> None:
    """After Rasa handled `message`: if it said nothing and the conversation waits for a person, say so."""
    output = message.output_channel
    sent = getattr(output, "messages", None)
    if sent is None:
        sent = getattr(output, "sent", None)
    if sent is None or sent:  # an output channel that can't tell, or the bot (or an agent) answered
        return
    text = await replies.acknowledgement(message.sender_id)
    if text:
        await output.send_text_message(message.sender_id, text)
