"""The shipped systemd units are valid (systemd-analyze verify, with this checkout standing in for /opt/shopdesk)
and start what the docs say: the production launcher and `shopdesk backup`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.ops.production import ROOT

UNITS = ROOT / "deploy" / "production" / "systemd"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_units_verify(tmp_path: Path) -> None:
    for unit in UNITS.iterdir():
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/shopdesk", str(ROOT)))
    result = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                            capture_output=True, text=True, check=False)
    problems = [line for line in result.stderr.splitlines() if "shopdesk" in line]
    assert result.returncode == 0 and not problems, result.stderr


def test_units_run_the_launcher_and_the_backup() -> None:
    service = (UNITS / "shopdesk.service").read_text()
    assert "ExecStart=/opt/shopdesk/.venv/app/bin/python -m runtime.serve\n" in service
    assert "RestartPreventExitStatus=2" in service and "User=shopdesk" in service
    assert "-m shopdesk backup" in (UNITS / "shopdesk-backup.service").read_text()
    assert "OnCalendar=" in (UNITS / "shopdesk-backup.timer").read_text()
