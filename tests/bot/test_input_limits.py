"""No message can make the NLU pipeline slow: the regexes are linear, and oversized text is cut short before the
tokenizer, the regexes and the encoder run, yet still ends as `invalid_input` / `too_long`.

The regexes are checked the way Rasa runs them (RegexEntityExtractor trained on our own NLU data), and the whole
pipeline through the project's trained model (`make train`), loaded as `rasa run` loads it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.input_guard import (
    INVALID_INPUT_INTENT,
    PROBLEM_KEY,
    InputGuard,
    InputLimiter,
)

ROOT = Path(__file__).resolve().parents[2]
NLU_DATA = ROOT / "training_data" / "nlu" / "shop_intents.yml"
MODEL = ROOT / "models" / "shopdesk.tar.gz"
N = 100_000

# Inputs that make backtracking regexes super-linear: long runs of one class, and alternations of the
# characters an email pattern cares about.
ADVERSARIAL = {
    "letters": "a" * N,
    "dots": "." * N,
    "at signs": "@" * N,
    "spaces": " " * N,
    "digits": "7" * N,
    "mixed": ("ab.c@" * N)[:N],
    "local parts": ("a" * 63 + "@") * (N // 64),
    "domains": "a@" + "b." * (N // 2),
    "long label": "a@" + "b" * N,
    "long tld": "a@b." + "c" * N,
    "words": ("john doe@ example . com " * N)[:N],
    "symbols": ("%+-_." * N)[:N],
}

VALID = ["jane.doe@example.com", "J+tag@Mail.co.uk", "x_y%z@sub-domain.example.org", "a@b.io",
         "barry.jones2@example.com", "first.last@mail.shop.example.co.uk"]
INVALID = ["john@", "@example.com", "john@example", "john@example.c", "john@@example.com", "a" * 65 + "@x.com",
           "john@exa_mple.com"]


@pytest.fixture(scope="module")
def regex_extractor(tmp_path_factory):  # type: ignore[no-untyped-def]
    """RegexEntityExtractor trained on the project's NLU data, as in config.yml."""
    from rasa.nlu.extractors.regex_entity_extractor import RegexEntityExtractor

    path = tmp_path_factory.mktemp("regex")
    config = {**RegexEntityExtractor.get_default_config(), "use_lookup_tables": False, "use_regexes": True}
    extractor = RegexEntityExtractor.create(config, LocalModelStorage(path), Resource("regex"),
                                            ExecutionContext(None))  # type: ignore[arg-type]
    extractor.train(load_data(str(NLU_DATA)))
    assert extractor.patterns, "the NLU data defines no regex"
    return extractor


def extract(extractor, text: str) -> list[str]:  # type: ignore[no-untyped-def]
    message = Message(data={"text": text})
    extractor.process([message])
    return [e["value"] for e in message.get("entities", [])]


def test_the_email_regex_finds_real_emails_and_nothing_else(regex_extractor) -> None:
    for email in VALID:
        assert extract(regex_extractor, f"my email is {email}.") == [email], email
        assert extract(regex_extractor, email) == [email], email
    assert extract(regex_extractor, "mail:anna.lee@example.com!") == ["anna.lee@example.com"]
    assert extract(regex_extractor, "a@b.com and c.d@e.org") == ["a@b.com", "c.d@e.org"]
    for text in INVALID:
        assert extract(regex_extractor, text) == [], text


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_every_nlu_regex_is_linear_on_adversarial_text(regex_extractor, name: str) -> None:
    text = ADVERSARIAL[name]
    started = time.perf_counter()
    extract(regex_extractor, text)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.25, f"{name}: {elapsed:.2f} s for {len(text)} characters"  # the old email regex: > 60 s


def test_every_regex_in_the_nlu_data_is_linear() -> None:
    """Each `regex:` of the NLU data on its own, as Rasa compiles it (case-insensitive)."""
    patterns = [r["pattern"] for r in load_data(str(ROOT / "training_data" / "nlu")).regex_features]
    assert patterns
    for pattern in patterns:
        compiled = re.compile(pattern, re.IGNORECASE)
        for name, text in ADVERSARIAL.items():
            started = time.perf_counter()
            list(compiled.finditer(text))
            assert time.perf_counter() - started < 0.25, (pattern, name)


