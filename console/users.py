"""Console accounts: agents and admins, with salted password hashes (werkzeug, scrypt)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from console.handoffs import utcnow
from console.models import Agent, Role

MIN_PASSWORD_CHARS = 10
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
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
    if not _EMAIL.match(email) or len(email) > 254:
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


class LoginLocked(UserError):
    """Too many wrong passwords in a row: the account waits before accepting passwords again."""


def authenticate(sessions: sessionmaker[Session], email: str, password: str) -> AgentView | None:
    """The agent for a right email + password; None otherwise. Raises LoginLocked while locked."""
    now = utcnow()
    with sessions.begin() as s:
        agent = s.scalar(select(Agent).where(func.lower(Agent.email) == (email or "").strip().lower())
                         .with_for_update())
        if agent is None or not agent.active:
            check_password_hash(_DUMMY_HASH, password or "")
            return None
        if agent.locked_until is not None and agent.locked_until > now:
            raise LoginLocked(f"Too many wrong passwords. Try again in {LOCKOUT.seconds // 60} minutes.")
        if check_password_hash(agent.password_hash, password or ""):
            agent.failed_logins, agent.locked_until = 0, None
            return _view(agent)
        agent.failed_logins = (agent.failed_logins or 0) + 1
        if agent.failed_logins >= MAX_FAILED_LOGINS:
            agent.failed_logins, agent.locked_until = 0, now + LOCKOUT
        return None


def get_agent(sessions: sessionmaker[Session], agent_id: int) -> AgentView | None:
    with sessions() as s:
        agent = s.get(Agent, agent_id)
        return _view(agent) if agent is not None and agent.active else None
