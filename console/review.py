"""Training from conversation logs, in the console (admins only): review inbox, annotate, export, retrain,
compare, promote and roll back.

The work is done by the `training` package; this blueprint only turns requests into its calls. Every
action is a plain CSRF-protected POST form, so the pages work without JavaScript; review.js adds entity
marking by text selection and the live progress bar.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from console.services import services
from training.annotations import AnnotationBook, AnnotationRefused, domain_names, parse_spans
from training.evaluation import has_test_stories
from training.export import ExportRefused, ValidationFailed, export
from training.inbox import Inbox, InboxFilter, InboxItem, page
from training.logs import channels, conversation_events
from training.models_registry import ModelRegistry, PromotionRefused, RasaLoadFailed
from training.rasa_cli import RasaCommandFailed
from training.redaction import redact
from training.report_charts import CHARTS
from training.retrain import JobBoard, JobRefused, launch
from training.settings import TrainingSettings, settings_from_env
from training.similarity import nearest
from training.stories import save_story, story_filename, story_yaml
from training.tables import Verdict

bp = Blueprint("review", __name__, url_prefix="/training")
EXTENSION = "shopdesk_training"
MAX_BULK = 200
TOP_PREDICTIONS = 3


@dataclass
class Training:
    settings: TrainingSettings
    book: AnnotationBook
    inbox: Inbox
    registry: ModelRegistry
    jobs: JobBoard


def training() -> Training:
    """Built once per app: settings from app config `SHOPDESK_TRAINING` (tests) or the environment."""
    app = current_app
    if EXTENSION not in app.extensions:
        settings = app.config.get("SHOPDESK_TRAINING") or settings_from_env()
        sessions = services().sessions
        book = AnnotationBook(sessions, settings.domain)
        app.extensions[EXTENSION] = Training(
            settings=settings, book=book, inbox=Inbox(settings.tracker_url, sessions, book),
            registry=ModelRegistry(sessions, settings.models_dir, app.config["SHOPDESK_RASA_URL"],
                                   app.config["SHOPDESK_RASA_AUTH_TOKEN"]),
            jobs=JobBoard(sessions))
    return app.extensions[EXTENSION]


@bp.before_request
def admins_only() -> tuple[str, int] | None:
    if not current_user.is_authenticated or not current_user.is_admin:
        return render_template("message.html", message="Training from conversation logs is for admins."), 403
    return None


def _back(default: str = "review.inbox") -> WerkzeugResponse:
    """Back to the page the form was on (same-site paths under /training only)."""
    target = request.form.get("back", "")
    if target.startswith("/training") and not target.startswith("//") and "\\" not in target:
        return redirect(target)
    return redirect(url_for(default))


def _domain() -> tuple[list[str], list[str]]:
    intents, entities = domain_names(training().settings.domain)
    return sorted(intents), sorted(entities)


def _item_json(item: InboxItem) -> dict[str, Any]:
    a = item.annotation
    return {"entities": [{"start": s.start, "end": s.end, "entity": s.entity} for s in a.entities] if a else
            [{"start": e["start"], "end": e["end"], "entity": e["entity"]} for e in item.entities]}


@bp.get("/")
def inbox() -> str:
    t = training()
    filters = InboxFilter.from_args(request.args)
    items = t.inbox.items(filters)
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        number = 1
    shown, pages = page(items, number)
    intents, entities = _domain()
    return render_template("review_inbox.html", items=shown, total=len(items), pages=pages,
                           page=min(max(1, number), pages), filters=filters, intents=intents, entities=entities,
                           channels=channels(i.message for i in items), entity_json=entity_json,
                           predictions=predictions, export_file=t.settings.export_file)


@bp.post("/annotate")
def annotate() -> WerkzeugResponse:
    t = training()
    messages = t.inbox.find([request.form.get("key", "")])
    if not messages:
        flash("That message is no longer in the conversation logs.", "error")
        return _back()
    message, verdict = messages[0], request.form.get("verdict", "label")
    try:
        if verdict == "clear":
            t.book.clear(message.conversation_id, message.event_id)
            flash("Annotation removed.", "ok")
        else:
            spans = parse_spans(request.form.get("entities"), redact(message.text).text)
            t.book.annotate([message], Verdict(verdict), request.form.get("intent", ""), spans,
                            current_user.agent_id)
            flash("Saved.", "ok")
    except (AnnotationRefused, ValueError) as exc:
        flash(str(exc), "error")
    return _back()


@bp.post("/bulk")
def bulk() -> WerkzeugResponse:
    t = training()
    keys = request.form.getlist("keys")[:MAX_BULK]
    messages = t.inbox.find(keys)
    if not messages:
        flash("Select at least one message.", "error")
        return _back()
    try:
        count = t.book.annotate(messages, Verdict(request.form.get("verdict", "label")),
                                request.form.get("intent", ""), agent_id=current_user.agent_id)
        flash(f"Saved the same verdict for {count} message(s).", "ok")
    except (AnnotationRefused, ValueError) as exc:
        flash(str(exc), "error")
    return _back()


@bp.get("/similar")
def similar() -> str | tuple[str, int]:
    t = training()
    key = request.args.get("key", "")
    everything = t.inbox.items(InboxFilter(status="all"))
    anchor = next((i for i in everything if i.key == key), None)
    if anchor is None:
        return render_template("message.html", message="That message is older than the inbox looks back."), 404
    others = [i for i in everything if i.key != key]
    neighbours = [(others[index], score) for index, score in nearest(anchor.text, [i.text for i in others])]
    intents, entities = _domain()
    return render_template("review_similar.html", anchor=anchor, neighbours=neighbours, intents=intents,
                           entities=entities, entity_json=entity_json, predictions=predictions)


def _confirm(action: str, title: str, facts: list[str], button: str) -> str | None:
    """A confirmation page for a POST that was not confirmed yet (None once it is): export, retrain and rollback
    change what the assistant learns or serves, so one stray click must not start them."""
    if request.form.get("confirmed") == "yes":
        return None
    return render_template("review_confirm.html", action=action, title=title, facts=facts, button=button,
                           back=request.form.get("back") or url_for("review.inbox"))


@bp.post("/export")
def run_export() -> str | WerkzeugResponse:
    t = training()
    pending = [a for a in t.book.all() if not a.exported and a.verdict != Verdict.IGNORE]
    page_ = _confirm(url_for("review.run_export"), "Export the annotations?", [
        f"{len(pending)} reviewed message(s) not exported yet are written to "
        f"{t.settings.export_file.parent.name}/{t.settings.export_file.name} (labels of earlier exports stay).",
        "Then `rasa data validate` checks the training data; nothing is trained or served yet.",
    ], "Export and validate")
    if page_ is not None:
        return page_
    try:
        result = export(t.book, t.settings)
        flash(f"Exported: {result.summary}. rasa data validate passed.", "ok")
        for text in result.conflicts[:5]:
            flash(f"Conflict, left out (the training data has it under another intent): {text}", "error")
    except (ExportRefused, ValidationFailed, RasaCommandFailed) as exc:
        flash(str(exc), "error")
    return _back()


def _story(conversation_id: str) -> str:
    t = training()
    events = conversation_events(t.settings.tracker_url, conversation_id)
    labels = {a.event_id: a for a in t.book.all() if a.conversation_id == conversation_id}
    return story_yaml(conversation_id, events, labels)


@bp.get("/conversations/<path:conversation_id>/story")
def download_story(conversation_id: str) -> Response:
    return Response(_story(conversation_id), mimetype="application/x-yaml", headers={
        "Content-Disposition": f'attachment; filename="{story_filename(conversation_id)}"'})


@bp.post("/conversations/<path:conversation_id>/story")
def keep_story(conversation_id: str) -> WerkzeugResponse:
    path = save_story(training().settings.from_logs_stories_dir, conversation_id, _story(conversation_id))
    flash(f"Saved as a test story: {path.name} (rasa test core runs it with the other test stories).", "ok")
    return _back()


@bp.get("/models")
def models() -> str:
    t = training()
    t.registry.ensure_baseline()
    current = t.registry.current()
    return render_template("review_models.html", models=t.registry.all(), jobs=t.jobs.latest(),
                           current=current, settings=t.settings,
                           stories=has_test_stories(t.settings.test_stories_dir))


@bp.post("/retrain")
def retrain() -> str | WerkzeugResponse:
    t = training()
    current = t.registry.ensure_baseline()
    page_ = _confirm(url_for("review.retrain"), "Retrain and evaluate a candidate model?", [
        f"Trains a candidate on {t.settings.data_dir.name}/ with the exported log data: this takes a while and "
        "uses the machine's CPU.",
        "The candidate is compared with the served model "
        f"({current.name if current else 'none recorded'}) on the same held-out split; it is not served until "
        "you promote it.",
    ], "Start training")
    if page_ is not None:
        return page_
    try:
        job = t.jobs.create(t.settings, current_user.agent_id)
    except JobRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("review.models"))
    launcher = current_app.config.get("TRAINING_LAUNCHER") or launch
    launcher(job.id, current_app.config["SHOPDESK_DATABASE_URL"])
    flash(f"Training job {job.id} started.", "ok")
    return redirect(url_for("review.models"))


@bp.get("/jobs/<int:job_id>")
def job_status(job_id: int) -> Response | tuple[Response, int]:
    job = training().jobs.get(job_id)
    if job is None:
        return jsonify(error="No such job."), 404
    return jsonify(job.as_json())


@bp.get("/models/<int:model_id>")
def model(model_id: int) -> str | tuple[str, int]:
    m = training().registry.get(model_id)
    if m is None:
        return render_template("message.html", message="No such model version."), 404
    return render_template("review_model.html", model=m, report=m.report, current=training().registry.current(),
                           model_file_exists=Path(m.path).exists())


@bp.get("/models/<int:model_id>/<name>.svg")
def chart(model_id: int, name: str) -> Response | tuple[str, int]:
    m = training().registry.get(model_id)
    if m is None or name not in CHARTS:
        return "Not found", 404
    return Response(CHARTS[name](m.report), mimetype="image/svg+xml")


@bp.post("/models/<int:model_id>/promote")
def promote(model_id: int) -> WerkzeugResponse:
    try:
        m = training().registry.promote(model_id, current_user.agent_id, request.form.get("reason", ""))
        flash(f"{m.name} is now served by the assistant.", "ok")
    except (PromotionRefused, RasaLoadFailed) as exc:
        flash(str(exc), "error")
    return redirect(url_for("review.model", model_id=model_id))


@bp.post("/models/<int:model_id>/reject")
def reject(model_id: int) -> WerkzeugResponse:
    try:
        training().registry.reject(model_id, request.form.get("reason", ""))
        flash("Candidate rejected.", "ok")
    except PromotionRefused as exc:
        flash(str(exc), "error")
    return redirect(url_for("review.model", model_id=model_id))


@bp.post("/rollback")
def rollback() -> str | WerkzeugResponse:
    registry = training().registry
    current, previous = registry.current(), registry.previous()
    if previous is None:
        flash("There is no earlier promoted model to roll back to.", "error")
        return redirect(url_for("review.models"))
    page_ = _confirm(url_for("review.rollback"), "Roll back to the previous model?", [
        f"The assistant stops serving {current.name if current else 'the current model'} and serves "
        f"{previous.name} (version {previous.id}) again, for every conversation, right away.",
    ], "Roll back")
    if page_ is not None:
        return page_
    try:
        m = training().registry.rollback(current_user.agent_id)
        flash(f"Rolled back: {m.name} is served again.", "ok")
    except (PromotionRefused, RasaLoadFailed) as exc:
        flash(str(exc), "error")
    return redirect(url_for("review.models"))


def predictions(item: InboxItem, intents: list[str]) -> list[tuple[str, float]]:
    """The model's best TOP_PREDICTIONS intents that a reviewer can pick (domain intents; no nlu_fallback)."""
    known, out = set(intents), []
    ranking = item.message.ranking or [(item.message.intent, item.message.confidence)]
    for name, confidence in ranking:
        if name in known and name not in (n for n, _ in out):
            out.append((name, confidence))
        if len(out) == TOP_PREDICTIONS:
            break
    return out


def entity_json(item: InboxItem) -> str:
    return json.dumps(_item_json(item)["entities"])
