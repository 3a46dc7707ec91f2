"""Training from conversation logs in the console: admins only, CSRF, redacted and escaped text, annotate,
bulk, stories, export refusals, background retrain jobs, the promotion gate (real tracker rows, fake Rasa)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session, sessionmaker

from tests.console.conftest import login
from tests.training.support import TrackerWriter, write_project
from training.models_registry import ModelRegistry
from training.settings import TrainingSettings
from training.tables import ModelStatus


@pytest.fixture
def project(tmp_path: Path) -> TrainingSettings:
    return write_project(tmp_path / "project")


@pytest.fixture
def launched(app, project: TrainingSettings) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    calls: list[tuple[int, str]] = []
    app.config.update(SHOPDESK_TRAINING=project, TRAINING_LAUNCHER=lambda job, url: calls.append((job, url)))
    return calls


@pytest.fixture
def logged(project: TrainingSettings) -> dict[str, str]:
    tracker = TrackerWriter(project.tracker_url)
    tracker.start("web-1")
    halt = tracker.user("web-1", "please halt the shipment", "out_of_scope", 0.37, channel="socketio")
    tracker.bot_turn("web-1", "utter_oos", "Sorry, I can't help with that.")
    html = tracker.user("web-1", "<script>alert(1)</script> my card is 4111 1111 1111 1111", "greet", 0.4)
    tracker.bot_turn("web-1", "utter_greet", "Hello! How can I help?")
    return {"halt": f"web-1:{halt}", "html": f"web-1:{html}"}


def admin(client: Any) -> str:
    return login(client, "admin@shop.example")


def test_only_signed_in_admins(client, agents, launched, logged) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/training/").status_code == 302
    csrf = login(client)  # alice is an agent
    assert "nav-training" not in client.get("/").get_data(as_text=True)
    for path in ("/training/", "/training/models", "/training/jobs/1"):
        assert client.get(path).status_code == 403
    assert client.post("/training/retrain", data={"csrf_token": csrf}).status_code == 403
    assert launched == []


def test_inbox_shows_redacted_escaped_text_under_a_strict_csp(client, agents, launched, logged) -> None:  # type: ignore[no-untyped-def]
    admin(client)
    assert "nav-training" in client.get("/").get_data(as_text=True)
    response = client.get("/training/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "please halt the shipment" in page and "Sorry, I can&#39;t help with that." in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "4111" not in page and "0000 0000 0000 0000" in page and "Redacted before export: card" in page
    assert page.index("please halt the shipment") < page.index("&lt;script&gt;")  # a fallback comes first
    js = client.get("/static/review.js").get_data(as_text=True)
    assert "textContent" in js and "innerHTML" not in js
    filtered = client.get("/training/?channel=socketio&q=halt").get_data(as_text=True)
    assert "please halt the shipment" in filtered and "&lt;script&gt;" not in filtered


def test_annotate_needs_csrf_and_a_known_intent(client, agents, launched, logged,  # type: ignore[no-untyped-def]
                                                sessions: sessionmaker[Session]) -> None:
    csrf = admin(client)
    form = {"key": logged["halt"], "verdict": "label", "intent": "cancel_order",
            "entities": json.dumps([{"start": 12, "end": 24, "entity": "order_id"}])}
    assert client.post("/training/annotate", data=form).status_code == 400  # no CSRF token
    page = client.post("/training/annotate", data={**form, "csrf_token": csrf, "intent": "halt"},
                       follow_redirects=True).get_data(as_text=True)
    assert "not an intent in the domain" in page
    page = client.post("/training/annotate", data={**form, "csrf_token": csrf, "back": "/training/?status=all"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Saved." in page and "reviewer says cancel_order" in page
    assert client.get("/training/").get_data(as_text=True).count("please halt the shipment") == 0  # reviewed
    bulk = client.post("/training/bulk", data={"csrf_token": csrf, "keys": [logged["halt"], logged["html"]],
                                               "verdict": "ignore"}, follow_redirects=True)
    assert "Saved the same verdict for 2 message(s)." in bulk.get_data(as_text=True)
    # the domain lost the intent: the export refuses, before Rasa is even asked
    client.post("/training/annotate", data={**form, "csrf_token": csrf})
    settings: TrainingSettings = client.application.config["SHOPDESK_TRAINING"]
    settings.domain.write_text(settings.domain.read_text().replace("cancel_order, ", ""))
    page = client.post("/training/export", data={"csrf_token": csrf}).get_data(as_text=True)
    assert "Export the annotations?" in page and 'name="confirmed" value="yes"' in page  # asks first
    assert not settings.export_file.exists()
    page = client.post("/training/export", data={"csrf_token": csrf, "confirmed": "yes"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Not exported: intent(s) cancel_order not in domain.yml" in page
    assert not settings.export_file.exists()


def test_nothing_is_preselected_and_the_top_predictions_are_offered(client, agents, launched,  # type: ignore[no-untyped-def]
                                                                     project: TrainingSettings) -> None:
    tracker = TrackerWriter(project.tracker_url)
    tracker.start("web-2")
    key = tracker.user("web-2", "where is my stuff", "nlu_fallback", 0.3,
                       ranking=[("nlu_fallback", 0.3), ("track_order", 0.25), ("greet", 0.2), ("cancel_order", 0.1),
                                ("affirm", 0.05)])
    csrf = admin(client)
    page = client.get("/training/").get_data(as_text=True)
    item = page[page.index(f'data-key="web-2:{key}"'):]
    item = item[:item.index("</li>")]
    assert '<option value="" selected>Choose an intent…</option>' in item
    assert '<option value="" selected>Entity type…</option>' in item
    assert item.count(" selected>") == 2  # only those two: not the first intent, not the prediction
    picks = item.split("pick-intent")[1:]
    assert [p.split(">", 1)[1].split("<", 1)[0] for p in picks] == [
        "track_order (0.25)", "greet (0.20)", "cancel_order (0.10)"]
    refused = client.post("/training/annotate", data={"csrf_token": csrf, "key": f"web-2:{key}", "verdict": "label",
                                                      "intent": ""}, follow_redirects=True).get_data(as_text=True)
    assert "Choose an intent first" in refused and "Saved." not in refused
    bulk = client.post("/training/bulk", data={"csrf_token": csrf, "keys": [f"web-2:{key}"], "verdict": "label",
                                               "intent": ""}, follow_redirects=True).get_data(as_text=True)
    assert "Choose an intent first" in bulk


def test_similar_messages_and_test_story(client, agents, launched, logged, project) -> None:  # type: ignore[no-untyped-def]
    csrf = admin(client)
    similar = client.get("/training/similar", query_string={"key": logged["halt"]})
    assert similar.status_code == 200 and 'id="bulk-form"' in similar.get_data(as_text=True)
    story = client.get("/training/conversations/web-1/story")
    assert story.headers["Content-Disposition"] == 'attachment; filename="test_web-1.yml"'
    steps = yaml.safe_load(story.get_data(as_text=True))["stories"][0]["steps"]
    assert steps[:2] == [{"user": "please halt the shipment\n", "intent": "out_of_scope"}, {"action": "utter_oos"}]
    assert "4111" not in story.get_data(as_text=True)
    client.post("/training/conversations/web-1/story", data={"csrf_token": csrf})
    assert (project.from_logs_stories_dir / "test_web-1.yml").read_text() == story.get_data(as_text=True)


def test_retrain_runs_one_background_job_at_a_time(client, agents, launched, store_url) -> None:  # type: ignore[no-untyped-def]
    csrf = admin(client)
    page = client.post("/training/retrain", data={"csrf_token": csrf}).get_data(as_text=True)
    assert "Retrain and evaluate a candidate model?" in page and launched == []  # asks first
    confirmed = {"csrf_token": csrf, "confirmed": "yes"}
    page = client.post("/training/retrain", data=confirmed, follow_redirects=True).get_data(as_text=True)
    assert "Training job 1 started." in page and launched == [(1, store_url)]
    page = client.post("/training/retrain", data=confirmed, follow_redirects=True).get_data(as_text=True)
    assert "Training job 1 is still queued" in page and len(launched) == 1
    job = client.get("/training/jobs/1").get_json()
    assert job["status"] == "queued" and job["done"] is False and "<progress" in page
    assert client.get("/training/jobs/99").status_code == 404


def test_blocked_model_needs_a_written_reason_and_a_willing_rasa(client, agents, launched,  # type: ignore[no-untyped-def]
                                                                 sessions: sessionmaker[Session],
                                                                 project: TrainingSettings) -> None:
    csrf = admin(client)
    project.candidates_dir.mkdir(parents=True)
    path = project.candidates_dir / "candidate-1.tar.gz"
    path.write_bytes(b"not really a model")
    report = {"tolerance": 0.02, "baseline": True, "passed": False, "regressions": ["greet F1 1.000 → 0.500"],
              "per_intent": {"greet": {"candidate": 0.5, "current": 1.0, "delta": -0.5, "support": 2}},
              "confusions": [], "new_story_failures": [], "fixed_stories": [], "accuracy_delta": -0.2,
              "accuracy": {"candidate": 0.7, "current": 0.9}, "heldout_examples": 9}
    model = ModelRegistry(sessions, project.models_dir).register(path, ModelStatus.CANDIDATE, "abc", report=report,
                                                                 gate_passed=False)
    page = client.get(f"/training/models/{model.id}").get_data(as_text=True)
    assert "Blocked: greet F1 1.000 → 0.500" in page and "Override and promote" in page
    assert client.get(f"/training/models/{model.id}/delta.svg").mimetype == "image/svg+xml"
    assert client.get(f"/training/models/{model.id}/nope.svg").status_code == 404
    page = client.post(f"/training/models/{model.id}/promote", data={"csrf_token": csrf},
                       follow_redirects=True).get_data(as_text=True)
    assert "regresses beyond the tolerance" in page
    # with a reason the console asks Rasa to load it; the stand-in refuses, so nothing changes
    page = client.post(f"/training/models/{model.id}/promote", data={"csrf_token": csrf,
                       "reason": "the greet drop is two noisy examples"}, follow_redirects=True).get_data(as_text=True)
    assert "refused the model" in page
    assert ModelRegistry(sessions, project.models_dir).get(model.id).status == ModelStatus.CANDIDATE  # type: ignore[union-attr]
    page = client.post("/training/rollback", data={"csrf_token": csrf}, follow_redirects=True).get_data(as_text=True)
    assert "no earlier promoted model" in page
    page = client.post(f"/training/models/{model.id}/reject", data={"csrf_token": csrf},
                       follow_redirects=True).get_data(as_text=True)
    assert "Candidate rejected." in page
