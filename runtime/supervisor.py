"""Keep a group's servers running: restart one that exited or stopped answering its health check.

A supervisor thread watches every server of a started `ProcessGroup` (runtime/processes.py). A server
that exits, or that answers no health check for `unhealthy_after` seconds (a hung event loop, e.g. a
regex stuck on one message), is logged (why, exit code, the tail of its log) and started again after an
exponential back-off (1 s, 2 s, 4 s … capped at 30 s), so a server that crashes at start-up does not
spin the CPU. A server that stays healthy for `healthy_reset` seconds is forgiven: its next crash
waits 1 s again. `stop()` ends supervision before the group stops its servers, so intended stops are
never "repaired"; `hold(name)` takes one server out of supervision while an operator restarts it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runtime.processes import ServerProcess

logger = logging.getLogger("shopdesk.supervisor")


@dataclass(frozen=True)
class RestartPolicy:
    """How often servers are looked at, when one counts as dead and how long a restart waits."""

    first_delay: float = 1.0        # back-off before the first restart of a crash streak
    max_delay: float = 30.0         # back-off cap
    healthy_reset: float = 60.0     # healthy this long in one spell -> the streak is forgiven
    poll_interval: float = 0.5      # exits are noticed this fast (cheap: no request)
    health_interval: float = 5.0    # a running server's health URL is asked this often
    unhealthy_after: float = 60.0   # a server that was healthy and then answers no check for this long is hung
    start_grace: float = 300.0      # a (re)started server has this long to become healthy (Rasa loads its model)

    def delay(self, crashes: int) -> float:
        """Back-off before restarting after the `crashes`-th crash in a row (1-based)."""
        return min(self.max_delay, self.first_delay * 2 ** max(0, crashes - 1))


@dataclass
class _Watch:
    """What the supervisor knows about one server."""

    server: ServerProcess
    started_at: float
    last_healthy: float | None = None    # last successful health check of this run of the process
    healthy_since: float | None = None   # start of the current unbroken healthy spell
    crashes: int = 0                     # crashes in a row (reset after a healthy spell)
    restart_at: float | None = None      # a restart is pending at this time
    next_check: float = 0.0


def describe_exit(code: int | None) -> str:
    if code is None:
        return "is gone"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name} (exit code {code})"
    return f"exited with code {code}"


def kill_leftovers(server: ServerProcess) -> None:
    """SIGKILL what is left of a dead server's process group (forked workers would keep its port)."""
    if server.process is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(server.process.pid, signal.SIGKILL)


class Supervisor:
    """A daemon thread that restarts the given (already started and healthy) servers when they fail."""

    def __init__(self, servers: Sequence[ServerProcess], policy: RestartPolicy | None = None) -> None:
        self.policy = policy or RestartPolicy()
        now = time.monotonic()
        self._watches = [_Watch(server, started_at=now, last_healthy=now, healthy_since=now,
                                next_check=now + self.policy.health_interval) for server in servers]
        self.restarts: dict[str, int] = {}
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shopdesk-supervisor", daemon=True)

    def start(self) -> None:
        logger.info("supervising %s", ", ".join(w.server.name for w in self._watches))
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        """End supervision; returns once no restart is in progress (so the caller may stop the servers)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=timeout)

    @contextlib.contextmanager
    def hold(self, name: str) -> Iterator[None]:
        """Leave server `name` alone inside the block (an operator is stopping/starting it on purpose)."""
        with self._lock:
            self._held.add(name)
        try:
            yield
        finally:
            with self._lock:
                self._held.discard(name)
                for watch in self._watches:
                    if watch.server.name == name:  # whatever the operator did, watch it afresh
                        now = time.monotonic()
                        watch.started_at, watch.last_healthy, watch.healthy_since = now, None, None
                        watch.restart_at, watch.next_check = None, now

    # -- the loop
    def _run(self) -> None:
        while not self._stop.wait(self.policy.poll_interval):
            for watch in self._watches:
                with self._lock:
                    if self._stop.is_set():
                        return
                    if watch.server.name in self._held:
                        continue
                    try:
                        self._step(watch, time.monotonic())
                    except Exception:  # the supervisor itself must never die
                        logger.exception("supervising %s failed; will try again", watch.server.name)

    def _step(self, watch: _Watch, now: float) -> None:
        server = watch.server
        if watch.restart_at is not None:
            if now >= watch.restart_at:
                self._restart(watch, now)
            return
        if not server.alive():
            code = server.process.returncode if server.process is not None else None
            self._crashed(watch, now, describe_exit(code))
            return
        if now < watch.next_check:
            return
        watch.next_check = now + self.policy.health_interval
        if server.healthy():
            if watch.last_healthy is None:
                logger.info("%s is healthy again (pid %s)", server.name, server.process.pid if server.process else "?")
            watch.last_healthy = now
            watch.healthy_since = watch.healthy_since or now
            if watch.crashes and now - watch.healthy_since >= self.policy.healthy_reset:
                watch.crashes = 0
            return
        watch.healthy_since = None
        if watch.last_healthy is None:
            if now - watch.started_at > self.policy.start_grace:
                self._crashed(watch, now, f"was not healthy {self.policy.start_grace:.0f}s after starting")
        elif now - watch.last_healthy > self.policy.unhealthy_after:
            self._crashed(watch, now, f"answered no health check for {now - watch.last_healthy:.0f}s")

    def _crashed(self, watch: _Watch, now: float, why: str) -> None:
        server = watch.server
        watch.crashes += 1
        delay = self.policy.delay(watch.crashes)
        logger.error("%s %s; restarting it in %.0fs (crash %d in a row). Last log lines:\n%s",
                     server.name, why, delay, watch.crashes, server.log_tail(20))
        # A hung server may not run its SIGTERM handler at all (stuck in C code), and a dead one's forked
        # workers would keep its port: kill the whole process group outright.
        kill_leftovers(server)
        if server.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.process.wait(timeout=10)
        watch.restart_at = now + delay

    def _restart(self, watch: _Watch, now: float) -> None:
        server = watch.server
        watch.restart_at = None
        try:
            server.start()
        except OSError as error:
            self._crashed(watch, now, f"could not be started ({error})")
            return
        self.restarts[server.name] = self.restarts.get(server.name, 0) + 1
        watch.started_at, watch.last_healthy, watch.healthy_since = now, None, None
        watch.next_check = now + min(1.0, self.policy.health_interval)
        logger.warning("restarted %s (pid %s, restart %d)", server.name,
                       server.process.pid if server.process else "?", self.restarts[server.name])


def log_supervision_to(path: Path) -> None:
    """Also write the supervisor's records (crashes, restarts) to `path`, beside the servers' own logs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
