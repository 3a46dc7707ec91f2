"""Graceful degradation for actions that need the store database or the shop's order API.

When the database is briefly unreachable (failover, restart, connection limit), or the shop's order API
(store.http_backend) is down, slow, refuses our credentials or answers nonsense (`BackendUnavailable`), an
order action should tell the customer so and offer a person, not crash: a crash means an HTTP 500 from the
action server, which Rasa turns into silence. The scale-out action server (runtime/action_server.py)
already converts any such error escaping an action into this answer; `degrade_on_store_outage` does the
same inside the action, so every deployment (the embedded default included) behaves alike, and the action
can still return events of its own (e.g. reset its slots).

    class ActionTrackOrder(OrderFlowAction):
        @degrade_on_store_outage
        def run(self, dispatcher, tracker, domain): ...
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from store.errors import BackendUnavailable

logger = logging.getLogger(__name__)

STORE_ERRORS = (OperationalError, PoolTimeout, DBAPIError, BackendUnavailable)
STORE_UNAVAILABLE = ("Sorry, our order system is temporarily unavailable, so I can't look that up right now. "
                     "Please try again in a few minutes, or I can connect you with a person.")
HUMAN_BUTTON = {"title": "Talk to a person", "payload": "/contact_human_agent"}


def outage_message(error: BaseException) -> str:
    """What the customer is told: the order API's own case when it says more (a change whose outcome is
    unknown is never reported as failed), else that the order system is unavailable."""
    return error.customer_message if isinstance(error, BackendUnavailable) else STORE_UNAVAILABLE


def unvalidated_slot_resets(action_name: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For a form's validation action that could not run: undo the slots Rasa extracted from the latest
    message, so nothing unverified stays set and the form asks for them again once the store is back."""
    if not action_name.startswith("validate_"):
        return []
    latest_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    names = [e["name"] for e in events[latest_user + 1:] if e.get("event") == "slot" and e.get("name")
             and e["name"] != "requested_slot"]
    return [{"event": "slot", "name": name, "value": None, "timestamp": None} for name in dict.fromkeys(names)]


def say_store_unavailable(dispatcher: Any, error: BaseException | None = None) -> None:
    dispatcher.utter_message(text=outage_message(error) if error else STORE_UNAVAILABLE, buttons=[HUMAN_BUTTON])


def degrade_on_store_outage(run: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an action's (sync or async) `run(self, dispatcher, tracker, domain)`: on a database error,
    answer "temporarily unavailable" with a human offer; return no events (conversation state kept), except
    that a form's validation action un-sets the slots it could not verify."""
    if inspect.iscoroutinefunction(run):
        @functools.wraps(run)
        async def async_wrapper(self: Any, dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:
            try:
                return await run(self, dispatcher, tracker, domain)
            except STORE_ERRORS as error:
                logger.error("order store unavailable in %s: %s", self.name(), _first_line(error))
                say_store_unavailable(dispatcher, error)
                return unvalidated_slot_resets(self.name(), tracker.events)
        return async_wrapper

    @functools.wraps(run)
    def wrapper(self: Any, dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:
        try:
            return run(self, dispatcher, tracker, domain)
        except STORE_ERRORS as error:
            logger.error("order store unavailable in %s: %s", self.name(), _first_line(error))
            say_store_unavailable(dispatcher, error)
            return unvalidated_slot_resets(self.name(), tracker.events)
    return wrapper


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]
