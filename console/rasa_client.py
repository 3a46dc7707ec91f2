"""The console's use of Rasa's HTTP API (token-protected): read a conversation, speak in it, resume it.

Agent replies are appended to the tracker as bot events with `execute_side_effects=true` and
`output_channel=latest`: Rasa records them in the conversation (a complete transcript) and delivers them
through the customer's own channel (the widget's socket.io room, live). Resuming appends Rasa's own
`resume` event, after which the bot answers again.
"""

from __future__ import annotations

from typing import Any

import requests


class RasaUnavailable(Exception):
    """Rasa could not be reached or refused the request: the message is safe to show an agent."""


class RasaClient:
    def __init__(self, url: str, token: str, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s

    def _call(self, method: str, path: str, params: dict[str, str] | None = None, body: Any = None) -> Any:
        query = dict(params or {})
        if self.token:
            query["token"] = self.token
        try:
            response = requests.request(method, f"{self.url}{path}", params=query, json=body,
                                        timeout=self.timeout_s)
        except requests.Timeout as exc:
            raise RasaUnavailable(f"The assistant server is unreachable: no answer within {self.timeout_s:g} s."
                                  ) from exc
        except requests.RequestException as exc:
            raise RasaUnavailable(f"The assistant server is unreachable ({type(exc).__name__}).") from exc
        if response.status_code != 200:
            raise RasaUnavailable(f"The assistant server answered HTTP {response.status_code}.")
        return response.json()

    def events(self, conversation_id: str) -> list[dict[str, Any]]:
        tracker = self._call("GET", f"/conversations/{_quote(conversation_id)}/tracker",
                             {"include_events": "ALL"})
        return [e for e in tracker.get("events") or [] if isinstance(e, dict)]

    def append(self, conversation_id: str, events: list[dict[str, Any]], deliver: bool = False) -> None:
        params = {"include_events": "NONE"}
        if deliver:
            params.update(output_channel="latest", execute_side_effects="true")
        self._call("POST", f"/conversations/{_quote(conversation_id)}/tracker/events", params, events)

    def send_agent_message(self, conversation_id: str, text: str, agent_name: str) -> None:
        """Say `text` to the customer as the agent, on their channel, and record it in the tracker."""
        self.append(conversation_id, [{"event": "bot", "text": text,
                                       "metadata": {"shopdesk_agent": agent_name}}], deliver=True)

    def resume(self, conversation_id: str, farewell: str | None = None) -> None:
        """Give the conversation back to the bot (ends any form left half-way), optionally saying so.

        Ends with `action_listen`, as every bot turn does: while paused, Rasa logs the customer's messages
        without listen actions between them, and without one the next message would not start a new turn
        for the policies (the bot would answer "hello" with a fallback).
        """
        events: list[dict[str, Any]] = [{"event": "resume"}, {"event": "active_loop", "name": None},
                                        {"event": "slot", "name": "requested_slot", "value": None}]
        if farewell:
            events.append({"event": "bot", "text": farewell, "metadata": {"shopdesk_agent": "system"}})
        events.append({"event": "action", "name": "action_listen"})
        self.append(conversation_id, events, deliver=bool(farewell))


def _quote(conversation_id: str) -> str:
    """The id as a URL path segment. Rasa's routes do not percent-decode their parameters, so characters a
    path segment may hold as they are (RFC 3986 pchar: ":" of `rest:`/`webhook:`, "+" of phone numbers, "@")
    must stay as they are, or the call would reach another, empty conversation."""
    from urllib.parse import quote

    return quote(conversation_id, safe=":@!$&'()*+,;=")
