"""What an agent does to a conversation, shared by the HTML forms and the JSON API.

Order matters for honesty: permission is checked first, then Rasa is told (resume / deliver), then the
database records the change with a conditional UPDATE. If Rasa cannot be reached nothing is recorded, so
the agent can simply try again.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from console.canned import all_canned
from console.context import CustomerContext, customer_context, verified_customer
from console.handoffs import HandoffError, HandoffView
from console.models import HandoffStatus
from console.rasa_client import RasaUnavailable
from console.security import ConsoleUser
from console.services import Services
from console.transcript import is_paused, latest_slot, latest_user_metadata, transcript
from shop_profile import current_profile
from shop_profile.wording import fill, response_values

MAX_REPLY_CHARS = 2000


def return_message() -> str:
    """What the customer reads when an agent hands the conversation back to the assistant."""
    return (f"You're back with {current_profile().assistant.name}, the assistant. Ask me anything, or ask for a "
            "person again whenever you like.")


def close_message() -> str:
    return ("Our customer service team has closed this chat. Thanks for getting in touch! I'm "
            f"{current_profile().assistant.name}, the assistant, and I'm here if you need anything else.")


class ActionRefused(Exception):
    """The agent's request was not carried out; the message says why (shown to the agent)."""


@dataclass
class ConversationState:
    handoff: HandoffView
    items: list[dict[str, Any]]
    paused: bool
    rasa_problem: str
    context: CustomerContext | None = None


def load_handoff(svc: Services, handoff_id: int) -> HandoffView:
    handoff = svc.handoffs.get(handoff_id)
    if handoff is None:
        raise ActionRefused("There is no such conversation in the queue.")
    return handoff


def conversation_state(svc: Services, handoff_id: int, signing_key: str, with_context: bool) -> ConversationState:
    handoff = load_handoff(svc, handoff_id)
    try:
        events = svc.rasa.events(handoff.conversation_id)
        problem = ""
    except RasaUnavailable as exc:
        events, problem = [], str(exc)
    state = ConversationState(handoff=handoff, items=transcript(events), paused=is_paused(events),
                              rasa_problem=problem)
    if with_context:
        customer_id, how = verified_customer(handoff.customer_id, latest_slot(events, "customer_id"),
                                             latest_user_metadata(events), signing_key,
                                             conversation_id=handoff.conversation_id)
        state.context = customer_context(svc.orders, customer_id, how)
    return state


def claim(svc: Services, user: ConsoleUser, handoff_id: int) -> HandoffView:
    handoff = load_handoff(svc, handoff_id)
    if not svc.handoffs.claim(handoff_id, user.agent_id):
        current = load_handoff(svc, handoff_id)
        if current.status == HandoffStatus.CLAIMED and current.claimed_by_id == user.agent_id:
            return current
        who = current.claimed_by_name or "another agent"
        raise ActionRefused(f"Too late: {who} already took this conversation." if current.is_open
                            else "This conversation is no longer waiting.")
    # `pause` again: a customer who came back after their session expired has a fresh, unpaused session,
    # and the bot must not talk over the agent. The claim stands even if Rasa is briefly unreachable:
    # the agent's first reply shows the problem.
    with contextlib.suppress(RasaUnavailable):
        svc.rasa.append(handoff.conversation_id, [{"event": "pause"}, {
            "event": "bot", "text": f"{user.agent.display_name} from customer service has joined the chat.",
            "metadata": {"shopdesk_agent": "system"}}], deliver=True)
    return load_handoff(svc, handoff_id)


def reply(svc: Services, user: ConsoleUser, handoff_id: int, text: str) -> None:
    text = (text or "").strip()
    if not text:
        raise ActionRefused("Write a message first.")
    if len(text) > MAX_REPLY_CHARS:
        raise ActionRefused(f"The message is too long (at most {MAX_REPLY_CHARS} characters).")
    handoff = load_handoff(svc, handoff_id)
    if handoff.status != HandoffStatus.CLAIMED or handoff.claimed_by_id != user.agent_id:
        raise ActionRefused("Claim this conversation before replying." if handoff.status == HandoffStatus.WAITING
                            else "You are not handling this conversation.")
    try:
        svc.rasa.send_agent_message(handoff.conversation_id, text, user.agent.display_name)
    except RasaUnavailable as exc:
        raise ActionRefused(f"Not sent: {exc}") from exc


def give_back(svc: Services, user: ConsoleUser, handoff_id: int, *, close: bool, note: str = "") -> HandoffView:
    """Return the conversation to the bot, or close it with a resolution note (the bot takes over after)."""
    handoff = load_handoff(svc, handoff_id)
    if not handoff.is_open:
        raise ActionRefused("This conversation has already been handed back or closed.")
    mine = handoff.status == HandoffStatus.WAITING or handoff.claimed_by_id == user.agent_id
    if not (mine or user.is_admin):
        raise ActionRefused(f"{handoff.claimed_by_name or 'Another agent'} is handling this conversation.")
    if close and not (note or "").strip():
        raise ActionRefused("Please write a short resolution note before closing.")
    try:
        svc.rasa.resume(handoff.conversation_id, close_message() if close else return_message())
    except RasaUnavailable as exc:
        raise ActionRefused(f"Nothing changed: {exc}") from exc
    try:
        return svc.handoffs.end(handoff_id, user.agent_id, close=close, note=note, is_admin=user.is_admin)
    except HandoffError as exc:
        raise ActionRefused(str(exc)) from exc


def canned_replies(svc: Services) -> list[dict[str, str]]:
    """The canned replies as agents send them: the profile's {placeholders} ({shop_name}, {support_email}...)
    filled in from shop.yml, so a stored reply names whichever shop runs ShopDesk."""
    values = response_values(current_profile())
    return [{"title": c.title, "text": fill(c.text, values)} for c in all_canned(svc.sessions)]
