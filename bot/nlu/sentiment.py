"""Per-message sentiment (VADER), stored with the message so the handoff policy and the agent console see it.

VADER is a lexicon and rule model tuned for short informal text (capitals, "!!", emoticons, "not good"),
needs no training and runs in microseconds, which suits a signal computed on every message. The scores
go into the message's parse data under `sentiment` ({"compound", "pos", "neu", "neg"}), which Rasa keeps
in the tracker with the user event: the conversation's history carries its own sentiment.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

SENTIMENT_KEY = "sentiment"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SentimentAnalyzer(GraphComponent):
    """Adds VADER scores to every message; changes nothing else."""

    def __init__(self) -> None:
        self._analyzer = SentimentIntensityAnalyzer()

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentimentAnalyzer:
        return cls()

    def scores(self, text: str | None) -> dict[str, float]:
        raw = self._analyzer.polarity_scores(text or "")
        return {key: round(float(raw[key]), 4) for key in ("compound", "pos", "neu", "neg")}

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            message.set(SENTIMENT_KEY, self.scores(message.get(TEXT)), add_to_output=True)
        return messages