def guard_pipeline(text: str) -> Message:
    """InputLimiter, a stand-in classifier that records what it saw, and InputGuard: the pipeline's order."""
    message = Message(data={"text": text})
    InputLimiter({"max_chars": 2000, "keep_chars": 256}).process([message])
    seen = message.get("text")
    message.set("intent", {"name": "track_order", "confidence": 0.99}, add_to_output=True)
    message.set("entities", [{"entity": "order_id", "value": "581585", "start": 0, "end": 6}],
                add_to_output=True)
    message.set("seen_by_classifier", seen)
    InputGuard({"max_chars": 2000}).process([message])
    return message


def test_oversized_text_reaches_the_classifiers_short_and_ends_as_too_long() -> None:
    text = "581585 " + "a" * N
    message = guard_pipeline(text)
    assert message.get("seen_by_classifier") == text[:256]
    assert message.get("text") == text                          # the original text is back in the parse data
    assert message.get("intent") == {"name": INVALID_INPUT_INTENT, "confidence": 1.0}
    assert message.get(PROBLEM_KEY) == "too_long"
    assert message.get("entities") == []                        # nothing read from it fills a slot
    assert "shopdesk_original_text" not in message.as_dict(only_output_properties=True)


def test_a_normal_message_passes_both_untouched() -> None:
    message = guard_pipeline("where is order 581585")
    assert message.get("seen_by_classifier") == "where is order 581585"
    assert message.get("intent")["name"] == "track_order" and message.get("entities")
    assert message.get(PROBLEM_KEY) is None


def test_the_limit_is_exactly_max_chars() -> None:
    assert guard_pipeline("a " * 1000).get(PROBLEM_KEY) is None                # 2000 characters
    assert guard_pipeline("a " * 1000 + "b").get(PROBLEM_KEY) == "too_long"


def test_the_pipeline_runs_the_limiter_first_and_the_guard_last() -> None:
    import yaml

    names = [c["name"] for c in yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]]
    assert names[0] == "bot.nlu.input_guard.InputLimiter"
    assert names[-1] == "bot.nlu.input_guard.InputGuard"


@pytest.fixture(scope="module")
def agent():  # type: ignore[no-untyped-def]
    if not MODEL.exists():
        pytest.skip("no trained model: run `make train`")
    from rasa.core.agent import Agent

    return Agent.load(str(MODEL))


def parse(agent, text: str) -> dict:  # type: ignore[no-untyped-def]
    import asyncio

    return asyncio.run(agent.parse_message(text))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["letters", "mixed", "local parts", "words", "dots"])
def test_a_100k_message_parses_in_well_under_a_second_through_the_real_pipeline(agent, name: str) -> None:
    parse(agent, "hello")  # warm up
    text = ADVERSARIAL[name]
    started = time.perf_counter()
    result = parse(agent, text)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"{name}: {elapsed:.2f} s"
    assert result["intent"]["name"] == INVALID_INPUT_INTENT and result[PROBLEM_KEY] == "too_long"
    assert result["text"] == text and result["entities"] == []


@pytest.mark.slow
def test_the_real_pipeline_still_understands_normal_messages(agent) -> None:
    result = parse(agent, "my email is jane.doe@example.com")
    emails = [e for e in result["entities"] if e["entity"] == "email"]
    assert [e["value"] for e in emails] == ["jane.doe@example.com"]
    assert emails[0]["extractor"] == "RegexEntityExtractor"
    assert result.get(PROBLEM_KEY) is None and result["intent"]["name"] != INVALID_INPUT_INTENT


def test_emails_handles_and_codes_are_not_a_language() -> None:
    from bot.nlu.input_guard import input_problem

    for text in ("theo.okafor.b4e748e156@example.org", "@shopdesk where is my parcel??", "order C581146 pls e e"):
        assert input_problem(text) is None, text
    assert input_problem("je voudrais annuler ma commande") == "language"
