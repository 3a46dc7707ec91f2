"""`python -m web [--host H] [--port P]`: serve the storefront and widget (127.0.0.1:8080 by default)."""

from __future__ import annotations

import argparse
import os
import sys

from dotenv import load_dotenv

from store.db import PROJECT_ROOT
from web import ConfigurationError, create_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=os.environ.get("SHOPDESK_WEB_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SHOPDESK_WEB_PORT", "8080")))
    parser.add_argument("--debug", action="store_true", help="Flask debug mode (reloader, tracebacks)")
    args = parser.parse_args(argv)
    load_dotenv(PROJECT_ROOT / ".env", override=False)  # the real environment wins over .env
    try:
        app = create_app()
    except ConfigurationError as exc:
        print(f"web: {exc}", file=sys.stderr)
        return 2
    app.run(host=args.host, port=args.port, debug=args.debug, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
