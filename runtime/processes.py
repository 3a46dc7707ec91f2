"""Start, health-check and stop a group of local server processes, cleanly, as one unit.

Used by the demo and scale-out launchers and by the tests, so all run the real servers the same way.
Each process gets its own process group, so stopping it also stops any workers it forked; Ctrl-C on the
launcher stops them all. Launchers pass `supervise=True`: a server that crashes or hangs is logged and
restarted (runtime/supervisor.py); tests that kill servers on purpose leave it off.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import requests

from runtime.supervisor import RestartPolicy, Supervisor


class StartupError(RuntimeError):
    pass


def free_port(low: int = 20000, high: int = 32000) -> int:
    """A free port below the kernel's ephemeral range: Rasa binds only after loading its model, and an
    ephemeral port could meanwhile be handed to some outgoing connection."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(low, high)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise StartupError(f"no free port between {low} and {high}")


@dataclass
class ServerProcess:
    name: str
    command: Sequence[str]
    health_url: str
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    ok_below: int = 500  # health answers below this status count as healthy (400: a 409 "no model" does not)

    def start(self) -> None:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                list(self.command), cwd=self.cwd, env={**os.environ, **self.env},
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        finally:
            if log is not subprocess.DEVNULL:
                log.close()  # the child has its own copy; a restarted server must not leak one per start

    def healthy(self) -> bool:
        try:
            return requests.get(self.health_url, timeout=2).status_code < self.ok_below
        except requests.RequestException:
            return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15) -> None:
        if not self.alive():
            return
        assert self.process is not None
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path or not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class ProcessGroup:
    """Servers started in order, each waited for until healthy; stopped in reverse order.

    With `supervise=True`, once all are healthy a supervisor restarts any that crashes or hangs
    (`restarts` counts them per server name); `stop()` ends supervision first.
    """

    def __init__(self, servers: Sequence[ServerProcess], supervise: bool = False,
                 policy: RestartPolicy | None = None) -> None:
        self.servers = list(servers)
        self.supervise, self.policy = supervise, policy
        self.supervisor: Supervisor | None = None

    @property
    def restarts(self) -> dict[str, int]:
        return self.supervisor.restarts if self.supervisor else {}

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        """Keep the supervisor's hands off server `name` while it is restarted on purpose."""
        with self.supervisor.hold(name) if self.supervisor else nullcontext():
            yield

    def start(self, timeout: float = 300) -> None:
        try:
            for server in self.servers:
                server.start()
            deadline = time.monotonic() + timeout
            for server in self.servers:
                while not server.healthy():
                    if not server.alive():
                        raise StartupError(f"{server.name} exited during start-up:\n{server.log_tail()}")
                    if time.monotonic() > deadline:
                        raise StartupError(f"{server.name} was not healthy after {timeout:.0f}s:\n"
                                           f"{server.log_tail()}")
                    time.sleep(0.5)
            if self.supervise:
                self.supervisor = Supervisor(self.servers, self.policy)
                self.supervisor.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.supervisor:
            self.supervisor.stop()
        for server in reversed(self.servers):
            server.stop()

    def __enter__(self) -> ProcessGroup:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
