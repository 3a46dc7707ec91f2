"""Write Rasa 3 NLU training data (YAML with inline entity annotations)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

_MARKUP = set("[]{}")


def annotate(text: str, spans: Iterable[tuple[int, int, str]]) -> str | None:
    """Text with `[value](entity)` annotations; None when the text itself would read as markup."""
    text = " ".join(text.split("\n")).strip(" ")
    if not text or _MARKUP & set(text):
        return None
    out, cursor = [], 0
    for start, end, entity in sorted(spans):
        if start < cursor:
            return None  # overlapping spans cannot be expressed inline
        out += [text[cursor:start], f"[{text[start:end]}]({entity})"]
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def write_nlu_yaml(path: Path, examples: Mapping[str, Iterable[str]], header: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# {line}" for line in header.splitlines()] + ['version: "3.1"', "nlu:"]
    for intent in sorted(examples):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {example}" for example in examples[intent]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
