"""The REST channel of the scale-out profile: conversation ids in every log line, and a graceful answer
instead of silence when the message cannot be processed at all.

Same URL, payload, bearer-token authentication, validation and `rest:` conversation ids as
bot.channels.rest.RestWithMetadata (/webhooks/shopdesk_rest/webhook, metadata with a signed customer
token). Two additions, both for running many instances:
- the conversation id is bound to structlog's context for the whole request, so Rasa's JSON log lines
  (printed when stdout is not a terminal) carry `conversation_id`;
- when Rasa cannot take the message in (lock store or tracker store unreachable), Rasa's REST channel
  logs the error and returns an empty list; here the customer gets "temporarily unavailable, please send
  it again" with a human offer. Nothing was stored for that message, so nothing is lost or half-done.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from rasa.core.channels.channel import UserMessage
from sanic import Blueprint

from bot.channels.rest import RestWithMetadata

logger = structlog.get_logger(__name__)
# Rasa sets the level of its own "rasa" logger only; ours follows the same LOG_LEVEL.
logging.getLogger(__name__).setLevel(os.environ.get("LOG_LEVEL", "INFO"))

UNAVAILABLE_TEXT = ("Sorry, I'm having trouble reaching our systems right now, so I couldn't take that in. "
                    "Please send it again in a moment, or I can connect you with a person.")
HUMAN_BUTTON = {"title": "Talk to a person", "payload": "/contact_human_agent"}


class ResilientRest(RestWithMetadata):
    @classmethod
    def name(cls) -> str:
        return "shopdesk_rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def guarded(message: UserMessage) -> None:
            structlog.contextvars.bind_contextvars(conversation_id=message.sender_id)
            began = time.perf_counter()
            try:
                await on_new_message(message)
                logger.info("scaleout.message.handled", conversation_id=message.sender_id,
                            duration_ms=round((time.perf_counter() - began) * 1000, 1))
            except Exception:
                logger.exception("scaleout.message.not_processed", conversation_id=message.sender_id)
                await message.output_channel.send_text_with_buttons(
                    message.sender_id, UNAVAILABLE_TEXT, [HUMAN_BUTTON])
            finally:
                structlog.contextvars.unbind_contextvars("conversation_id")

        return super().blueprint(guarded)
