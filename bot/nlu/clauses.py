"""Split a message into the separate requests a customer strings together. Pure Python, no Rasa import.

"cancel 581146 and what's your returns policy?" is two requests; one intent for the whole message loses one
of them. The classifier (bot/nlu/bert_joint.py) also classifies each clause found here and records the
extra requests in the message's parse data, so the dialogue can handle or acknowledge every one of them.

Conservative on purpose: sentences, and "and"/"also"/"plus"/"btw" only where a new request starts (a question
word, "I", "can you"...), so "cancel 581146 and 581150" or "a black and white mug" stay whole.
"""

from __future__ import annotations

import re

MAX_CLAUSES = 3
MIN_WORDS = 2
_SENTENCE = re.compile(r"(?<=[.?!])\s+|\n+")
_REQUEST_START = (r"(?:can|could|would|will|how|what|whats|what's|when|where|wheres|where's|why|who|which|do|does|"
                  r"did|is|are|i|i'd|i'm|im|id|please|pls|plz|also|my|tell|send|show|cancel|track|change)\b")
_CONNECTOR = re.compile(r"[,;]?\s+(?:and also|also|plus|oh and|and then|btw|by the way|another thing|and)\s+"
                        rf"(?={_REQUEST_START})|[,;]\s+(?=(?:how|what|whats|what's|when|where|why|can|could|do|does|"
                        r"is|are|will|would)\b)", re.IGNORECASE)
_WORD = re.compile(r"[\w']+")


def split_requests(text: str) -> list[str]:
    """The message's clauses that each look like a request of their own (one clause: nothing to split)."""
    if not text or text.startswith("/"):
        return [text]
    parts = [p for sentence in _SENTENCE.split(text.strip()) for p in _CONNECTOR.split(sentence)]
    clauses = [p.strip(" ,;") for p in parts if len(_WORD.findall(p)) >= MIN_WORDS]
    if len(clauses) < 2:
        return [text]
    return clauses[:MAX_CLAUSES]


REQUESTS_KEY = "shopdesk_requests"  # parse data: the message's other requests, [{intent, confidence, text}]
CLEAR = 0.6  # a clause's intent counts as a request of its own from this calibrated confidence
AMBIGUOUS = 0.5  # below this the whole message is unclear (the fallback threshold)
# The order flows (actions/order_forms.py FLOW_FORMS): a clause asking for one of these leads the message.
TASK_INTENTS = frozenset({"track_order", "cancel_order", "change_shipping_address", "get_refund", "track_refund",
                          "get_invoice", "list_orders"})
PERSON_INTENT = "contact_human_agent"
UNCLEAR_QUESTION = "nlu_fallback"  # a clause that is a question the classifier can't place: for the help pages
_QUESTION = re.compile(r"\?\s*$|^\W*(?:how|what|whats|what's|when|where|why|who|which|do|does|can|could|is|are|"
                       r"will|would)\b", re.IGNORECASE)
# Clauses that are context or courtesy, not requests to act on ("hi there.", "the mug arrived broken").
NOT_A_REQUEST = frozenset({"greet", "goodbye", "thanks", "affirm", "deny", "inform", "stop", "out_of_scope",
                           "invalid_input", "complaint", "bot_challenge"})


def other_requests(requests: list[dict], main_intent: str) -> list[dict]:
    """The clear requests besides the main intent, one per intent, in the order the customer made them."""
    seen = {main_intent}
    found = []
    for request in requests:
        if request["confidence"] >= CLEAR and request["intent"] not in NOT_A_REQUEST | seen:
            seen.add(request["intent"])
            found.append(request)
        elif request["confidence"] < CLEAR and _QUESTION.search(request["text"]) and request["intent"] != main_intent:
            # "…and when are your agents available": unclear to the classifier, but plainly a question
            found.append({**request, "intent": UNCLEAR_QUESTION})
    return found


def lead_with_a_clear_request(ranking: list[dict], requests: list[dict]) -> list[dict]:
    """Which request leads: a request for a person, then a clear task in any clause (the conversation goes
    there; questions are answered on the way), else the whole message's intent, else, when that is ambiguous,
    the first clear request."""
    main = ranking[0]["name"] if ranking else None
    person = next((r for r in requests if r["confidence"] >= CLEAR and r["intent"] == PERSON_INTENT), None)
    if person is not None and main != PERSON_INTENT:
        return _led_by(person, ranking)  # "get me a human. I need to …": asked for a person, outright
    task = next((r for r in requests if r["confidence"] >= CLEAR and r["intent"] in TASK_INTENTS), None)
    if task is not None and main not in TASK_INTENTS:
        return _led_by(task, ranking)
    if ranking and ranking[0]["confidence"] >= AMBIGUOUS:
        return ranking
    clear = next((r for r in requests if r["confidence"] >= CLEAR and r["intent"] not in NOT_A_REQUEST), None)
    if clear is None:
        return ranking
    return _led_by(clear, ranking)


def _led_by(request: dict, ranking: list[dict]) -> list[dict]:
    lead = {"name": request["intent"], "confidence": request["confidence"]}
    return [lead] + [r for r in ranking if r["name"] != request["intent"]]
