"""JSON log lines carrying the conversation id, for processes we own (action server, analytics consumer).

One JSON object per line on stderr/stdout, so any container platform's log collector can index them by
`conversation_id` (Rasa's own JSON lines carry the same key: bot.scaleout.channel binds it). The id is
kept in a context variable set per request, and a logging filter copies it onto every record.
Used from deploy/scaleout/logging-actions.yml (a dictConfig file) or `configure_json_logging()`.
"""

from __future__ import annotations

import json
import logging
import logging.config
from contextvars import ContextVar
from datetime import datetime, timezone
from pathlib import Path

import yaml

conversation_id: ContextVar[str | None] = ContextVar("conversation_id", default=None)


class ConversationIdFilter(logging.Filter):
    """Adds `conversation_id` (the Rasa sender_id of the request being served) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.conversation_id = conversation_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One compact JSON object per record: time, level, logger, message, conversation_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            "conversation_id": getattr(record, "conversation_id", None),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_json_logging(level: str = "INFO", config_file: str | Path | None = None) -> None:
    """dictConfig from `config_file` (YAML) when given, else JSON lines on stderr at `level`."""
    if config_file:
        logging.config.dictConfig(yaml.safe_load(Path(config_file).read_text()))
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ConversationIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
