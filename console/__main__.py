"""`python -m console [serve] [--host H] [--port P]` runs the agent console (127.0.0.1:8090 by default);
`python -m console create-user --role agent|admin EMAIL [--name NAME] [--password-stdin]` adds an account
(the password is prompted for twice, or read from the first line of standard input).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from console import ConfigurationError


def _serve(args: argparse.Namespace) -> int:
    from console import create_app

    try:
        app = create_app()
    except ConfigurationError as exc:
        print(f"console: {exc}", file=sys.stderr)
        return 2
    if not _has_console_tables(app.config["SHOPDESK_DATABASE_URL"]):
        print("console: the database has no console tables yet: run `make db` (migrates the store) or create "
              "the first account with `python -m console create-user`, which migrates too.", file=sys.stderr)
        return 2
    app.run(host=args.host, port=args.port, debug=args.debug, threaded=True)
    return 0


def _has_console_tables(url: str) -> bool:
    from sqlalchemy import inspect

    from store.db import make_engine

    engine = make_engine(url)
    try:
        return inspect(engine).has_table("handoffs")
    finally:
        engine.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise ValueError("The passwords do not match.")
    return first


def _create_user(args: argparse.Namespace) -> int:
    from console.users import UserError, create_user
    from store.db import make_engine, session_factory
    from store.migrate import upgrade_database

    try:
        password = _read_password(args.password_stdin)
    except (ValueError, EOFError, KeyboardInterrupt) as exc:
        print(f"console: {exc or 'cancelled'}", file=sys.stderr)
        return 2
    engine = make_engine(args.database_url)
    upgrade_database(engine)  # the console's tables come with migration 0003
    try:
        agent = create_user(session_factory(engine), args.email, password, args.role, args.name)
    except UserError as exc:
        print(f"console: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"Created {agent.role} {agent.email} (id {agent.id}).")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console", description="ShopDesk agent console")
    parser.set_defaults(run=_serve, host=os.environ.get("SHOPDESK_CONSOLE_HOST", "127.0.0.1"),
                        port=int(os.environ.get("SHOPDESK_CONSOLE_PORT", "8090")), debug=False)
    commands = parser.add_subparsers(title="commands")
    serve = commands.add_parser("serve", help="run the console (the default)")
    serve.add_argument("--host", default=os.environ.get("SHOPDESK_CONSOLE_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("SHOPDESK_CONSOLE_PORT", "8090")))
    serve.add_argument("--debug", action="store_true", help="Flask debug mode (reloader, tracebacks)")
    serve.set_defaults(run=_serve)
    create = commands.add_parser("create-user", help="add an agent or admin account")
    create.add_argument("email")
    create.add_argument("--role", choices=["agent", "admin"], required=True)
    create.add_argument("--name", help="display name shown to customers (default: the email's local part)")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    create.add_argument("--database-url", default=None, help="default: SHOPDESK_DATABASE_URL or var/shop.db")
    create.set_defaults(run=_create_user)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
