"""Run the Rasa CLI of the Rasa environment (Python 3.10) from the app side, as a subprocess.

The two environments never import each other; training, testing and validating are Rasa's own commands,
run the way `make train` runs them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence

from training.settings import PROJECT_ROOT, RASA_ENV, TrainingSettings


class RasaCommandFailed(RuntimeError):
    def __init__(self, command: Sequence[str], returncode: int, output: str) -> None:
        super().__init__(f"`rasa {' '.join(command[1:3])}` failed (exit {returncode}):\n{output[-3000:]}")
        self.returncode = returncode
        self.output = output


def rasa_env(settings: TrainingSettings) -> dict[str, str]:
    env = {**os.environ, **RASA_ENV}
    if settings.rasa_cache_dir:
        env["RASA_CACHE_DIRECTORY"] = settings.rasa_cache_dir
    return env


def run_rasa(settings: TrainingSettings, *args: str, on_line: Callable[[str], None] | None = None,
             check: bool = True) -> tuple[int, str]:
    """Runs `rasa ARGS` (at lower CPU priority: it shares the machine with the live bot); returns (code, output).

    `on_line` sees each line of output as it comes (the retrain job's progress). It runs in the project
    root so the project's custom components (bot/) import; pass absolute paths.
    """
    command = ["nice", "-n", "10", str(settings.rasa_bin), *args] if _has_nice() else [str(settings.rasa_bin), *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=rasa_env(settings), cwd=PROJECT_ROOT, errors="replace")
    lines: list[str] = []
    assert process.stdout is not None
    try:
        for line in process.stdout:
            lines.append(line)
            if on_line:
                on_line(line.rstrip())
        code = process.wait(timeout=settings.rasa_timeout_s)
    except BaseException:
        process.kill()
        process.wait()
        raise
    output = "".join(lines)
    if check and code != 0:
        raise RasaCommandFailed(command[-len(args) - 1:], code, output)
    return code, output


def _has_nice() -> bool:
    from shutil import which

    return which("nice") is not None
