"""Rasa's REST channel for a shop's own backend: authenticated, validated, in its own conversation space.

Same URL and response as Rasa's `rest` channel (POST /webhooks/shopdesk_rest/webhook, answered with the
list of bot messages), with what a channel reachable over HTTP needs:
- only the shop's backend may call it: `Authorization: Bearer $SHOPDESK_REST_TOKEN` (401 otherwise; 503
  while no token is configured), because whoever can post here speaks as any of its senders;
- its conversations are `rest:<sender>`, so no caller can address a web-chat (32-hex) or `webhook:`
  conversation by choosing a sender;
- the body is validated (bot/channels/validation.py): bad JSON, wrong types, unstorable text or oversized
  messages get a 400 with a clear JSON error and never reach Rasa;
- `metadata` is passed on (Rasa's drops it): shops send a signed customer token bound to the conversation
  (`{"customer_token": ...}`); `metadata["shopdesk_client"]` is set here, only from the `X-ShopDesk-Client`
  header the authenticated backend sends (its customer's address). The caller's own IP address is the shop's
  backend, shared by all its customers: throttling identity checks by it would let any three failures pause
  every customer, so without the header the throttle counts by email, order number and conversation only.
- a message Rasa answers with nothing because the conversation waits for a person gets a short "passed to
  the team, you're number N" acknowledgement (bot/channels/paused_reply.py), never an empty reply.
"""

from __future__ import annotations

import contextvars
import hmac
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.paused_reply import PausedReplies, acknowledge_if_silent
from bot.channels.validation import (
    InvalidRequest,
    check_client_identity,
    check_message,
    check_metadata,
    check_sender,
    parse_json_object,
)

logger = logging.getLogger(__name__)

CONVERSATION_PREFIX = "rest:"
TOKEN_ENV = "SHOPDESK_REST_TOKEN"
CLIENT_HEADER = "X-ShopDesk-Client"
CLIENT_KEY = "shopdesk_client"
MIN_TOKEN_CHARS = 16

# The request being handled, so a failure inside Rasa can turn its `200 []` into a clear 500.
_current: contextvars.ContextVar[Any] = contextvars.ContextVar("shopdesk_rest_request", default=None)


def conversation_id(sender: str) -> str:
    """The conversation a REST sender talks in: never another channel's."""
    return CONVERSATION_PREFIX + sender


class RestWithMetadata(RestInput):
    @classmethod
    def name(cls) -> str:
        return "shopdesk_rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(token=credentials.get("token") or os.environ.get(TOKEN_ENV, ""))

    def __init__(self, token: str | None = None) -> None:
        self.token = token if token is not None else os.environ.get(TOKEN_ENV, "")
        self.paused_replies = PausedReplies()
        if not self.enabled:
            logger.error("%s: no token of at least %s characters configured (%s); the REST channel is disabled",
                         self.name(), MIN_TOKEN_CHARS, TOKEN_ENV)

    @property
    def enabled(self) -> bool:
        return len(self.token or "") >= MIN_TOKEN_CHARS

    # -- admission: authentication and validation, before Rasa's handler runs --------------------------

    def authenticate(self, request: Request) -> None:
        if not self.enabled:
            raise InvalidRequest("REST channel disabled: no SHOPDESK_REST_TOKEN is configured", status=503)
        scheme, _, given = (request.headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise InvalidRequest("missing `Authorization: Bearer <token>` header", status=401)
        if not hmac.compare_digest(given.strip().encode("utf-8", "replace"), self.token.encode("utf-8")):
            raise InvalidRequest("invalid token", status=401)

    def admit(self, request: Request) -> dict[str, Any]:
        """The validated message (conversation id, text, metadata); InvalidRequest for anything else."""
        self.authenticate(request)
        body = parse_json_object(request.body)
        sender = check_sender(body.get("sender"))
        text = check_message(body.get("message"))
        metadata = check_metadata(body.get("metadata"))
        metadata.pop(CLIENT_KEY, None)  # only the authenticated backend names its customer's client
        client = check_client_identity(request.headers.get(CLIENT_HEADER))
        if client:
            metadata[CLIENT_KEY] = client
        return {"sender": conversation_id(sender), "text": text, "metadata": metadata, "failed": False}

    # -- RestInput's hooks read the admitted message, never the raw body -------------------------------

    async def _extract_sender(self, req: Request) -> str:
        return req.ctx.shopdesk_rest["sender"]

    def _extract_message(self, req: Request) -> str:
        return req.ctx.shopdesk_rest["text"]

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()  # a caller may not pose as another channel

    def get_metadata(self, request: Request) -> dict[str, Any]:
        return request.ctx.shopdesk_rest["metadata"]

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def noting_failures(message: UserMessage) -> None:
            try:
                await on_new_message(message)
            except Exception:
                admitted = _current.get()
                if admitted is not None:
                    admitted["failed"] = True
                raise  # Rasa's handler logs it
            await acknowledge_if_silent(self.paused_replies, message)

        hook = super().blueprint(noting_failures)

        @hook.middleware("request")
        async def admit(request: Request) -> HTTPResponse | None:
            if request.method != "POST" or not request.path.rstrip("/").endswith("/webhook"):
                return None
            try:
                request.ctx.shopdesk_rest = self.admit(request)
            except InvalidRequest as exc:
                headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
                return response.json({"error": str(exc)}, status=exc.status, headers=headers)
            _current.set(request.ctx.shopdesk_rest)
            return None

        @hook.middleware("response")
        async def failed(request: Request, _: HTTPResponse) -> HTTPResponse | None:
            admitted = getattr(request.ctx, "shopdesk_rest", None)
            if admitted and admitted["failed"]:
                return response.json({"error": "the assistant failed to answer; try again"}, status=500)
            return None

        return hook
