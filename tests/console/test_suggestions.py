"""Knowledge-base suggestions in the conversation view come from the real knowledge base (Chroma +
the bundled MiniLM encoder), for the customer's latest question, with their source."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.console.conftest import login, user_event

pytestmark = pytest.mark.slow
DOCS = Path(__file__).resolve().parents[1] / "knowledge" / "fixtures" / "docs"


def test_suggestions_for_the_latest_question(app, client, agents, desk, fake_rasa, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from knowledge.ingest import ingest
    from knowledge.settings import KnowledgeSettings

    chroma = tmp_path / "chroma"
    report = ingest([DOCS / "returns.md", DOCS / "opening-hours.txt"], KnowledgeSettings(chroma_dir=str(chroma)))
    assert not report.problems
    monkeypatch.setenv("SHOPDESK_KNOWLEDGE_DIR", str(chroma))
    app.config["CONSOLE_KNOWLEDGE"] = True
    fake_rasa.trackers["kb-conv"] = [user_event("hi", "greet"),
                                     user_event("how many days do I have to send an item back?", "nlu_fallback")]
    handoff = desk.open_handoff("kb-conv", "misses")
    login(client)
    data = client.get(f"/api/handoffs/{handoff.id}/suggestions").get_json()
    assert data["question"] == "how many days do I have to send an item back?"
    assert data["suggestions"] and "30 days" in data["suggestions"][0]["text"]
    assert data["suggestions"][0]["source"] == "https://shop.example/help/returns"
    assert len({s["source"] for s in data["suggestions"]}) == len(data["suggestions"])  # one passage per page
    asked = client.get(f"/api/handoffs/{handoff.id}/suggestions", query_string={"q": "when are you open"})
    assert asked.get_json()["suggestions"]
    # what the documents do not cover gets nothing, as the bot itself would not answer from them
    off = client.get(f"/api/handoffs/{handoff.id}/suggestions",
                     query_string={"q": "who won the football world cup in 1998"})
    assert off.get_json()["suggestions"] == []
    # the customer's small talk after the question does not replace it
    fake_rasa.trackers["kb-conv"] += [user_event("can I talk to a person please", "contact_human_agent"),
                                      user_event("hello?", "greet")]
    again = client.get(f"/api/handoffs/{handoff.id}/suggestions").get_json()
    assert again["question"] == "how many days do I have to send an item back?"


def test_no_knowledge_base_is_a_clear_message(app, client, agents, desk, fake_rasa, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPDESK_KNOWLEDGE_DIR", str(tmp_path / "nothing-here"))
    app.config["CONSOLE_KNOWLEDGE"] = True
    fake_rasa.trackers["kb-conv"] = [user_event("where are my socks", "nlu_fallback")]
    handoff = desk.open_handoff("kb-conv", "misses")
    login(client)
    data = client.get(f"/api/handoffs/{handoff.id}/suggestions").get_json()
    assert data["suggestions"] == [] and data["problem"]
