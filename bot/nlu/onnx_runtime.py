"""ONNX Runtime for CPU inference: the fine-tuned model, exported at load, gives the same outputs in less time.

A short customer message costs a 6-layer encoder a few hundred MFLOP. PyTorch's eager mode runs it as some
two hundred separate operator calls, each dispatched from Python. ONNX Runtime fuses attention, GELU and LayerNorm
and runs the whole graph in C++, which cuts single-message latency on CPU with fp32 arithmetic, so accuracy is
kept (docs/BENCHMARKS.md).

The torch weights in the Rasa archive stay the source of truth. The export is done in memory when the model is
loaded, so archives trained before this option get the faster runtime too, and no archive carries the weights
twice.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import warnings

import torch
from torch import nn

logger = logging.getLogger(__name__)

INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAMES = ("intent_logits", "tag_logits")
OPSET = 17


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def export_to_onnx(model: nn.Module, outputs: dict[str, dict[int, str]] | None = None) -> bytes:
    """The model in eval mode as an ONNX graph with dynamic batch size and sequence length.

    `outputs` names the model's outputs and their dynamic axes (default: the joint model's intent and tag logits).

    The example input has a padded row, so that the attention-mask path is what gets traced: a batch without
    padding could let a mask-free shortcut into the graph.
    """
    model.eval()
    input_ids = torch.tensor([[101, 2073, 2003, 2026, 2344, 102], [101, 7592, 102, 0, 0, 0]])
    attention_mask = (input_ids != 0).long()
    outputs = outputs or {"intent_logits": {0: "batch"}, "tag_logits": {0: "batch", 1: "sequence"}}
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python-side shape checks in transformers
        torch.onnx.export(
            model,
            (input_ids, attention_mask),
            buffer,
            input_names=list(INPUT_NAMES),
            output_names=list(outputs),
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                          **outputs},
            opset_version=OPSET,
            do_constant_folding=True,
        )
    return buffer.getvalue()


class OnnxJointModel:
    """An ONNX Runtime session with the torch model's call signature, so JointPredictor runs it unchanged."""

    def __init__(self, onnx_model: bytes, threads: int = 0, output_names: tuple[str, ...] = OUTPUT_NAMES) -> None:
        import onnxruntime

        self.output_names = list(output_names)
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = max(0, threads)  # 0 = ONNX Runtime's default (one per physical core)
        options.inter_op_num_threads = 1
        # idle worker threads must not spin on a small shared box; they would take CPU from Rasa's own work
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(onnx_model, options, providers=["CPUExecutionProvider"])

    @classmethod
    def from_torch(cls, model: nn.Module, threads: int = 0) -> OnnxJointModel:
        return cls(export_to_onnx(model), threads)

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        feeds = {
            "input_ids": input_ids.cpu().numpy().astype("int64", copy=False),
            "attention_mask": attention_mask.cpu().numpy().astype("int64", copy=False),
        }
        return tuple(torch.from_numpy(output) for output in self.session.run(self.output_names, feeds))

    def eval(self) -> OnnxJointModel:
        return self

    def to(self, device: torch.device | str) -> OnnxJointModel:
        return self  # CPU only: a GPU keeps the torch model (see BertJointClassifier._make_predictor)
