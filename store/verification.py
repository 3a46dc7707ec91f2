"""Identity checks (order number + email), throttled in ShopDesk's own database whatever holds the orders.

Why here and not in an order backend: the lockout is ShopDesk's defence against enumerating a shop's order
numbers and emails through the chat. It must count every guess from every conversation, channel and process,
and it must stop a guess *before* anything is looked up, so it cannot be left to a shop's order system (which
would see only "does this email go with this order?", not the conversation or the client it came from).
The backend answers that one question (`match`); everything around it is this module's.

Every failed check counts against the email, the order number, the client address and the conversation it
came from; once any of them has MAX_FAILED_VERIFICATIONS failures within VERIFICATION_LOCKOUT, further checks
touching it are refused unevaluated. So tries 1..MAX are evaluated and the next one is not, whichever
conversation, channel or process it arrives on. A second, daily cap stops the slow drip that the short window
alone allows (3 tries every 15 minutes would still be 288 guesses a day against one known email).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from shop_profile import current_profile
from store.errors import NotAllowed
from store.models import VerificationAttempt
from store.security import ThrottleEvent, recent_failures, throttle_key

MAX_FAILED_VERIFICATIONS = 3
VERIFICATION_LOCKOUT = timedelta(minutes=15)
MAX_FAILED_VERIFICATIONS_PER_DAY = 10
VERIFICATION_LIMITS = ((MAX_FAILED_VERIFICATIONS, VERIFICATION_LOCKOUT),
                       (MAX_FAILED_VERIFICATIONS_PER_DAY, timedelta(days=1)))
VERIFY_SCOPE = "verify"
LOCKED_OUT_MESSAGE = (
    f"Too many unsuccessful attempts. For your security, order look-ups with these details are paused for "
    f"{VERIFICATION_LOCKOUT.seconds // 60} minutes (for a day after repeated attempts). Please try again later "
    f"or ask to talk to a person."
)

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[A-Za-z]{2,}$")

# (normalised order number, normalised email) -> the customer id, or None when the email is not that order's.
OwnerMatch = Callable[[str, str], "int | None"]


def normalize_order_number(text: str | None) -> str | None:
    """'#536365', ' 536365 ' and 'order 536365' all mean 536365; None when it can't be one of the shop's order
    numbers (shop.yml `order_numbers`: '#1001' is 1001 for a Shopify shop, 'S-5001' stays S-5001)."""
    return current_profile().order_numbers.normalize(text)


def normalize_email(text: str | None) -> str | None:
    if not text:
        return None
    candidate = text.strip().strip("<>.,;").lower()
    return candidate if len(candidate) <= 254 and _EMAIL.match(candidate) else None


def verification_keys(conversation_id: str | None, order_number: str | None, email: str | None,
                      client: str | None = None) -> list[str]:
    """The throttle keys of one identity check: what it tried, where from, and in which conversation."""
    number = normalize_order_number(order_number) or (order_number or "").strip()[:64]
    address = normalize_email(email) or (email or "").strip()[:254]
    parts = {"order": number, "email": address, "client": (client or "").strip()[:255],
             "conversation": (conversation_id or "").strip()[:255]}
    return [throttle_key(kind, value) for kind, value in parts.items() if value]


def _over_a_limit(session: Session, keys: list[str], now: datetime, counting_this_one: bool) -> bool:
    """Whether any key has used up one of VERIFICATION_LIMITS (with `counting_this_one`, the check being made
    is already recorded, so reaching the limit is still allowed and only going past it is not)."""
    for limit, window in VERIFICATION_LIMITS:
        failures = recent_failures(session, VERIFY_SCOPE, keys, window, now)
        if failures > limit or (failures == limit and not counting_this_one):
            return True
    return False


class IdentityChecks:
    """The throttled identity check, on ShopDesk's own database (`sessions`), for any order backend."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._sessions, self._now = sessions, clock

    def verify(self, conversation_id: str, order_number: str, email: str, client: str | None,
               match: OwnerMatch) -> int | None:
        """The customer id when `match` says `email` is the email on `order_number`, else None (a failure is
        recorded). Raises NotAllowed, before `match` is asked, while the email, the order number, the
        client address or the conversation has MAX_FAILED_VERIFICATIONS recent failures: the answer is the
        same whether the order exists or not, and a success never clears earlier failures.

        The failure is recorded provisionally *before* the count, so concurrent checks (several action
        servers) see each other and at most MAX_FAILED_VERIFICATIONS of them get evaluated; a refused or
        successful check withdraws its own provisional rows (refusals are not counted, or a blocked client
        could lock out any customer's email without a single evaluated guess), and so does a check that could
        not be evaluated because `match` raised (the order system was down: that was no guess).
        """
        keys = verification_keys(conversation_id, order_number, email, client)
        now = self._now()
        with self._sessions.begin() as s:
            pending = [ThrottleEvent(scope=VERIFY_SCOPE, key=key, occurred_at=now) for key in keys]
            s.add_all(pending)
            s.flush()
            pending_ids = [event.id for event in pending]
        try:
            with self._sessions() as s:
                if _over_a_limit(s, keys, now, counting_this_one=True):
                    raise NotAllowed(LOCKED_OUT_MESSAGE)
            number, address = normalize_order_number(order_number), normalize_email(email)
            customer_id = match(number, address) if number and address else None
        except BaseException:
            self._withdraw(pending_ids)
            raise
        with self._sessions.begin() as s:
            s.add(VerificationAttempt(conversation_id=conversation_id, succeeded=customer_id is not None,
                                      attempted_at=now))
        if customer_id is not None:
            self._withdraw(pending_ids)
        return customer_id

    def is_locked_out(self, conversation_id: str, order_number: str | None = None, email: str | None = None,
                      client: str | None = None) -> bool:
        """Whether a check with these details would be refused now (the same keys `verify` counts)."""
        keys = verification_keys(conversation_id, order_number, email, client)
        with self._sessions() as s:
            return _over_a_limit(s, keys, self._now(), counting_this_one=False)

    def _withdraw(self, event_ids: list[int]) -> None:
        with self._sessions.begin() as s:
            s.execute(delete(ThrottleEvent).where(ThrottleEvent.id.in_(event_ids)))
