"""What the shop's order numbers look like (shop.yml `order_numbers`): the one definition every part reads.

The chat picks order numbers out of customers' messages, the order desk normalises what it is given, the
importers warn about numbers the chat can't read, the recommender and the HTTP backend look orders up by
number: all of them use `OrderNumbers` from the current profile, so a shop whose numbers are `#1001`, `S-5001`
or `WC-2024-00017` says so once. Patterns come from a shop owner's file and run on every message, so
`pattern_problem` refuses what could run away (unbounded or nested repetition, anchors, look-arounds,
back-references) before one is used. Standard library only: the Rasa server (Python 3.10) imports it too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

try:
    from re import _parser as sre_parse  # Python 3.11+
except ImportError:  # pragma: no cover - Python 3.10 (the Rasa server)
    import sre_parse  # type: ignore[no-redef]

MAX_NUMBER_LENGTH = 32  # what the store's orders.number column and the importers hold
MAX_PATTERN_LENGTH = 200
# Words customers put before a number ("order no. 1001", "number S-5001"): not part of it.
_LEAD_WORDS = re.compile(r"(?i)^(?:(?:order|number|no\b\.?)\s*)+")
_NO_CONTEXT = ("AT", "ASSERT", "ASSERT_NOT", "GROUPREF", "GROUPREF_EXISTS")
_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
_GROUP = "shopdesk_number"


@dataclass(frozen=True)
class OrderNumbers:
    """`pattern`: a whole order number, after its prefix (matched ignoring case; numbers are kept upper case).
    `in_text`: what the chat picks out of a longer message (defaults to `pattern`; narrower where the
    shop's numbers look like other numbers). `prefixes`: written before a number but not part of it ("#").
    `examples`: numbers as customers see them, quoted in replies ("it looks like S-5001")."""

    pattern: str = r"[A-Z]?\d{4,20}"
    in_text: str = r"C?\d{5,8}"
    prefixes: tuple[str, ...] = ("#",)
    examples: tuple[str, ...] = ()

    def normalize(self, text: str | None) -> str | None:
        """'#1001', ' order no. S-5001 ' -> '1001', 'S-5001'; None when it can't be one of the shop's numbers."""
        if not text:
            return None
        candidate = _LEAD_WORDS.sub("", text.strip()).strip()
        for prefix in sorted(self.prefixes, key=len, reverse=True):
            if candidate.startswith(prefix):
                candidate = candidate[len(prefix):].strip()
                break
        candidate = candidate.upper()
        if not candidate or len(candidate) > MAX_NUMBER_LENGTH:
            return None
        return candidate if _whole(self.pattern).fullmatch(candidate) else None

    def find(self, text: str) -> list[str]:
        """The order numbers written in `text`, normalised, in order (repeats kept)."""
        found = (self.normalize(m.group(_GROUP)) for m in _in_text(self.in_text, self.prefixes).finditer(text))
        return [n for n in found if n]

    def strip(self, text: str, replacement: str = " ") -> str:
        """`text` without the order numbers in it (with their prefix)."""
        return _in_text(self.in_text, self.prefixes).sub(replacement, text)

    @property
    def on_invoice(self) -> re.Pattern[str]:
        """"INV-S-5001", "inv 1001": an invoice reference names its order; group 1 is the order number."""
        return _invoice(self.pattern)

    @property
    def mention(self) -> re.Pattern[str]:
        """"for my order no. S-5001": a number with the words that introduce it (cut from a return reason)."""
        return _mention(self.in_text, self.prefixes)

    def looks_like(self) -> str:
        """"Order numbers look like S-5001 or S-5002." ("" when the profile gives no examples)."""
        if not self.examples:
            return ""
        listed = self.examples[0] if len(self.examples) == 1 else \
            f"{', '.join(self.examples[:-1])} or {self.examples[-1]}"
        return f"Order numbers look like {listed}."


def _prefix_part(prefixes: tuple[str, ...]) -> str:
    alternatives = "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True) if p)
    return rf"(?:(?:{alternatives})\s?)?" if alternatives else ""


@lru_cache(maxsize=32)
def _whole(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?:{pattern})", re.IGNORECASE)


@lru_cache(maxsize=32)
def _in_text(in_text: str, prefixes: tuple[str, ...]) -> re.Pattern[str]:
    # Never part of a longer token: a phone number, a price, an email, a decimal, a path.
    return re.compile(rf"(?<![\w@£$€.,/-]){_prefix_part(prefixes)}(?P<{_GROUP}>{in_text})(?![\w@%/-]|[.,]\d)",
                      re.IGNORECASE)


@lru_cache(maxsize=32)
def _invoice(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"\bINV-?\s?((?:{pattern}))(?![\w-])", re.IGNORECASE)


@lru_cache(maxsize=32)
def _mention(in_text: str, prefixes: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(rf"(?:\b(?:from|for|on|of)\s+)?(?:\b(?:my\s+)?(?:order|ordr|purchase)\s*(?:no\.?|number)?\s*)?"
                      rf"(?<![\w-]){_prefix_part(prefixes)}(?:{in_text})(?![\w-])", re.IGNORECASE)


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` can't be the shop's order-number pattern, or None when it is safe to run on every message."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"is longer than {MAX_PATTERN_LENGTH} characters"
    try:
        re.compile(pattern)
        parsed = sre_parse.parse(pattern)
    except re.error as error:
        return f"is not a valid regular expression ({error})"
    if f"?P<{_GROUP}>" in pattern:
        return f"must not name a group {_GROUP!r}"
    low, high = parsed.getwidth()
    if low < 1:
        return "matches an empty text; an order number has at least one character"
    if high > MAX_NUMBER_LENGTH:
        return (f"matches numbers of unbounded length or longer than {MAX_NUMBER_LENGTH} characters: use counted "
                r"repeats like \d{4,8} instead of +, * or {4,}")
    return _structure_problem(list(parsed), inside_repeat=False)


def _structure_problem(items: list, inside_repeat: bool) -> str | None:
    """Anchors, look-arounds, back-references and a varying repeat inside a repeat (catastrophic backtracking)."""
    for op, value in items:
        name = str(op)
        if name in _NO_CONTEXT:
            return ("must not use anchors (^, $, \\b), look-arounds or back-references: ShopDesk matches it "
                    "against a whole number and finds it inside messages itself")
        subpatterns: list[list] = []
        repeats = inside_repeat
        if name in _REPEATS:
            low, high, sub = value
            if inside_repeat and low != high:
                return r"repeats a repetition, like (\d{1,3})+ or (\d{2,3}-){2}: write one counted repeat instead"
            repeats = inside_repeat or high > 1
            subpatterns = [list(sub)]
        elif name == "SUBPATTERN":
            subpatterns = [list(value[-1])]
        elif name == "ATOMIC_GROUP":
            subpatterns = [list(value)]
        elif name == "BRANCH":
            subpatterns = [list(branch) for branch in value[1]]
        for sub in subpatterns:
            problem = _structure_problem(sub, repeats)
            if problem:
                return problem
    return None


def check_in_text(in_text: str, prefixes: tuple[str, ...]) -> str | None:
    """Whether the combined in-message finder compiles (a prefix could break it)."""
    try:
        _in_text(in_text, prefixes)
        _mention(in_text, prefixes)
    except re.error as error:
        return f"cannot be searched for in messages ({error})"
    return None
