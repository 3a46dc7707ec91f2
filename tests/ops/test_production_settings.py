"""The production profile refuses demo mode, demo or test secrets, the demo's account and profile, plain HTTP and
an unmigrated store, naming each reason; with sound settings `--check` says it is ready. Nothing is started."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from runtime.serve import main as serve
from tests.ops.production import ROOT, clean_environment, production_data_dir, production_settings
from tests.store.test_upgrade import RELEASES, load_dump


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in os.environ:
        if name not in clean_environment():
            monkeypatch.delenv(name)
    values = production_settings()
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def data_dir(tmp_path: Path, migrated_template: Path):  # type: ignore[no-untyped-def]
    data = production_data_dir(tmp_path / "data", migrated_template, None)
    (data.models / "shopdesk.tar.gz").write_bytes(b"a model")
    return data


def check(data_dir, capsys) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    code = serve(["--data-dir", str(data_dir.root), "--self-signed", "--check"])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_sound_settings_are_ready_and_nothing_is_started(settings, data_dir, capsys) -> None:
    assert check(data_dir, capsys) == (0, "ready to start\n")
    assert not (data_dir.run / "nginx.conf").exists()


@pytest.mark.parametrize(("change", "reason"), [
    ({"SHOPDESK_MODE": "demo"}, "SHOPDESK_MODE is 'demo'"),
    ({"SHOPDESK_SIGNING_KEY": "signing-key-for-tests-0123456789"}, "SHOPDESK_SIGNING_KEY is a demo or test value"),
    ({"RASA_AUTH_TOKEN": "short"}, "RASA_AUTH_TOKEN is a demo or test value or shorter than 32"),
    ({"SHOPDESK_REST_TOKEN": ""}, "SHOPDESK_REST_TOKEN is not set"),
    ({"SHOPDESK_DEMO_AGENT_PASSWORD": "x" * 40}, "SHOPDESK_DEMO_AGENT_PASSWORD is set"),
    ({"SHOPDESK_PUBLIC_URL": "http://shop.example"}, "SHOPDESK_PUBLIC_URL must be the https://"),
    ({"SHOPDESK_ALLOWED_ORIGINS": "https://shop.example,http://shop.example"}, "'http://shop.example'"),
    ({"SHOPDESK_ALLOWED_ORIGINS": "*"}, "https:// origins only"),
    ({"SHOPDESK_SHOP_PROFILE": str(ROOT / "shop.yml")}, "the repository's demo shop"),
    ({"SHOPDESK_WEB_HOST": "0.0.0.0"}, "SHOPDESK_WEB_HOST=0.0.0.0: internal services listen on 127.0.0.1"),
])
def test_each_unfit_setting_is_refused_with_its_reason(change, reason, settings, data_dir, capsys,
                                                        monkeypatch) -> None:
    for name, value in change.items():
        monkeypatch.setenv(name, value)
    code, said = check(data_dir, capsys)
    assert code == 2 and "will not start in production" in said and reason in said
    assert said.count("\n  - ") == 1, said  # that reason alone


def test_secrets_must_differ(settings, data_dir, capsys, monkeypatch) -> None:
    monkeypatch.setenv("SHOPDESK_CONSOLE_SECRET_KEY", settings["FLASK_SECRET_KEY"])
    code, said = check(data_dir, capsys)
    assert code == 2 and "SHOPDESK_CONSOLE_SECRET_KEY has the same value as FLASK_SECRET_KEY" in said


def test_a_store_of_the_previous_release_is_refused_until_migrated(settings, data_dir, capsys) -> None:
    data_dir.store_db.unlink()
    load_dump(RELEASES / "store-0.1.0.sql", data_dir.store_db)
    code, said = check(data_dir, capsys)
    assert code == 2 and "the store database is at schema 0005" in said and "shopdesk migrate" in said
    with sqlite3.connect(data_dir.store_db) as connection:  # --check changed nothing
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0005"


def test_migrate_waits_until_nothing_else_stands_in_the_way(settings, data_dir, capsys, monkeypatch) -> None:
    data_dir.store_db.unlink()
    load_dump(RELEASES / "store-0.1.0.sql", data_dir.store_db)
    monkeypatch.setenv("SHOPDESK_MODE", "demo")
    assert serve(["--data-dir", str(data_dir.root), "--self-signed", "--migrate"]) == 2
    assert "SHOPDESK_MODE" in capsys.readouterr().err
    with sqlite3.connect(data_dir.store_db) as connection:  # refused: the store was not touched
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0005"
    monkeypatch.delenv("SHOPDESK_MODE")
    assert check(data_dir, capsys)[0] == 2
    assert serve(["--data-dir", str(data_dir.root), "--self-signed", "--migrate", "--check"]) == 0


def test_the_demo_console_account_is_refused(settings, data_dir, capsys) -> None:
    with sqlite3.connect(data_dir.store_db) as connection:
        connection.execute("INSERT INTO console_agents (email, display_name, password_hash, role, active, "
                           "failed_logins, created_at) VALUES ('demo.agent@shopdesk.example', 'Demo', 'x', 'admin', "
                           "1, 0, '2026-01-01 00:00:00')")
    code, said = check(data_dir, capsys)
    assert code == 2 and "demo's console account demo.agent@shopdesk.example" in said


def test_missing_model_certificate_and_store_are_each_named(settings, tmp_path, capsys, monkeypatch) -> None:
    empty = tmp_path / "empty"
    monkeypatch.setenv("SHOPDESK_SHOP_PROFILE", str(tmp_path / "shop.yml"))
    shutil.copyfile(ROOT / "shop.yml", tmp_path / "shop.yml")
    code = serve(["--data-dir", str(empty), "--check"])
    said = capsys.readouterr().err
    assert code == 2
    for reason in ("no trained model", "SHOPDESK_TLS_CERT (unset) is not a file", "does not exist: create it"):
        assert reason in said


def test_new_env_writes_fresh_private_secrets_and_never_overwrites(tmp_path: Path, capsys) -> None:
    path = tmp_path / "shopdesk.env"
    assert serve(["--new-env", str(path)]) == 0
    assert path.stat().st_mode & 0o077 == 0
    first = path.read_text()
    assert "SHOPDESK_SIGNING_KEY=" in first and "SHOPDESK_PUBLIC_URL=https://" in first
    with pytest.raises(SystemExit, match="not overwriting"):
        serve(["--new-env", str(path)])
    assert path.read_text() == first
