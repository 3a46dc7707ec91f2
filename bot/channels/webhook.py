"""A generic, signed webhook channel for any messaging backend (see docs/channels.md for the contract).

Why our own: Rasa's REST and callback channels accept anyone who can reach the port and send rich
messages as-is. A shop's messaging backend (a WhatsApp provider, an in-app chat, a CRM) needs requests
authenticated with a shared secret, replays refused, its users tied to shop customers, and answers it can
display: buttons, product cards and images are turned into text when the backend says it can't show them.

POST /webhooks/shopdesk_webhook/webhook with headers
    X-ShopDesk-Timestamp: unix seconds
    X-ShopDesk-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
Replies come back in the response (reply "sync") or are POSTed, signed the same way, to the configured
callback URL (reply "callback").

Replays are refused in every Rasa process alike: seen signatures and message ids are kept in the tracker
store's database (bot/channels/seen_keys.py). Bodies are validated like every channel's
(bot/channels/validation.py); conversations are `webhook:<sender>`, and `metadata["shopdesk_client"]`
is `webhook:<sender>` (the backend's user, for throttling).
"""

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.seen_keys import SeenKeys, SeenKeysUnavailable, seen_keys_for
from bot.channels.validation import (
    MAX_BODY_BYTES,
    MAX_ID_CHARS,
    MAX_TOKEN_CHARS,
    InvalidRequest,
    check_message,
    check_metadata,
    check_optional_string,
    check_sender,
    parse_json_object,
)
from shop_profile import current_profile
from shop_profile.wording import money

