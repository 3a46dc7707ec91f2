"""Throttling console sign-ins on what an attacker cannot change at will, without letting them lock agents out.

Failures are recorded in the shared `throttle_events` table (scope "console_login"), under three keys:

- the client address: one client guessing many accounts is stopped (`CLIENT_LIMIT`);
- the (email, client) pair: one client guessing one account is stopped (`PAIR_LIMIT`), while the agent
  signing in from their own machine is not affected by what other clients do;
- the email across all clients: many clients guessing one account (`EMAIL_SLOW_LIMIT`) are slowed to one
  evaluated attempt per `EMAIL_SLOW_INTERVAL` for that account; clients that signed in to the account
  before (recorded under scope "console_login_ok") are never slowed.

Nothing here depends on whether the account exists, so the answers never reveal which emails are agents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from store.security import recent_failures, record_failure, throttle_key, utcnow

SCOPE = "console_login"
KNOWN_SCOPE = "console_login_ok"  # successful sign-ins, per (email, client): the agent's own machines
WINDOW = timedelta(minutes=15)
CLIENT_LIMIT = 20
PAIR_LIMIT = 5
EMAIL_SLOW_LIMIT = 30
EMAIL_SLOW_INTERVAL = timedelta(seconds=10)
KNOWN_FOR = timedelta(days=30)


@dataclass(frozen=True)
class LoginKeys:
    client: str
    pair: str
    email: str


def login_keys(email: str, client: str) -> LoginKeys:
    email = (email or "").strip().lower()
    return LoginKeys(client=throttle_key("console_client", client),
                     pair=throttle_key("console_email_client", f"{email}\0{client}"),
                     email=throttle_key("console_email", email))


def is_blocked(session: Session, keys: LoginKeys, now: datetime | None = None) -> bool:
    """Whether this attempt must be refused before any password is checked."""
    now = now or utcnow()
    if recent_failures(session, SCOPE, [keys.client], WINDOW, now) >= CLIENT_LIMIT:
        return True
    if recent_failures(session, SCOPE, [keys.pair], WINDOW, now) >= PAIR_LIMIT:
        return True
    if recent_failures(session, SCOPE, [keys.email], WINDOW, now) < EMAIL_SLOW_LIMIT:
        return False
    if recent_failures(session, KNOWN_SCOPE, [keys.pair], KNOWN_FOR, now) > 0:
        return False  # the agent's own machine: other clients' guesses never keep it out
    return recent_failures(session, SCOPE, [keys.email], EMAIL_SLOW_INTERVAL, now) > 0


def record_failed_login(session: Session, keys: LoginKeys, now: datetime | None = None) -> None:
    record_failure(session, SCOPE, [keys.client, keys.pair, keys.email], now)


def record_successful_login(session: Session, keys: LoginKeys, now: datetime | None = None) -> None:
    """Remember the client as one the agent uses; earlier failures stay counted."""
    record_failure(session, KNOWN_SCOPE, [keys.pair], now)
