"""Rasa's REST channel, plus message metadata.

Rasa's built-in `rest` channel drops the request's `metadata`; shops need it to pass a signed customer
token (`{"sender": ..., "message": ..., "metadata": {"customer_token": ...}}`) so the action server can
treat the conversation as that verified customer. Same URL shape: /webhooks/shopdesk_rest/webhook.
"""

from typing import Any

from rasa.core.channels.rest import RestInput
from sanic.request import Request


class RestWithMetadata(RestInput):
    @classmethod
    def name(cls) -> str:
        return "shopdesk_rest"

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        body = request.json if isinstance(request.json, dict) else {}
        metadata = body.get("metadata")
        return metadata if isinstance(metadata, dict) else None
