"""Rasa's own checks of the project: data validation and the flow test stories against the trained model."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, latest_model

RASA = str(ROOT / ".venv" / "rasa" / "bin" / "rasa")
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
       "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def run_rasa(*args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RASA, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)


def test_rasa_data_validate_passes() -> None:
    result = run_rasa("data", "validate", "--domain", "domain.yml", "--data", "training_data", "--config",
                      "config.yml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_domain_keeps_every_bitext_intent_name() -> None:
    import csv

    bitext = ROOT.parent / "shared" / "data" / "bitext" / "customer_support_intents.csv"
    with bitext.open(newline="", encoding="utf-8") as handle:
        names = {row["intent"] for row in csv.DictReader(handle)}
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    assert names <= set(domain["intents"])


@pytest.mark.slow
def test_flow_stories_pass(tmp_path: Path) -> None:
    result = run_rasa("test", "core", "--model", str(latest_model()), "--stories", "tests/stories",
                      "--out", str(tmp_path), "--fail-on-prediction-errors")
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text()[-4000:] if failed.exists() else result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, details
