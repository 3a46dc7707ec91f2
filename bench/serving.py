"""Benchmark helper: serve a trained archive's BertJointClassifier with other serving settings, no retraining.

Serving settings (`runtime`, `quantize`, `cpu_threads`) change how the fine-tuned weights are run, not the
weights, so one trained model can be measured under each of them side by side.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any


def reload_joint_classifier(agent: Any, **overrides: Any) -> bool:
    """Load the agent's BertJointClassifier again from its archive with `overrides`; False if it has none.

    Rasa unpacks an archive into a temporary directory only while it loads the graph, so the archive is unpacked
    again here; the component reads everything it needs into memory.
    """
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    from bot.nlu.bert_joint import BertJointClassifier

    for node in getattr(agent.processor.graph_runner, "_instantiated_nodes", {}).values():
        component = getattr(node, "_component", None)
        if isinstance(component, BertJointClassifier):
            with tempfile.TemporaryDirectory(prefix="shopdesk-reload-") as directory:
                storage, _ = LocalModelStorage.from_model_archive(Path(directory), agent.processor.model_path)
                node._component = BertJointClassifier.load(
                    {**component.component_config, **overrides},
                    storage,
                    component._resource,
                    component._execution_context,
                )
            return node._component._predictor is not None
    return False