logger = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-ShopDesk-Timestamp"
SIGNATURE_HEADER = "X-ShopDesk-Signature"
SIGNATURE_VERSION = "v1"
MIN_SECRET_CHARS = 16
CLIENT_KEY = "shopdesk_client"
# Unix seconds in ASCII digits, at most 12 of them: int() of a longer run is slow and the float of a
# 320-digit one overflows, which was a 500 instead of a 401.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
TEXT_ONLY = {"buttons": False, "cards": False, "images": False}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp` (also used for our callbacks)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body),
            "Content-Type": "application/json"}


class BoundedMap(OrderedDict):
    """A dict that forgets its oldest entries beyond `capacity` (per-sender state of a busy channel)."""

    def __init__(self, capacity: int = 20000) -> None:
        super().__init__()
        self.capacity = capacity

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.capacity:
            self.popitem(last=False)


class RequestRejected(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


MESSAGE_ID_TTL_S = 24 * 3600


# ---- turning Rasa's messages into what the backend can show -------------------------------------------------


def _price(product: dict[str, Any]) -> str:
    try:
        amount = Decimal(str(product.get("price")))
    except (InvalidOperation, ValueError):
        return ""
    return money(amount, str(product.get("currency") or current_profile().money.currency))


def cards_as_text(custom: dict[str, Any]) -> str:
    """The plain-text version of a custom payload: its own `text`, else a numbered product list."""
    if isinstance(custom.get("text"), str) and custom["text"].strip():
        return custom["text"].strip()
    lines = []
    for i, product in enumerate(custom.get("products") or [], start=1):
        if not isinstance(product, dict):
            continue
        line = f"{i}. {product.get('name') or product.get('sku') or 'Product'}"
        if _price(product):
            line += f" — {_price(product)}"
        if product.get("reason"):
            line += f" ({product['reason']})"
        lines.append(line)
    return "\n".join(lines)


def degrade(message: dict[str, Any], capabilities: dict[str, bool]) -> tuple[dict[str, Any] | None, list[dict]]:
    """One Rasa output message in the backend's terms, plus the buttons it turned into numbered options."""
    text_parts: list[str] = [message["text"]] if isinstance(message.get("text"), str) and message["text"] else []
    out: dict[str, Any] = {}
    options: list[dict] = []
    buttons = [b for b in (message.get("buttons") or message.get("quick_replies") or []) if isinstance(b, dict)]
    if buttons and capabilities.get("buttons"):
        out["buttons"] = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))} for b in buttons]
    elif buttons:
        options = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))} for b in buttons]
        text_parts.append("\n".join(f"{i}. {o['title']}" for i, o in enumerate(options, start=1)))
        text_parts.append("(Reply with a number.)")
    custom = message.get("custom")
    if isinstance(custom, dict):
        if capabilities.get("cards"):
            out["custom"] = custom
        elif cards_as_text(custom):
            text_parts.append(cards_as_text(custom))
    image = message.get("image")
    if isinstance(image, str) and image:
        if capabilities.get("images"):
            out["image"] = image
        else:
            text_parts.append(f"Image: {image}")
    attachment = message.get("attachment")
    if attachment:
        text_parts.append(attachment if isinstance(attachment, str) else json.dumps(attachment)[:1000])
    if text_parts:
        out["text"] = "\n\n".join(text_parts)
    return (out or None), options


# ---- the channel -----------------------------------------------------------------------------------------------


class CallbackOutput(CollectingOutputChannel):
    """Delivers each bot message to the backend's callback URL as soon as Rasa produces it, signed."""

    @classmethod
    def name(cls) -> str:
        return "shopdesk_webhook"

    def __init__(self, channel: "WebhookInput", sender: str, capabilities: dict[str, bool]) -> None:
        super().__init__()
        self.channel = channel
        self.sender = sender
        self.capabilities = capabilities

    async def _persist_message(self, message: dict[str, Any]) -> None:
        await super()._persist_message(message)
        degraded, options = degrade(message, self.capabilities)
        self.channel.remember_options(self.sender, options)
        if degraded is not None:
            await self.channel.post_callback(self.sender, degraded)


class WebhookInput(InputChannel):
    """HMAC-signed generic webhook (see the module docstring and docs/channels.md)."""

    @classmethod
    def name(cls) -> str:
        return "shopdesk_webhook"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            secret=credentials.get("secret") or os.environ.get("SHOPDESK_WEBHOOK_SECRET", ""),
            callback_url=credentials.get("callback_url"),
            tolerance_s=int(credentials.get("timestamp_tolerance_s", 300)),
            conversation_prefix=str(credentials.get("conversation_prefix", "webhook:")),
            replay_db_url=credentials.get("replay_db_url") or None,
        )

    def __init__(self, secret: str, callback_url: str | None = None, tolerance_s: int = 300,
                 conversation_prefix: str = "webhook:", clock: Callable[[], float] = time.time,
                 replay_db_url: str | None = None, seen: SeenKeys | None = None) -> None:
        self.secret = secret or ""
        self.callback_url = callback_url or None
        self.tolerance_s = tolerance_s
        self.conversation_prefix = conversation_prefix
        self.clock = clock
        # seen signatures and message ids, shared by every process using the tracker database
        self.seen = seen or seen_keys_for(replay_db_url)
        self.customer_tokens = BoundedMap()     # sender -> latest customer_token the backend vouched with
        self.pending_options = BoundedMap()     # sender -> buttons last offered as numbered options
        self._tasks: set[asyncio.Task[Any]] = set()
        if len(self.secret) < MIN_SECRET_CHARS:
            logger.error("shopdesk_webhook: no secret configured (SHOPDESK_WEBHOOK_SECRET); refusing all requests")

    # -- authentication --------------------------------------------------------------------------------------

    def verify(self, request: Request) -> None:
        """Raise RequestRejected unless the request is signed with our secret and its timestamp is fresh."""
        if len(self.secret) < MIN_SECRET_CHARS:
            raise RequestRejected(503, "the webhook channel has no secret configured")
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not timestamp or not signature:
            raise RequestRejected(401, f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
        if not _TIMESTAMP.fullmatch(timestamp):
            raise RequestRejected(401, f"{TIMESTAMP_HEADER} must be unix seconds")
        now = self.clock()
        if abs(now - int(timestamp)) > self.tolerance_s:
            raise RequestRejected(401, f"stale or future timestamp (allowed skew {self.tolerance_s}s)")
        expected = sign(self.secret, timestamp, request.body or b"")
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise RequestRejected(401, "invalid signature")

    def is_replay(self, request: Request) -> bool:
        """Whether this exact signed request was seen within the time window (call after verify).

        Remembered a little longer than a timestamp stays acceptable, so it cannot come back later.
        """
        signature = request.headers.get(SIGNATURE_HEADER, "")
        return not self.seen.add(f"signature/{signature}", self.clock(), 2 * self.tolerance_s + 1)

    def is_duplicate(self, sender: str, message_id: str) -> bool:
        """Whether this sender's message id was already taken in (a backend's retry)."""
        return not self.seen.add(f"message/{sender}/{message_id}", self.clock(), MESSAGE_ID_TTL_S)

    # -- per-sender state ------------------------------------------------------------------------------------

    def remember_options(self, sender: str, options: list[dict]) -> None:
        if options:
            self.pending_options.put(sender, options)

    def resolve_option(self, sender: str, text: str) -> str:
        """A reply "2" (or an option's exact title) to buttons shown as numbered text becomes its payload."""
        options = self.pending_options.pop(sender, None) or []   # options only answer the very next message
        choice = text.strip().rstrip(".)")
        for i, option in enumerate(options, start=1):
            if choice == str(i) or choice.casefold() == option["title"].strip().casefold():
                return option["payload"]
        return text

    def conversation_id(self, sender: str) -> str:
        return f"{self.conversation_prefix}{sender}"

    # -- delivery --------------------------------------------------------------------------------------------

    async def post_callback(self, sender: str, message: dict[str, Any]) -> None:
        body = json.dumps({"recipient": sender, "conversation_id": self.conversation_id(sender),
                           "message": message}).encode()
        for attempt in range(3):
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session, \
                        session.post(self.callback_url, data=body,
                                     headers=signed_headers(self.secret, body, self.clock())) as reply:
                    if reply.status < 500:
                        if reply.status >= 400:
                            logger.warning("callback for %s refused: HTTP %s", sender, reply.status)
                        return
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                logger.warning("callback for %s failed (%s), attempt %s", sender, type(exc).__name__, attempt + 1)
            await asyncio.sleep(0.5 * 2**attempt)
        logger.error("gave up delivering a reply to %s after 3 attempts", sender)

    # -- parsing ---------------------------------------------------------------------------------------------

    def parse(self, request: Request) -> dict[str, Any]:
        """The validated body (bot/channels/validation.py): RequestRejected(400) for anything malformed."""
        try:
            body = parse_json_object(request.body)
            check_sender(body.get("sender"))
            check_message(body.get("message"))
            body["metadata"] = check_metadata(body.get("metadata"))
            check_optional_string(body, "message_id", MAX_ID_CHARS)
            check_optional_string(body, "customer_token", MAX_TOKEN_CHARS)
        except InvalidRequest as exc:
            raise RequestRejected(exc.status, str(exc)) from exc
        if body.get("capabilities") is not None and not isinstance(body["capabilities"], dict):
            raise RequestRejected(400, "`capabilities` must be a JSON object")
        reply = body.get("reply") or ("callback" if self.callback_url else "sync")
        if reply not in ("sync", "callback"):
            raise RequestRejected(400, "`reply` must be \"sync\" or \"callback\"")
        if reply == "callback" and not self.callback_url:
            raise RequestRejected(400, "no callback_url is configured for this channel; use reply \"sync\"")
        capabilities = dict(TEXT_ONLY)
        capabilities.update({k: bool(v) for k, v in (body.get("capabilities") or {}).items() if k in TEXT_ONLY})
        body["capabilities"], body["reply"] = capabilities, reply
        return body

    def metadata_for(self, sender: str, body: dict[str, Any]) -> dict[str, Any]:
        metadata = dict(body.get("metadata") or {})
        metadata.pop("customer_token", None)  # only the top-level field, so it is remembered consistently
        token = body.get("customer_token")
        if token:
            self.customer_tokens.put(sender, token)
        token = token or self.customer_tokens.get(sender)
        if token:
            metadata["customer_token"] = token
        metadata["webhook"] = {"sender": sender, "capabilities": body["capabilities"]}
        metadata[CLIENT_KEY] = f"webhook:{sender}"  # the backend's user, whatever the body claims
        return metadata

    # -- the blueprint ---------------------------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("shopdesk_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if len(request.body or b"") > MAX_BODY_BYTES:
                return response.json({"error": f"the body is larger than {MAX_BODY_BYTES} bytes"}, status=413)
            try:
                self.verify(request)
                body = self.parse(request)
            except RequestRejected as exc:
                return response.json({"error": str(exc)}, status=exc.status)
            sender = body["sender"]
            conversation_id = self.conversation_id(sender)
            message_id = body.get("message_id")
            try:
                replay = self.is_replay(request)
                # A repeated message id (a retry, even a byte-identical one) is acknowledged, never processed
                # again; any other repeat of a signed request is a replay.
                if message_id and self.is_duplicate(sender, message_id):
                    return response.json({"status": "duplicate", "conversation_id": conversation_id,
                                          "messages": []})
            except SeenKeysUnavailable:
                return response.json({"error": "temporarily unavailable; send it again shortly"}, status=503)
            if replay:
                return response.json({"error": "replayed request"}, status=401)
            text = self.resolve_option(sender, body["message"])
            metadata = self.metadata_for(sender, body)

            if body["reply"] == "callback":
                output = CallbackOutput(self, sender, body["capabilities"])
                message = UserMessage(text, output, conversation_id, input_channel=self.name(),
                                      message_id=message_id, metadata=metadata)
                task = asyncio.ensure_future(self._handle(on_new_message, message))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                return response.json({"status": "accepted", "conversation_id": conversation_id}, status=202)

            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, conversation_id, input_channel=self.name(),
                                  message_id=message_id, metadata=metadata)
            if not await self._handle(on_new_message, message):
                return response.json({"error": "the assistant failed to answer; try again"}, status=500)
            messages = []
            for raw in collector.messages:
                degraded, options = degrade(raw, body["capabilities"])
                self.remember_options(sender, options)
                if degraded is not None:
                    messages.append(degraded)
            return response.json({"status": "ok", "conversation_id": conversation_id, "messages": messages})

        return hook

    @staticmethod
    async def _handle(on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage) -> bool:
        try:
            await on_new_message(message)
            return True
        except Exception:
            logger.exception("handling a webhook message of %s failed", message.sender_id)
            return False
