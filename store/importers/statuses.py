"""A shop's order statuses in the store's words (processing, shipped, delivered, cancelled, returned).

Each format brings its platform's documented statuses; the shop can add or override any with
`--status WORD=STATUS` (or a mapping file's `statuses:`). A word in no map is a bad row, named in the
report, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from store.models import OrderStatus

STORE_STATUSES = ", ".join(s.value for s in OrderStatus)


class StatusMapError(ValueError):
    pass


def status_key(word: str) -> str:
    """'On hold', 'on-hold', 'wc-on-hold' and 'ON_HOLD' are one status."""
    return re.sub(r"^wc-", "", re.sub(r"[\s_]+", "-", (word or "").strip().lower()))


def store_status(value: str, source: str) -> OrderStatus:
    try:
        return OrderStatus(value.strip().lower())
    except ValueError:
        raise StatusMapError(f"{source}: {value!r} is not one of the store's statuses ({STORE_STATUSES})") from None


def status_map(defaults: Mapping[str, OrderStatus], extra: Mapping[str, str] | None = None,
               overrides: Iterable[str] = ()) -> dict[str, OrderStatus]:
    """`defaults`, then a mapping file's `extra` {word: status}, then `--status word=status` options."""
    result = {status_key(k): v for k, v in defaults.items()}
    for word, value in (extra or {}).items():
        result[status_key(str(word))] = store_status(str(value), f"status {word!r} in the mapping file")
    for option in overrides:
        word, sep, value = option.partition("=")
        if not sep or not word.strip():
            raise StatusMapError(f"--status {option!r}: write it as WORD=STATUS, e.g. --status on-hold=processing")
        result[status_key(word)] = store_status(value, f"--status {option}")
    return result


def unknown_status(word: str, hint: str = "--status {word}=STATUS") -> str:
    """Why the row is refused and how to map the word (`hint` with {word}: the CLI option or the mapping file)."""
    shown = status_key(word) or "(blank)"
    return (f"unknown order status {word!r}: map it with {hint.format(word=shown)} "
            f"(the store's statuses: {STORE_STATUSES})")
