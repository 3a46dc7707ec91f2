"""`rasa run` without the HTTP API token on the command line: the token comes from RASA_AUTH_TOKEN.

`rasa run --auth-token T` puts T into the process's argv, which every local user sees with `ps` and
/proc/<pid>/cmdline; whoever reads it owns the Rasa HTTP API (trackers, events, the model). This
launcher takes the same arguments as `rasa run` except `--auth-token`, reads the token from the
environment and hands it to Rasa's own CLI entry point (`rasa.__main__.main`, what the `rasa` script
runs) inside this process: the kernel's copy of our argv never holds it.

    RASA_AUTH_TOKEN=... .venv/rasa/bin/python -m bot.serve --enable-api --model models --port 5005 ...
"""

from __future__ import annotations

import os
import sys

TOKEN_ENV = "RASA_AUTH_TOKEN"


def rasa_argv(argv: list[str], token: str) -> list[str]:
    """The argv Rasa's CLI parses: `rasa run <argv> --auth-token <token>`."""
    if any(arg == "--auth-token" or arg.startswith("--auth-token=") for arg in argv):
        raise SystemExit(f"bot.serve: pass the token in {TOKEN_ENV}, not on the command line")
    return ["rasa", "run", *argv, "--auth-token", token]


def main(argv: list[str] | None = None) -> None:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise SystemExit(f"bot.serve: {TOKEN_ENV} is not set; the Rasa HTTP API is never served without a token")
    from shop_profile import require_profile

    require_profile("bot.serve")  # a bad shop.yml stops here with its problems listed, not mid-conversation
    # Only Python's own list changes here; /proc/<pid>/cmdline keeps the original arguments.
    sys.argv = rasa_argv(list(sys.argv[1:] if argv is None else argv), token)
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
