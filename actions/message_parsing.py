"""What a customer's message says, read without Rasa: order numbers, emails, yes/no, stop, questions.

The NLU tags entities, but customers put details anywhere ("my email is x@y.com and the order is #581163",
"no sorry, I meant 581230", "INV-581163"), so the order forms read both the NLU's entities and the text
itself. Everything here is pure and linear-time on the (already length-capped) message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from difflib import SequenceMatcher
from typing import Any

from shop_profile import current_profile
from store.service import normalize_email, normalize_order_number

# Order numbers in text are the shop's own (shop.yml `order_numbers`, shop_profile.order_numbers): the demo
# shop's 5–8 digits ("#581163", "C581163"), a Shopify shop's "#1001", another's "S-5001".
_EMAIL_TOKEN = re.compile(r"[\w.+'-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
_ORDER_CUE = re.compile(r"(#\s?\d|\border\b|\bno\.|\bnumber\b|\bref\b|\binv)", re.IGNORECASE)
_CORRECTION_CUE = re.compile(
    r"\b(meant|mean|actually|sorry|wrong|typo|instead|not that one|other one|other order|different order|oops|"
    r"correction|my bad|i mean)\b", re.IGNORECASE)
_EXPLICIT_STOP = re.compile(
    r"^\W*(stop|cancel that|cancel this|never ?mind|nvm|forget (it|that|about it)|leave it|quit|exit|abort|"
    r"don'?t bother|no thanks?,? (stop|forget it)|"
    r"i don'?t want to (do|return|change|cancel) (this|that|it)( any ?more)?)\b", re.IGNORECASE)
_QUESTION_START = re.compile(
    r"^\W*(what|whats|what's|when|where|why|how|hows|who|which|do|does|did|can|could|is|are|will|would|should|"
    r"may|am i|is there|are there|any ?way)\b", re.IGNORECASE)
_REQUEST_CUE = re.compile(
    r"\b(instead|actually|rather|can (i|you|u)|could (i|you|u)|i want|i wanna|i'?d like|i would like|i need|"
    r"please|pls|plz|how do i|where is|where's|wheres)\b", re.IGNORECASE)
_YES = re.compile(r"^\W*(y|ya|yes+|yeah|yep|yup|yea|sure|ok|okay|k|correct|right|confirm(ed)?|go ahead|do it|"
                  r"please do|absolutely|definitely|of course|affirmative|that'?s right|sounds good|"
                  r"yes please)\b", re.IGNORECASE)
_NO = re.compile(r"^\W*(n|no+|nope|nah|don'?t|do not|no thanks|not really|negative)\b", re.IGNORECASE)
_ADDRESS_HINT = re.compile(
    r"(\d+[a-z]?\s+\w+|\b(street|st|road|rd|avenue|ave|lane|ln|close|drive|dr|way|place|pl|court|ct|square|sq|"
    r"crescent|terrace|gardens|grove|hill|park|row|walk|flat|apartment|apt|unit|house|po box|p\.o\.)\b|"
    r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b)", re.IGNORECASE)
_REASON_CLAUSE = re.compile(r"\b(?:because|cause|cos|coz|cuz|since|as)\b\s+(.{3,300})$", re.IGNORECASE)
_SEGMENT = re.compile(r"[,.;!?]+\s*|\s+-\s+|\s+so\s+", re.IGNORECASE)
_WORDS = re.compile(r"[A-Za-z']+")
_STREET = re.compile(r"\d+[a-z]?\s+[A-Za-z]{2,}|\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)
# Words that ask for the return rather than saying why ("I'd like to return this one please").
_REQUEST_WORDS = frozenset({
    "i", "i'd", "id", "i'm", "im", "would", "like", "want", "wanna", "need", "to", "can", "could", "may", "please",
    "pls", "plz", "return", "returning", "returned", "send", "back", "refund", "my", "the", "it", "its", "it's",
    "this", "that", "one", "these", "those", "them", "item", "items", "order", "orders", "a", "an", "for", "from",
    "hi", "hello", "hey", "there", "thanks", "thank", "you", "ok", "okay", "so", "just", "email", "e-mail", "is",
    "here", "number", "hiya", "yo", "morning", "afternoon", "evening", "good", "dear", "team", "guys"})
_LEADING_REQUEST = re.compile(r"^\s*(?:hi|hello|hey|i|can|could|please|pls|return|retrun|send)\b", re.IGNORECASE)
_NOT_AN_ADDRESS_START = re.compile(r"\W*(change|update|cancel|return|track|get|see|know|check|send|have|be|do|"
                                   r"make|go|the address)\b", re.IGNORECASE)
_ADDRESS_CLAUSE = re.compile(r"\b(?:to|address is|new address)\s*:?\s+(.{6,300})$", re.IGNORECASE)


def entity_values(message: Mapping[str, Any], *names: str) -> list[str]:
    """The values the NLU tagged as any of `names`, in order."""
    return [str(e.get("value")) for e in (message.get("entities") or [])
            if e.get("entity") in names and e.get("value") not in (None, "")]


def _unique(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def order_numbers(message: Mapping[str, Any]) -> list[str]:
    """Every distinct order number the message names, tagged or written (INV-581163 names order 581163).

    The NLU tags the demo shop's kind of number; the text is read by the shop's own pattern, so a shop's
    "#1001" or "S-5001" is found whether or not the NLU tagged it."""
    text = str(message.get("text") or "")
    shop = current_profile().order_numbers
    tagged = [normalize_order_number(_invoice_to_order(v)) for v in entity_values(message, "order_id", "invoice_id")]
    written = [normalize_order_number(m.group(1)) for m in shop.on_invoice.finditer(text)]
    if not text.startswith("/"):
        written += shop.find(_without_emails(text))
    return _unique(tagged + written)


def without_order_numbers(text: str) -> str:
    """`text` with the shop's order numbers cut out (what else a short message says)."""
    return current_profile().order_numbers.strip(text)


