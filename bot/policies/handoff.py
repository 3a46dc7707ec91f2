"""A dialogue policy that hands the conversation to a person when the customer needs one.

Rules can say "intent X -> action Y", but not "after any message that is clearly angry" or "after the second
miss in a row, whatever the intents were": that needs the history, so it is a policy. It predicts
`action_handoff_to_human` with full confidence and a priority above the RulePolicy's, so it wins over the
rule that would otherwise answer; otherwise it abstains (all zeros). The triggers themselves live in
`bot.handoff_triggers`, shared with the action server. Nothing to train.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bot.handoff_triggers import (
    HANDOFF_ACTION,
    KB_MISSES_SLOT,
    Trigger,
    kb_trigger,
    message_trigger,
    user_turns_since_last_handoff,
)

logger = logging.getLogger(__name__)

# RulePolicy's default priority is 6: on equal confidence the higher priority wins.
DEFAULT_PRIORITY = 7


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class HandoffPolicy(Policy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": DEFAULT_PRIORITY}

    @staticmethod
    def supported_data() -> SupportedData:
        return SupportedData.ML_AND_RULE_DATA

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 execution_context: ExecutionContext, featurizer: Any = None) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)

    def train(self, training_trackers: list[Any], domain: Domain, **kwargs: Any) -> Resource:
        with self._model_storage.write_to(self._resource):
            pass  # nothing learned: the triggers are fixed
        return self._resource

    def trigger(self, tracker: DialogueStateTracker) -> Trigger | None:
        """Why this conversation should go to a person now, or None."""
        latest_action = tracker.latest_action_name
        if latest_action == HANDOFF_ACTION or tracker.is_paused():
            return None
        events = [event.as_dict() for event in tracker.events]
        kb_slot = tracker.slots.get(KB_MISSES_SLOT)
        if latest_action == ACTION_LISTEN_NAME and _awaiting_reply(events):
            found = message_trigger(user_turns_since_last_handoff(events), count_nlu_misses=kb_slot is None)
            if found:
                return found
        return kb_trigger(kb_slot.value) if kb_slot is not None else None

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     rule_only_data: dict[str, Any] | None = None,
                                     **kwargs: Any) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        if HANDOFF_ACTION in domain.action_names_or_texts:
            found = self.trigger(tracker)
            if found:
                logger.debug("Handing %s to a person: %s", tracker.sender_id, found.detail)
                probabilities[domain.index_for_action(HANDOFF_ACTION)] = 1.0
        return self._prediction(probabilities)


def _awaiting_reply(events: list[dict[str, Any]]) -> bool:
    """True right after a user message (slot events from slot mappings may follow it)."""
    for event in reversed(events):
        if event.get("event") in ("user", "action"):
            return event.get("event") == "user"
    return False
