"""Supervision for real: a ProcessGroup of real server processes, killed, hung and crash-looping.

The server is Python's own `http.server` (starts in a fraction of a second), watched through its
health URL exactly as the launchers watch Rasa and the action server.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from runtime.processes import ProcessGroup, ServerProcess, free_port
from runtime.supervisor import RestartPolicy

FAST = RestartPolicy(first_delay=1.0, max_delay=4.0, healthy_reset=60.0, poll_interval=0.1,
                     health_interval=0.3, unhealthy_after=2.0, start_grace=20.0)


def http_server(tmp_path: Path, name: str = "web") -> ServerProcess:
    port = free_port()
    return ServerProcess(name=name, command=[sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                         health_url=f"http://127.0.0.1:{port}/", cwd=tmp_path, log_path=tmp_path / f"{name}.log")


def wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        time.sleep(0.1)


@pytest.fixture
def supervised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[tuple[ProcessGroup, ServerProcess]]:
    caplog.set_level(logging.INFO, logger="shopdesk.supervisor")
    server = http_server(tmp_path)
    group = ProcessGroup([server], supervise=True, policy=FAST)
    group.start(timeout=30)
    try:
        yield group, server
    finally:
        group.stop()


def supervisor_records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "shopdesk.supervisor" and r.levelno == level]


def test_a_killed_server_comes_back_healthy_and_the_crash_is_logged(supervised, caplog) -> None:
    group, server = supervised
    first_pid = server.process.pid
    requests.get(server.health_url, timeout=2).raise_for_status()
    os.killpg(first_pid, signal.SIGKILL)

    wait_for(lambda: group.restarts.get("web") == 1 and server.healthy(), 20, "the server restarted and healthy")
    assert server.process.pid != first_pid
    assert requests.get(server.health_url, timeout=2).status_code == 200
    [crash] = supervisor_records(caplog, logging.ERROR)
    assert "web was killed by SIGKILL (exit code -9)" in crash and "restarting it in 1s" in crash
    assert "Last log lines" in crash  # the dead server's log tail, for whoever reads the launcher's log
    assert any("restarted web" in m for m in supervisor_records(caplog, logging.WARNING))
    wait_for(lambda: any("web is healthy again" in m for m in supervisor_records(caplog, logging.INFO)), 5,
             "recovery logged")


def test_stop_ends_supervision_so_nothing_is_restarted(supervised) -> None:
    group, server = supervised
    url = server.health_url
    group.stop()
    assert not server.alive()
    time.sleep(FAST.first_delay + 1.5)  # longer than a restart would take
    assert not server.alive() and group.restarts == {}
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)


def test_a_hung_server_is_killed_and_restarted(supervised, caplog) -> None:
    group, server = supervised
    hung_pid = server.process.pid
    os.killpg(hung_pid, signal.SIGSTOP)  # alive but answering nothing, like a stalled event loop
    wait_for(lambda: group.restarts.get("web") == 1 and server.healthy(), 30, "the hung server replaced")
    assert server.process.pid != hung_pid
    assert any("answered no health check" in m for m in supervisor_records(caplog, logging.ERROR))
    with pytest.raises(ProcessLookupError):
        os.kill(hung_pid, 0)  # the stopped process is gone, not left behind holding the port


def test_a_crash_loop_backs_off_exponentially_up_to_the_cap(supervised, caplog) -> None:
    _, server = supervised
    server.command = [sys.executable, "-c", "raise SystemExit(3)"]  # every restart now dies at once
    os.killpg(server.process.pid, signal.SIGKILL)
    wait_for(lambda: len(supervisor_records(caplog, logging.ERROR)) >= 4, 30, "four crashes")
    crashes = supervisor_records(caplog, logging.ERROR)[:4]
    assert "killed by SIGKILL" in crashes[0] and all("exited with code 3" in c for c in crashes[1:])
    delays = [c.split("restarting it in ")[1].split("s ")[0] for c in crashes]
    assert delays == ["1", "2", "4", "4"]  # 1 s, doubling, capped at max_delay


def test_supervision_is_off_unless_asked(tmp_path: Path) -> None:
    server = http_server(tmp_path)
    with ProcessGroup([server]) as group:
        os.killpg(server.process.pid, signal.SIGKILL)
        time.sleep(2.5)
        assert not server.alive() and group.restarts == {} and group.supervisor is None


def test_restart_policy_delays() -> None:
    policy = RestartPolicy()
    assert [policy.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
