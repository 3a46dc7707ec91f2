"""Talking to the running stack's REST channel the way a shop's backend does, for the security tests.

Works before and after the REST channel requires `Authorization: Bearer $SHOPDESK_REST_TOKEN` and names
conversations `rest:<sender>` (COMMON K1): the bearer header is always sent, and tracker look-ups try both
ids. A client address is sent both as the backend's `X-ShopDesk-Client` header and in the metadata; a
channel that stamps `shopdesk_client` itself (K3) overwrites the metadata value with its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from runtime.chat_client import REST_PATH
from runtime.stack import StackConfig
from store.db import make_engine
from store.models import VerificationAttempt

CLIENT_HEADER = "X-ShopDesk-Client"


@dataclass
class Chat:
    stack: StackConfig
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = self.stack.env()

    def headers(self, client: str | None) -> dict[str, str]:
        headers = {}
        if token := self.env.get("SHOPDESK_REST_TOKEN") or os.environ.get("SHOPDESK_REST_TOKEN"):
            headers["Authorization"] = f"Bearer {token}"
        if client:
            headers[CLIENT_HEADER] = client
        return headers

    def send(self, sender: str, text: str, client: str | None = None,
             metadata: dict[str, Any] | None = None) -> str:
        """The bot's replies to one message, as one text."""
        body: dict[str, Any] = {"sender": sender, "message": text}
        meta = {**(metadata or {}), **({"shopdesk_client": client} if client else {})}
        if meta:
            body["metadata"] = meta
        response = requests.post(self.stack.rasa_url + REST_PATH, json=body, headers=self.headers(client),
                                 timeout=90)
        assert response.status_code == 200, (response.status_code, response.text[:300])
        return "\n".join(m.get("text") or "" for m in response.json())

    def tracker(self, sender: str) -> dict[str, Any]:
        """The conversation's tracker from Rasa's HTTP API (under `rest:<sender>` or `<sender>`, whichever has
        the messages)."""
        for conversation in (f"rest:{sender}", sender):
            response = requests.get(f"{self.stack.rasa_url}/conversations/{conversation}/tracker",
                                    params={"token": self.env["RASA_AUTH_TOKEN"]}, timeout=30)
            response.raise_for_status()
            tracker = response.json()
            if any(event.get("event") == "user" for event in tracker.get("events") or []):
                return tracker  # (an id never used still answers, with just a session start)
        return {}

    def stamped_client(self, sender: str) -> str | None:
        """The client address the channel recorded on the conversation's latest message."""
        return ((self.tracker(sender).get("latest_message") or {}).get("metadata") or {}).get("shopdesk_client")


def evaluated_checks(database_url: str) -> int:
    """How many order-number + email checks the order desk has evaluated so far."""
    engine = make_engine(database_url)
    with Session(engine) as s:
        count = s.scalar(select(func.count()).select_from(VerificationAttempt)) or 0
    engine.dispose()
    return count
