"""Request validation shared by our channels: what a sender id, a message and its metadata may be.

Why at the channel: anything past it is stored by the tracker store and read by the NLU pipeline. A lone
surrogate in a sender id (`"s\\udfff"`) cannot be encoded for the database and stopped Rasa; a 100k-char
message made the pipeline's regexes run for a minute; a number where a string belongs became a Rasa 500.
So every channel answers such a request with a clear 400 before Rasa sees it, and nothing is stored.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_BODY_BYTES = 64 * 1024
MAX_MESSAGE_CHARS = 5000
MAX_SENDER_CHARS = 128
MAX_ID_CHARS = 128          # message ids, client identities
MAX_TOKEN_CHARS = 4096      # signed customer tokens
MAX_METADATA_DEPTH = 16

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidRequest(ValueError):
    """A request the channel refuses: `status` (4xx) and a message safe to show the caller."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def has_lone_surrogate(text: str) -> bool:
    """Python strings decoded from JSON `\\udXXX` escapes can hold surrogates no encoder accepts."""
    return _LONE_SURROGATE.search(text) is not None


def parse_json_object(raw: bytes | None) -> dict[str, Any]:
    """The body as a JSON object; bad UTF-8, bad JSON, absurd nesting or a non-object are a 400."""
    if len(raw or b"") > MAX_BODY_BYTES:
        raise InvalidRequest(f"the body is larger than {MAX_BODY_BYTES} bytes", status=413)
    try:
        body = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidRequest("the body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    return body


def check_sender(value: object) -> str:
    """1 to MAX_SENDER_CHARS printable characters (no control characters, no surrogates), not just spaces."""
    if (not isinstance(value, str) or not 0 < len(value) <= MAX_SENDER_CHARS or not value.isprintable()
            or not value.strip()):
        raise InvalidRequest(f"`sender` must be a string of 1 to {MAX_SENDER_CHARS} printable characters")
    return value


def check_message(value: object) -> str:
    """Text with something in it, at most MAX_MESSAGE_CHARS, no lone surrogates and no NUL characters.

    NUL is refused because PostgreSQL (the scale-out tracker store) cannot store it; other control
    characters reach the input guard, which answers that the message looks garbled.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("`message` must be a non-empty string")
    if len(value) > MAX_MESSAGE_CHARS:
        raise InvalidRequest(f"`message` is longer than {MAX_MESSAGE_CHARS} characters")
    if has_lone_surrogate(value) or "\x00" in value:
        raise InvalidRequest("`message` contains characters that are not valid text (lone surrogates or NUL)")
    return value


def check_json_text(value: object, name: str, depth: int = 0) -> None:
    """Every string (keys too) in a JSON value is storable text, and the value is not absurdly nested."""
    if depth > MAX_METADATA_DEPTH:
        raise InvalidRequest(f"`{name}` is nested deeper than {MAX_METADATA_DEPTH} levels")
    if isinstance(value, str):
        if has_lone_surrogate(value):
            raise InvalidRequest(f"`{name}` contains lone surrogates")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_json_text(key, name, depth + 1)
            check_json_text(item, name, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_json_text(item, name, depth + 1)


def check_metadata(value: object) -> dict[str, Any]:
    """Absent/null is {}; otherwise a JSON object of storable text (a copy: callers add server-side keys)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest("`metadata` must be a JSON object")
    check_json_text(value, "metadata")
    return dict(value)


def check_optional_string(body: dict[str, Any], key: str, max_chars: int, printable: bool = True) -> str | None:
    """`body[key]`: absent/null, or a non-empty string of at most `max_chars` (printable if asked)."""
    value = body.get(key)
    if value is None:
        return None
    if (not isinstance(value, str) or not 0 < len(value) <= max_chars or has_lone_surrogate(value)
            or (printable and not value.isprintable())):
        raise InvalidRequest(f"`{key}` must be a string of 1 to {max_chars} printable characters")
    return value


def check_client_identity(value: str | None) -> str | None:
    """A client identity a trusted backend passed in a header: printable, bounded; None when absent."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > MAX_ID_CHARS or not value.isprintable():
        raise InvalidRequest(f"the client identity header must be 1 to {MAX_ID_CHARS} printable characters")
    return value
