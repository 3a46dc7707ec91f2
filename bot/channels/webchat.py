"""The web widget's channel: Rasa's socket.io channel, with delivery guarantees and working custom payloads.

Drop-in for the built-in `socketio` channel (same events, same name, so `channel: socketio` response
variations keep working), fixing what the widget needs:
- custom payloads (product carousels) are emitted as `{"custom": {...}}`; the built-in channel passes the
  payload's keys to `sio.emit` as keyword arguments and fails on any payload with a `type` key;
- every user message is acknowledged as soon as it is received, and a repeated client `message_id` (a
  message re-sent after a reconnect whose first ack was lost) is acknowledged again but not processed twice;
- the client `message_id` is kept as the tracker event's id, so a restored transcript can be matched with
  the widget's own unacknowledged messages;
- text is sent whole (the widget renders paragraphs), so live messages match the restored transcript;
- an agent's message (a bot event the console appends with `shopdesk_agent` metadata) carries `agent`,
  the agent's display name, so the widget shows who is speaking;
- a message the bot stays silent on because the conversation waits for a person (paused, no agent has
  joined yet) gets a short "passed to the team, you're number N" acknowledgement (bot/channels/paused_reply.py);
- `session_request` awaits joining the room (python-socketio 5.x made `enter_room` a coroutine, which the
  built-in channel never awaits, so its replies reach nobody), and leaves the socket's previous room.
Message metadata comes from `customData` (or `metadata`), e.g. the storefront's signed `customer_token`.

Conversations cannot be taken over (issue 15):
- `session_request` is `{"session_id": <32 hex>, "session_token": <store.tokens session token>}`. The socket
  joins that conversation only when the token is valid, names exactly that id and the conversation was not
  revoked (signed out of); otherwise the channel mints a fresh uuid4-hex id. Either way it then emits
  `session_token` `{"session_id", "session_token"}` (a fresh token for the id to store and send next time)
  followed by `session_confirm` with the id as a plain string (as Rasa's own channel does). A client whose
  confirmed id differs from the one it asked for was refused and is in a new, empty conversation.
- A message is processed only for the conversation its socket joined.
- `metadata["shopdesk_client"]` is the connecting client's address (the socket's peer; X-Forwarded-For
  only from SHOPDESK_TRUSTED_PROXIES), set server-side over anything the client sent under that key.
- Origins are checked: browsers may connect only from SHOPDESK_ALLOWED_ORIGINS (comma-separated, `*` for
  any; store/origins.py, the same list the web app's CORS reads); unset, no cross-origin page may connect.
  Clients that send no Origin (not browsers) are unaffected.
"""

import asyncio
import logging
import re
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels.client_ip import client_address, trusted_proxies
from bot.channels.paused_reply import PausedReplies, acknowledge_if_silent
from bot.channels.revocations import RevocationList
from store.origins import allowed_origins
from store.tokens import SigningKeyMissing, issue_session_token, verify_session_token

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 5000
MAX_ID_CHARS = 128
CLIENT_KEY = "shopdesk_client"
AGENT_KEY = "shopdesk_agent"  # web/transcript.py reads the same key from the stored events
MAX_AGENT_CHARS = 80
WIDGET_ID = re.compile(r"^[0-9a-f]{32}$")


class RecentIds:
    """A bounded memory of recently seen (conversation, message id) pairs, oldest forgotten first."""

    def __init__(self, capacity: int = 20000) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def add(self, key: str) -> bool:
        """Remember `key`; False when it was already there."""
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True


class WebChatOutput(OutputChannel):
    @classmethod
    def name(cls) -> str:
        return "socketio"

    def __init__(self, sio: AsyncServer, bot_message_evt: str) -> None:
        self.sio = sio
        self.bot_message_evt = bot_message_evt
        self.sent = 0  # messages emitted: none after a message means the bot stayed silent (paused)

    async def _emit(self, room: str, message: dict[str, Any]) -> None:
        self.sent += 1
        await self.sio.emit(self.bot_message_evt, message, room=room)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._emit(recipient_id, _with_agent({"text": text}, kwargs))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        quick_replies = [
            {"content_type": "text", "title": b.get("title", ""), "payload": b.get("payload", "")} for b in buttons
        ]
        await self._emit(recipient_id, _with_agent({"text": text, "quick_replies": quick_replies}, kwargs))

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies, **kwargs)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._emit(recipient_id, {"attachment": {"type": "image", "payload": {"src": image}}})

    async def send_attachment(  # type: ignore[override]
        self, recipient_id: str, attachment: Any, **kwargs: Any
    ) -> None:
        await self._emit(recipient_id, {"attachment": attachment})

    async def send_elements(self, recipient_id: str, elements: Iterable[dict[str, Any]], **kwargs: Any) -> None:
        for element in elements:
            payload = {"template_type": "generic", "elements": element}
            await self._emit(recipient_id, {"attachment": {"type": "template", "payload": payload}})

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        await self._emit(recipient_id, {"custom": json_message})


