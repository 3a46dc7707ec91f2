"""Turn reviewed messages into Rasa NLU training data: training_data/nlu/from_logs.yml, then validate.

The file is rebuilt from all annotations every time (so it never drifts from them), holds only data from
logs, and keeps none of what the rest of the training data already says. An example whose text the
training data already has under another intent is a conflict: it is left out and reported, never
silently relabelled. If `rasa data validate` refuses the result, the previous file is put back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from training.annotations import AnnotationBook, AnnotationView, domain_names
from training.rasa_cli import RasaCommandFailed, run_rasa
from training.rasa_yaml import annotate, plain_text, read_training_examples, write_nlu_yaml
from training.redaction import redact
from training.settings import TrainingSettings

HEADER = ("Customer messages from conversation logs, reviewed in the console (training/export.py).\n"
          "Rebuilt on every export: edit the annotations in the console, not this file. Personal data redacted.")
_PUNCT = re.compile(r"[^\w\s]")


class ExportRefused(ValueError):
    """Nothing was written: the annotations name intents or entities the domain lacks."""


class ValidationFailed(RuntimeError):
    """`rasa data validate` refused the data; the previous export file was restored."""


@dataclass
class ExportResult:
    path: Path
    written: int = 0
    duplicates: list[str] = field(default_factory=list)  # already in the training data (or twice here)
    conflicts: list[str] = field(default_factory=list)  # in the training data under another intent
    skipped: list[str] = field(default_factory=list)  # text that cannot be written as an example
    validation: str = ""

    @property
    def summary(self) -> str:
        parts = [f"{self.written} example(s) in {self.path.name}"]
        if self.duplicates:
            parts.append(f"{len(self.duplicates)} duplicate(s) left out")
        if self.conflicts:
            parts.append(f"{len(self.conflicts)} conflict(s) with existing training data left out")
        if self.skipped:
            parts.append(f"{len(self.skipped)} unusable")
        return ", ".join(parts)


def normalise(text: str) -> str:
    """What makes two examples the same: case, punctuation and spacing do not count."""
    return " ".join(_PUNCT.sub(" ", plain_text(text)).casefold().split())


def build_examples(annotations: list[AnnotationView], settings: TrainingSettings
                   ) -> tuple[dict[str, list[str]], ExportResult, list[int]]:
    """intent -> annotated examples, deduplicated; the result's bookkeeping; ids of annotations written."""
    result = ExportResult(path=settings.export_file)
    intents, entities = domain_names(settings.domain)
    labelled = [a for a in annotations if a.label]
    unknown = sorted({a.label for a in labelled} - intents)
    unknown_entities = sorted({s.entity for a in labelled for s in a.entities} - entities)
    if unknown or unknown_entities:
        what = [f"intent(s) {', '.join(unknown)}"] if unknown else []
        what += [f"entity type(s) {', '.join(unknown_entities)}"] if unknown_entities else []
        raise ExportRefused(f"Not exported: {' and '.join(what)} not in {settings.domain.name}. Relabel those "
                            "messages or add the names to the domain first.")
    existing = {normalise(example): intent for intent, example, _ in
                read_training_examples(settings.data_dir, exclude=[settings.export_file])}
    seen: set[str] = set()
    examples: dict[str, list[str]] = {}
    written: list[int] = []
    for a in labelled:  # newest first: the latest verdict on a text wins
        text = redact(a.text).text  # stored redacted already; again in case the rules grew since
        key = normalise(text)
        if not key:
            result.skipped.append(a.text)
            continue
        if key in seen:
            result.duplicates.append(text)
            continue
        seen.add(key)
        if key in existing:
            (result.duplicates if existing[key] == a.label else result.conflicts).append(text)
            continue
        spans = [(s.start, s.end, s.entity) for s in a.entities] if text == a.text else []
        example = annotate(text, spans)
        if example is None:
            result.skipped.append(text)
            continue
        examples.setdefault(a.label, []).append(example)
        written.append(a.id)
    result.written = len(written)
    return examples, result, written


def validate(settings: TrainingSettings) -> str:
    """`rasa data validate` on the training data, domain and config; returns its output, raises if it fails."""
    _, output = run_rasa(settings, "data", "validate", "--domain", str(settings.domain), "--data",
                         str(settings.data_dir), "--config", str(settings.config))
    return output


def export(book: AnnotationBook, settings: TrainingSettings, run_validation: bool = True) -> ExportResult:
    examples, result, written = build_examples(book.all(), settings)
    path = settings.export_file
    previous = path.read_bytes() if path.exists() else None
    if examples:
        write_nlu_yaml(path, {intent: sorted(v) for intent, v in examples.items()}, header=HEADER)
    else:  # an empty `nlu:` would read as null, which Rasa's schema refuses
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"# {line}\n" for line in HEADER.splitlines()) + 'version: "3.1"\nnlu: []\n',
                        encoding="utf-8")
    if run_validation:
        try:
            result.validation = validate(settings)
        except RasaCommandFailed as exc:
            if previous is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(previous)
            raise ValidationFailed("rasa data validate refused the exported data, so the previous "
                                   f"{path.name} was kept:\n{exc.output[-2000:]}") from exc
    book.mark_exported(written)
    return result
