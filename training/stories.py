"""A logged conversation as a Rasa test story (YAML), with the reviewers' intent labels and redacted text.

Built from the tracker store's events: each customer message becomes a `user` step (intent: the
reviewer's label when there is one, else the model's), each bot action an `action` step, slots and
forms `slot_was_set` / `active_loop`. Stretches an agent handled (between pause and resume) are left
out: the bot did not act there, so they test nothing. Saved as tests/stories/from_logs/test_*.yml
(Rasa only runs story files named test_*), where `rasa test core` picks them up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from training.annotations import AnnotationView
from training.rasa_yaml import annotate
from training.redaction import redact, redact_text

SKIP_ACTIONS = frozenset({"action_listen", "action_session_start", "action_unlikely_intent"})
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _scalar(value: Any) -> str:
    """A YAML scalar: JSON is valid YAML and quotes whatever needs quoting."""
    if isinstance(value, str):
        value = redact_text(value)
    return json.dumps(value, ensure_ascii=False)


def _user_step(event: Mapping[str, Any], label: AnnotationView | None) -> list[str]:
    parse_data = event.get("parse_data") if isinstance(event.get("parse_data"), dict) else {}
    intent = (parse_data.get("intent") or {}).get("name") or ""
    text = " ".join(str(event.get("text") or "").split())
    if label is not None and label.label:
        intent = label.label
    if not intent:
        return []
    if text.startswith("/"):  # a button payload: the intent is given, there is no text to understand
        return [f"  - intent: {_scalar(intent)}"]
    red = redact(text)
    if label is not None and label.label and label.text == red.text:
        spans = [(s.start, s.end, s.entity) for s in label.entities]
    else:
        spans = []
        for e in parse_data.get("entities") or []:
            try:
                span = red.map_span(int(e["start"]), int(e["end"]))
            except (KeyError, TypeError, ValueError):
                continue
            if span and e.get("entity"):
                spans.append((span[0], span[1], str(e["entity"])))
        spans = _non_overlapping(spans)
    example = annotate(red.text, spans)
    if example is None:  # text that reads as markup: keep the words, drop the brackets
        example = red.text.translate(str.maketrans("[]{}", "()()"))
    return ["  - user: |", f"      {example}", f"    intent: {_scalar(intent)}"]


def _non_overlapping(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    for span in sorted(set(spans)):
        if not out or span[0] >= out[-1][1]:
            out.append(span)
    return out


def story_yaml(conversation_id: str, events: list[tuple[int, Mapping[str, Any]]],
               labels: Mapping[int, AnnotationView] | None = None) -> str:
    """The conversation ((tracker event id, event) pairs) as test-story YAML; `labels` by event id."""
    labels = labels or {}
    steps: list[str] = []
    paused = False
    for event_id, event in events:
        kind = event.get("event")
        if kind == "pause":
            paused = True
        elif kind in ("resume", "restart", "session_started"):
            paused = False
        if paused:
            continue
        if kind == "user":
            steps += _user_step(event, labels.get(event_id))
        elif kind == "action" and event.get("name") and event["name"] not in SKIP_ACTIONS:
            steps.append(f"  - action: {_scalar(event['name'])}")
        elif kind == "slot" and event.get("name"):
            steps += ["  - slot_was_set:", f"    - {_scalar(event['name'])}: {_scalar(event.get('value'))}"]
        elif kind == "active_loop":
            steps.append(f"  - active_loop: {_scalar(event.get('name'))}")
    lines = ['version: "3.1"', "stories:", f"- story: {_scalar('from logs: ' + conversation_id)}", "  steps:"]
    return "\n".join(lines + (steps or ["  []"])) + "\n"


def story_filename(conversation_id: str) -> str:
    return f"test_{_SAFE.sub('_', conversation_id).strip('_')[:80] or 'conversation'}.yml"


def save_story(directory: Path, conversation_id: str, yaml_text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / story_filename(conversation_id)
    path.write_text(yaml_text, encoding="utf-8")
    return path
