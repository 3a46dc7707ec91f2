"""Training from the store, the versioned artifact on disk, and reloading without a restart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from recommender import artifact
from recommender import train as training
from recommender.data import load_history
from recommender.model import Params, fit


def test_training_writes_a_complete_versioned_artifact(trained_root: Path, store_engine: Engine) -> None:
    version = artifact.current_version(trained_root)
    assert version is not None
    manifest = json.loads((trained_root / version / "manifest.json").read_text())
    assert manifest["format"] == artifact.FORMAT
    assert manifest["data_fingerprint"] == load_history(store_engine).fingerprint()
    assert manifest["params"]["collaborative"] == "ease"
    assert manifest["stats"]["products"] == 22 and manifest["stats"]["customers"] == 14
    assert "fit_seconds" in manifest["metrics"] and manifest["created_at"]


def test_cancelled_orders_and_guest_lines_are_not_training_data(store_engine: Engine) -> None:
    history = load_history(store_engine)
    customers = {p.customer_id for p in history.purchases}
    assert 20014 not in customers            # only a cancelled order
    assert all(p.sku != "POST" for p in history.purchases)
    assert "99901" in {item.sku for item in history.catalogue}  # never ordered, still in the catalogue


def test_round_trip_gives_identical_scores(store_engine: Engine, tmp_path: Path) -> None:
    history = load_history(store_engine)
    model = fit(history, Params(), progress=False)
    version = artifact.save(model, tmp_path, history.fingerprint(), {}, {})
    loaded = artifact.load(tmp_path, version).model
    assert loaded.skus == model.skus and loaded.names == model.names and loaded.params == model.params
    items, weights = np.array([0, 3]), np.array([1.0, 0.5], dtype=np.float32)
    assert np.allclose(loaded.personal_scores(items, weights), model.personal_scores(items, weights))
    assert np.allclose(loaded.similar_scores(2), model.similar_scores(2))
    assert np.allclose(loaded.together_scores([1])[0], model.together_scores([1])[0])
    assert np.allclose(loaded.popularity("France"), model.popularity("France"))


def test_holder_picks_up_a_new_version_without_restart(artifact_copy: Path, store_engine: Engine) -> None:
    holder = artifact.ModelHolder(artifact_copy)
    first = holder.get()
    assert first is not None
    assert holder.get() is first                      # cached: no reload on every request
    version, _ = training.train(str(store_engine.url), artifact_copy, Params(), holdout_days=0, progress=False)
    second = holder.get()
    assert second is not None and second.version == version != first.version


def test_holder_keeps_serving_when_the_new_version_is_broken(artifact_copy: Path) -> None:
    holder = artifact.ModelHolder(artifact_copy)
    good = holder.get()
    (artifact_copy / "20990101T000000000000Z-broken").mkdir()
    artifact._point_at(artifact_copy, "20990101T000000000000Z-broken")
    assert holder.get() is good
    assert holder.last_error and "unreadable" in holder.last_error


def test_missing_artifact_is_none_not_a_crash(tmp_path: Path) -> None:
    assert artifact.ModelHolder(tmp_path / "nothing").get() is None
    with pytest.raises(artifact.ArtifactError, match=r"recommender\.train"):
        artifact.load(tmp_path / "nothing")


def test_cli_trains_and_reports(store_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = training.main(["--database-url", str(store_engine.url), "--out", str(tmp_path), "--no-progress",
                          "--holdout-days", "0"])
    assert code == 0
    assert "made current" in capsys.readouterr().out
    assert artifact.current_version(tmp_path) is not None


def test_cli_refuses_an_empty_store_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from store.db import make_engine
    from store.migrate import upgrade_database

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade_database(make_engine(url))
    assert training.main(["--database-url", url, "--out", str(tmp_path / "out"), "--no-progress"]) == 1
    assert "no products" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