def _invoice_to_order(value: str) -> str:
    return re.sub(r"^INV-?\s?", "", value.strip(), flags=re.IGNORECASE)


def _without_emails(text: str) -> str:
    return _EMAIL_TOKEN.sub(" ", text)


def emails(message: Mapping[str, Any]) -> list[str]:
    """Every distinct valid email in the message (tagged or written)."""
    text = str(message.get("text") or "")
    found = entity_values(message, "email") + [m.group(0).rstrip(".-'") for m in _EMAIL_TOKEN.finditer(text)]
    return _unique(normalize_email(v) for v in found)


def names_an_order_explicitly(text: str) -> bool:
    """"order 581230", "#581230", "INV-…": a number the customer means as an order, even inside other text."""
    return bool(_ORDER_CUE.search(text))


def is_correction(text: str) -> bool:
    return bool(_CORRECTION_CUE.search(text))


def is_explicit_stop(text: str) -> bool:
    return bool(_EXPLICIT_STOP.search(text))


def is_question(text: str) -> bool:
    stripped = text.strip()
    return stripped.endswith("?") or bool(_QUESTION_START.search(stripped))


def is_request(text: str) -> bool:
    """Phrased as a request or a question ("actually can I…", "I want to…"), not as a statement of fact."""
    return is_question(text) or bool(_REQUEST_CUE.search(text))


def yes_or_no(text: str, intent: str) -> bool | None:
    """True for yes, False for no, None when the message is neither."""
    if intent == "affirm" or (intent not in ("deny", "stop") and _YES.search(text) and not _NO.search(text)):
        return True
    if intent in ("deny", "stop") or _NO.search(text):
        return False
    return None


def looks_like_address(text: str) -> bool:
    """A house number and street, a street word, a UK postcode or a PO box: worth parsing as an address."""
    return len(text.strip()) >= 6 and bool(_ADDRESS_HINT.search(text)) and any(c.isalpha() for c in text)


def looks_like_street(text: str) -> bool:
    """A house number with a street (or a postcode): "19 Queen Street", "Flat 2, 40 Temple St", "LS1 4AB"."""
    return looks_like_address(text) and bool(_STREET.search(text))


def reason_in(text: str) -> str | None:
    """Why the customer returns it, from the message that starts a return: the "because …" part, or whatever
    the message says besides asking for the return ("order 581146 arrived damaged, I want to return it",
    "return 581146 wrong size"). None when it only asks for the return."""
    match = _REASON_CLAUSE.search(text)
    if match:
        return " ".join(match.group(1).split())
    kept = []
    for segment in _SEGMENT.split(current_profile().order_numbers.mention.sub(" ", _EMAIL_TOKEN.sub(" ", text))):
        words = _WORDS.findall(segment)
        if any(len(w) >= 3 and not _is_request_word(w) for w in words):
            kept.append(" ".join(w for w in segment.split() if not _is_request_word(w.strip(".,!?;:"))
                                 or not _LEADING_REQUEST.match(segment)).strip(" ,.;:-"))
    reason = " ".join(" ".join(k.split()) for k in kept if k).strip()
    return reason or None


def _is_request_word(word: str) -> bool:
    lowered = word.lower()
    return lowered in _REQUEST_WORDS or any(SequenceMatcher(None, lowered, w).ratio() >= 0.8
                                            for w in ("return", "refund", "order", "please"))


def address_in(text: str) -> str | None:
    """The "… to <address>" part of a message that starts an address change, when it looks like one."""
    match = _ADDRESS_CLAUSE.search(text)
    candidate = match.group(1) if match else ""
    if candidate and looks_like_street(candidate) and not _NOT_AN_ADDRESS_START.match(candidate):
        return " ".join(candidate.split())
    return None
