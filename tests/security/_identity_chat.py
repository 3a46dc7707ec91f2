"""Talking to the running stack's REST channel the way a shop's backend does, for the security tests.

Every call carries `Authorization: Bearer $SHOPDESK_REST_TOKEN`; the conversation is `rest:<sender>`. A client
address is sent as the backend's `X-ShopDesk-Client` header, which the channel stamps as `shopdesk_client`.
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
        if metadata:
            body["metadata"] = metadata
        response = requests.post(self.stack.rasa_url + REST_PATH, json=body, headers=self.headers(client),
                                 timeout=90)
        assert response.status_code == 200, (response.status_code, response.text[:300])
        return "\n".join(m.get("text") or "" for m in response.json())

    def tracker(self, sender: str) -> dict[str, Any]:
        """The conversation's tracker from Rasa's HTTP API (REST conversations are `rest:<sender>`)."""
        response = requests.get(f"{self.stack.rasa_url}/conversations/rest:{sender}/tracker",
                                params={"token": self.env["RASA_AUTH_TOKEN"]}, timeout=30)
        response.raise_for_status()
        return response.json()

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
