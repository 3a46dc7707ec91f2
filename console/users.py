"""Console accounts: agents and admins, with salted password hashes (werkzeug, scrypt)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select, update
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
    active: bool = True
    session_epoch: int = 0
    last_seen_at: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def _view(agent: Agent) -> AgentView:
    return AgentView(id=agent.id, email=agent.email, display_name=agent.display_name, role=agent.role.value,
                     active=agent.active, session_epoch=agent.session_epoch or 0, last_seen_at=agent.last_seen_at)


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
    _check_password(password)
    name = (display_name or email.split("@", 1)[0]).strip()[:80] or email
    try:
        with sessions.begin() as s:
            agent = Agent(email=email, display_name=name, password_hash=generate_password_hash(password),
                          role=Role(role), active=True, failed_logins=0, created_at=utcnow(), session_epoch=0)
            s.add(agent)
            s.flush()
            return _view(agent)
    except IntegrityError as exc:
        raise UserError(f"There is already an account for {email}.") from exc


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_CHARS:
        raise UserError(f"The password must have at least {MIN_PASSWORD_CHARS} characters.")


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


# --- management by admins (console/admin.py) --------------------------------------------------------------
# Every change that could leave no active admin is one conditional UPDATE whose condition counts the other
# active admins, so two admins demoting each other at the same moment cannot both succeed.


def list_agents(sessions: sessionmaker[Session]) -> list[AgentView]:
    with sessions() as s:
        return [_view(a) for a in s.scalars(select(Agent).order_by(Agent.active.desc(), Agent.display_name,
                                                                     Agent.id))]


def find_agent(sessions: sessionmaker[Session], agent_id: int) -> AgentView:
    """The account, active or not; UserError when there is none."""
    with sessions() as s:
        agent = s.get(Agent, agent_id)
        if agent is None:
            raise UserError("There is no such account.")
        return _view(agent)


def _another_admin_remains(agent_id: int) -> object:
    others = (select(func.count()).select_from(Agent)
              .where(Agent.role == Role.ADMIN, Agent.active.is_(True), Agent.id != agent_id).scalar_subquery())
    return others > 0


def _update_keeping_an_admin(sessions: sessionmaker[Session], agent: AgentView, removes_admin: bool,
                             **values: object) -> None:
    condition = Agent.id == agent.id
    if removes_admin:
        condition = and_(condition, _another_admin_remains(agent.id))
    with sessions.begin() as s:
        changed = s.execute(update(Agent).where(condition).values(**values)
                            .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise UserError(f"{agent.display_name} is the last active admin: make another account an admin first, "
                        "so someone can still manage the console.")


def set_active(sessions: sessionmaker[Session], agent_id: int, active: bool) -> AgentView:
    """Disable (their sessions end on their next request, and they cannot sign in) or enable an account."""
    agent = find_agent(sessions, agent_id)
    if agent.active == active:
        return agent
    values: dict[str, object] = {"active": active}
    if not active:
        values.update(session_epoch=Agent.session_epoch + 1, last_seen_at=None)
    _update_keeping_an_admin(sessions, agent, removes_admin=not active and agent.is_admin, **values)
    return find_agent(sessions, agent_id)


def set_role(sessions: sessionmaker[Session], agent_id: int, role: str) -> AgentView:
    if role not in {r.value for r in Role}:
        raise UserError(f"Role must be one of: {', '.join(r.value for r in Role)}.")
    agent = find_agent(sessions, agent_id)
    if agent.role == role:
        return agent
    _update_keeping_an_admin(sessions, agent, removes_admin=agent.is_admin and agent.active, role=Role(role))
    return find_agent(sessions, agent_id)


def generated_password() -> str:
    """16 random URL-safe characters: what an admin hands to the agent, who signs in with it."""
    return secrets.token_urlsafe(12)


def reset_password(sessions: sessionmaker[Session], agent_id: int, password: str | None = None) -> str:
    """Set a new password (a generated one unless given) and end the account's sessions; returns it once."""
    password = password or generated_password()
    _check_password(password)
    agent = find_agent(sessions, agent_id)
    with sessions.begin() as s:
        s.execute(update(Agent).where(Agent.id == agent.id).values(
            password_hash=generate_password_hash(password), session_epoch=Agent.session_epoch + 1,
            failed_logins=0, locked_until=None))
    return password
