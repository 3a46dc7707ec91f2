"""Flags messages the assistant should not try to understand: empty, oversized, binary, foreign-language.

Two components, no training (the checks are deterministic):

- `InputLimiter` runs first in the NLU pipeline. A message over `max_chars` reaches the tokenizer, the
  regexes and the encoder only as its first `keep_chars` characters, so its cost is small whatever its
  length (it ends as `invalid_input` anyway); the original text is kept aside.
- `InputGuard` runs last. Flagged messages get intent `invalid_input` (and the reason under `input_problem`
  in the parse data) so a rule can answer with a clear explanation instead of a confident guess at a shop
  intent; it runs after the classifiers, so their guesses never replace that intent, and drops the entities
  found in it, so it fills no slot. It puts a truncated message's original text back and reports it as
  `too_long`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

INVALID_INPUT_INTENT = "invalid_input"
PROBLEM_KEY = "input_problem"
# Where InputLimiter keeps an oversized message's full text (not part of the parse data's output).
ORIGINAL_TEXT_KEY = "shopdesk_original_text"
DEFAULT_MAX_CHARS = 2000
# What the components between the two see of an oversized message: enough for sentiment, a few encoder windows.
DEFAULT_KEEP_CHARS = 256

# A few of the commonest function words per language; a message made mostly of another language's
# function words is not English. Deliberately small: this is a guard, not a language identifier.
_STOPWORDS = {
    "en": "the a an and or is are was i you my me it to of in on for with this that have not do can what where "
          "how when why please order your be at from",
    "es": "el la los las de del que y en un una por para con mi es no se lo al como pero mis su está dónde "
          "quiero pedido",
    "fr": "le la les de des du et un une est je mon ma mes pour que pas avec sur où dans ce vous commande",
    "de": "der die das und ist ich nicht mein meine ein eine zu mit wo bitte für auf den dem sie wie habe "
          "bestellung",
    "it": "il lo la gli le di del che e un una è per non mio mia dove con sono ho ordine",
    "pt": "o os as de do da que e um uma é para não meu minha onde com em está pedido",
    "nl": "de het een en is ik niet mijn waar van voor met op te dat bestelling",
}
_STOPWORD_SETS = {lang: set(words.split()) for lang, words in _STOPWORDS.items()}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Emails, links, @handles and codes carry no language ("theo.okafor.b4e7@example.org" is not Italian).
_NOT_LANGUAGE = re.compile(r"\S+@\S+|(?<!\S)@\w+|https?://\S+|www\.\S+|\S*\d\S*", re.UNICODE)


def input_problem(text: str | None, max_chars: int = DEFAULT_MAX_CHARS) -> str | None:
    """'empty', 'too_long', 'binary' or 'language'; None for a message worth understanding."""
    if text is None or not text.strip():
        return "empty"
    if len(text) > max_chars:
        return "too_long"
    controls = sum(1 for ch in text if unicodedata.category(ch) in ("Cc", "Cs", "Co") and ch not in "\n\r\t")
    if controls or text.count("\ufffd") > 2:
        return "binary"
    text = _NOT_LANGUAGE.sub(" ", text)
    letters = [ch for ch in text if ch.isalpha()]
    if letters:
        latin = sum(1 for ch in letters if "LATIN" in unicodedata.name(ch, ""))
        if latin / len(letters) < 0.5:
            return "language"
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) >= 4:
        hits = {lang: sum(w in s for w in words) for lang, s in _STOPWORD_SETS.items()}
        foreign = max((h for lang, h in hits.items() if lang != "en"), default=0)
        if foreign >= 2 and foreign > 2 * hits["en"]:
            return "language"
    return None


class _LengthLimited(GraphComponent):
    """The configuration both input components share: messages longer than `max_chars` are too long."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"max_chars": DEFAULT_MAX_CHARS}

    def __init__(self, config: dict[str, Any]) -> None:
        self._max_chars = int(config.get("max_chars", DEFAULT_MAX_CHARS))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> _LengthLimited:
        return cls(config)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class InputLimiter(_LengthLimited):
    """First in the pipeline: the components after it see only the first `keep_chars` characters of a message
    longer than `max_chars`."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"max_chars": DEFAULT_MAX_CHARS, "keep_chars": DEFAULT_KEEP_CHARS}

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._keep_chars = min(self._max_chars, int(config.get("keep_chars", DEFAULT_KEEP_CHARS)))

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str) and len(text) > self._max_chars:
                message.set(ORIGINAL_TEXT_KEY, text)
                message.set(TEXT, text[: self._keep_chars])
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class InputGuard(_LengthLimited):
    """Last in the pipeline: flagged messages become `invalid_input`, whatever the classifiers guessed."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            original = message.get(ORIGINAL_TEXT_KEY)
            if isinstance(original, str):  # InputLimiter cut it short: too long, whatever our own limit says
                message.set(TEXT, original)
                problem: str | None = "too_long"
            else:
                problem = input_problem(message.get(TEXT), self._max_chars)
            if problem is None:
                continue
            intent = {"name": INVALID_INPUT_INTENT, "confidence": 1.0}
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
            message.set(ENTITIES, [], add_to_output=True)  # a message not understood fills no slot either
            message.set(PROBLEM_KEY, problem, add_to_output=True)
        return messages