class WebChatInput(SocketIOInput):
    """Socket.io input channel for the ShopDesk widget (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            credentials.get("session_persistence", True),
            credentials.get("socketio_path", "/socket.io"),
            credentials.get("jwt_key"),
            credentials.get("jwt_method", "HS256"),
            credentials.get("metadata_key", "customData"),
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recent_ids = RecentIds()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.revocations = RevocationList()
        self.paused_replies = PausedReplies()

    def get_output_channel(self) -> OutputChannel | None:
        return WebChatOutput(self.sio, self.bot_message_evt) if self.sio is not None else None

    def _metadata(self, data: dict[str, Any]) -> dict[str, Any]:
        for key in (self.metadata_key, "customData", "metadata"):
            value = data.get(key) if key else None
            if isinstance(value, dict):
                return value
        return {}

    async def _resumable(self, requested: Any, token: Any) -> bool:
        """May this client resume conversation `requested`? Only with a valid token naming it, if not revoked."""
        if not isinstance(requested, str) or not WIDGET_ID.match(requested):
            return False
        try:
            if verify_session_token(token) != requested:
                return False
        except SigningKeyMissing:
            logger.error("SHOPDESK_SIGNING_KEY is not set: web-chat sessions cannot be resumed")
            return False
        return not await self.revocations.is_revoked(requested)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=allowed_origins())
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        namespace = self.namespace
        rooms: dict[str, str] = {}
        clients: dict[str, str] = {}
        proxies = trusted_proxies()

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            request = environ.get("sanic.request")  # the driver's REMOTE_ADDR is a fixed 127.0.0.1
            peer = getattr(request, "ip", "") or environ.get("REMOTE_ADDR", "")
            clients[sid] = client_address(peer, environ.get("HTTP_X_FORWARDED_FOR"), proxies)
            return True

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str) -> None:
            rooms.pop(sid, None)
            clients.pop(sid, None)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: dict | None = None) -> None:
            data = data if isinstance(data, dict) else {}
            requested = data.get("session_id")
            resumed = await self._resumable(requested, data.get("session_token"))
            session_id = requested if resumed else uuid.uuid4().hex
            if self.session_persistence:
                previous = rooms.get(sid)
                if previous and previous != session_id:
                    await sio.leave_room(sid, previous, namespace=namespace)
                await sio.enter_room(sid, session_id, namespace=namespace)
                rooms[sid] = session_id
            try:
                token: str | None = issue_session_token(session_id)
            except SigningKeyMissing:
                token = None
            await sio.emit("session_token", {"session_id": session_id, "session_token": token}, room=sid,
                           namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any = None) -> dict[str, Any]:  # an emit with no data too
            if not isinstance(data, dict):
                return {"status": "rejected", "error": "messages must be JSON objects"}
            text = data.get("message")
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_MESSAGE_CHARS \
                    or not _encodable(text):
                return {"status": "rejected", "error": f"message must be 1 to {MAX_MESSAGE_CHARS} characters"}
            sender_id = rooms.get(sid) if self.session_persistence else sid
            if self.session_persistence and data.get("session_id") and data["session_id"] != sender_id:
                return {"status": "rejected", "error": "send a session_request for this session_id first"}
            if not sender_id:
                return {"status": "rejected", "error": "send a session_request first"}
            message_id = data.get("message_id")
            message_id = message_id if _valid_id(message_id) else uuid.uuid4().hex
            if not self.recent_ids.add(f"{sender_id}/{message_id}"):
                return {"status": "duplicate", "message_id": message_id}
            metadata = {**self._metadata(data), CLIENT_KEY: clients.get(sid, "unknown")}  # ours, not theirs
            message = UserMessage(
                text, WebChatOutput(sio, self.bot_message_evt), sender_id, input_channel=self.name(),
                message_id=message_id, metadata=metadata,
            )
            task = asyncio.ensure_future(self._process(on_new_message, message, self.paused_replies))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return {"status": "received", "message_id": message_id}

        return socketio_webhook

    @staticmethod
    async def _process(on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage,
                       paused_replies: PausedReplies | None = None) -> None:
        try:
            await on_new_message(message)
            if paused_replies is not None:
                await acknowledge_if_silent(paused_replies, message)
        except Exception:  # keep the socket server alive; Rasa logs its own errors too
            logger.exception("handling message %s of %s failed", message.message_id, message.sender_id)


def _with_agent(message: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """An agent's message names the agent (`agent`: display name, or "system" for the console's notices),
    from the bot event's `shopdesk_agent` metadata, which Rasa passes on as a keyword argument."""
    name = kwargs.get(AGENT_KEY)
    if isinstance(name, str) and name.strip():
        message["agent"] = name.strip()[:MAX_AGENT_CHARS]
    return message


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS and value.isprintable()


def _encodable(text: str) -> bool:
    """False for text with lone surrogates (valid JSON, but no database can store it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
