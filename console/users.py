"""Console accounts: agents and admins, with salted password hashes (werkzeug, scrypt)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from console.handoffs import utcnow
from console.login_throttle import is_blocked, login_keys, record_failed_login, record_successful_login
from console.models import Agent, Role

MIN_PASSWORD_CHARS = 10
# Bounded parts: the match is linear in the input (an unbounded `[^@\s]+\.[^@\s]+` backtracks quadratically).
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]{1,63}(?:\.[^@\s.]{1,63}){1,8}$")
# Compared against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class UserError(ValueError):
    """Bad input for an account (the message says what to fix)."""


@dataclass(frozen=True)
class AgentView:
    id: int
    email: str
    display_name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def _view(agent: Agent) -> AgentView:
    return AgentView(id=agent.id, email=agent.email, display_name=agent.display_name, role=agent.role.value)


def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise UserError(f"'{email}' is not a valid email address.")
    return email


def create_user(sessions: sessionmaker[Session], email: str, password: str, role: str,
                display_name: str | None = None) -> AgentView:
    email = normalize_email(email)
    if role not in {r.value for r in Role}:
        raise UserError(f"Role must be one of: {', '.join(r.value for r in Role)}.")
    if len(password or "") < MIN_PASSWORD_CHARS:
        raise UserError(f"The password must have at least {MIN_PASSWORD_CHARS} characters.")
    name = (display_name or email.split("@", 1)[0]).strip()[:80] or email
    try:
        with sessions.begin() as s:
            agent = Agent(email=email, display_name=name, password_hash=generate_password_hash(password),
                          role=Role(role), active=True, failed_logins=0, created_at=utcnow())
            s.add(agent)
            s.flush()
            return _view(agent)
    except IntegrityError as exc:
        raise UserError(f"There is already an account for {email}.") from exc


class LoginThrottled(UserError):
    """Too many failed sign-ins from this client (or for this account from it): wait before trying again."""


THROTTLED_MESSAGE = "Too many sign-in attempts. Please wait a few minutes and try again."


def authenticate(sessions: sessionmaker[Session], email: str, password: str,
                 client: str = "unknown") -> AgentView | None:
    """The agent for a right email + password; None otherwise. Raises LoginThrottled before checking anything
    while `client` (its address) is throttled. Unknown accounts and wrong passwords cost the same and count
    the same, so neither the answer nor its timing says which emails are agents."""
    email = (email or "").strip().lower()
    keys = login_keys(email, client)
    with sessions.begin() as s:
        if is_blocked(s, keys):
            raise LoginThrottled(THROTTLED_MESSAGE)
        agent = s.scalar(select(Agent).where(func.lower(Agent.email) == email))
        if agent is None or not agent.active:
            check_password_hash(_DUMMY_HASH, password or "")
            agent = None
        elif not check_password_hash(agent.password_hash, password or ""):
            agent = None
        if agent is None:
            record_failed_login(s, keys)
            return None
        record_successful_login(s, keys)
        return _view(agent)


def get_agent(sessions: sessionmaker[Session], agent_id: int) -> AgentView | None:
    with sessions() as s:
        agent = s.get(Agent, agent_id)
        return _view(agent) if agent is not None and agent.active else None
