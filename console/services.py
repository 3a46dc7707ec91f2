"""Per-app services (database sessions, handoff desk, order desk, Rasa client), reached from requests."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy.orm import Session, sessionmaker

from console.handoffs import HandoffDesk
from console.rasa_client import RasaClient
from store.backend import OrderBackend

EXTENSION = "shopdesk_console"


@dataclass
class Services:
    sessions: sessionmaker[Session]
    handoffs: HandoffDesk
    orders: OrderBackend
    rasa: RasaClient


def services() -> Services:
    return current_app.extensions[EXTENSION]
