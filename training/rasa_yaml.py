"""Write Rasa 3 NLU training data (YAML with inline entity annotations)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

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


# `[value](entity)`, `[value]{"entity": ...}` and `[value](entity:synonym)`: the inline entity markup.
_ENTITY_MARKUP = re.compile(r"\[(?P<value>[^\]]+)\](?:\((?P<name>[^)]+)\)|\{[^}]*\})")


def plain_text(example: str) -> str:
    """The message an annotated example stands for, without the entity markup."""
    return _ENTITY_MARKUP.sub(lambda m: m.group("value"), example)


def nlu_examples(data: Any) -> Iterator[tuple[str, str]]:
    """(intent, annotated example) from one parsed Rasa YAML file's `nlu:` section."""
    items = data.get("nlu") if isinstance(data, dict) else None
    for item in items or []:
        if not isinstance(item, dict) or "intent" not in item:
            continue
        examples = item.get("examples")
        if isinstance(examples, str):
            for line in examples.splitlines():
                line = line.strip()
                if line.startswith("- "):
                    yield str(item["intent"]), line[2:].strip()
        elif isinstance(examples, list):  # the long form: [{text: ..., metadata: ...}]
            for entry in examples:
                if isinstance(entry, dict) and entry.get("text"):
                    yield str(item["intent"]), str(entry["text"]).strip()


def yaml_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def read_training_examples(data_dir: Path, exclude: Iterable[Path] = ()) -> list[tuple[str, str, Path]]:
    """(intent, annotated example, file) for every NLU example under `data_dir`."""
    skip = {p.resolve() for p in exclude}
    out = []
    for path in yaml_files(data_dir):
        if path.resolve() in skip:
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        out += [(intent, example, path) for intent, example in nlu_examples(data)]
    return out
