"""What an order backend raises, whichever one holds the orders (store.backend).

OrderDeskError and its subclasses are answers: a rule refused the request, and the message is written for
the customer. BackendUnavailable is not an answer: the order system could not be asked (down, slow, refused
our credentials, said something we can't read). Callers must not take it for "no such order"; the actions
tell the customer the order system can't be reached (actions.resilience).
"""

from __future__ import annotations


class OrderDeskError(Exception):
    """A request the shop's rules refuse; the message is written for the customer."""


class OrderNotFound(OrderDeskError):
    def __init__(self, number: str) -> None:
        # The same words for "no such order" and "not yours": nothing to learn by guessing numbers.
        super().__init__(f"I couldn't find an order {number} on your account.")


class NotAllowed(OrderDeskError):
    pass


UNREACHABLE = ("Sorry, I can't reach our order system right now, so I can't look that up. Please try again in "
               "a few minutes, or I can connect you with a person.")
OUTCOME_UNKNOWN = ("Sorry, our order system didn't confirm that change, so I can't tell whether it went through. "
                   "Please ask me about the order again in a few minutes before trying once more, or I can "
                   "connect you with a person.")


class BackendUnavailable(Exception):
    """The order system could not answer. `str()` is for the logs (it may name hosts and status codes);
    `customer_message` is what the customer is told: a read "can't reach", a change whose outcome we never
    heard back about "can't tell whether it went through", so nobody is told a change failed that happened."""

    def __init__(self, detail: str, customer_message: str = UNREACHABLE) -> None:
        super().__init__(detail)
        self.customer_message = customer_message
