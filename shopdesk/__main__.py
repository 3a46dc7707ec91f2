"""`shopdesk`: the operator's commands (docs/deployment.md, docs/upgrading.md).

    shopdesk --version
    shopdesk migrate [--check] [--database-url URL]     upgrade the store database to this release's schema
    shopdesk backup [--data-dir DIR] [--output PATH]    archive databases, knowledge base, models, uploads, profile
    shopdesk restore ARCHIVE DIR [--store-url URL] [--tracker-url URL]
    shopdesk serve [...]                                the production profile (runtime/serve.py)

Run through bin/shopdesk (the app environment, from the repository root) or `.venv/app/bin/python -m shopdesk`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from shopdesk import __version__


def _migrate(args: argparse.Namespace) -> int:
    from store.db import database_url, make_engine
    from store.migrate import current_revision, head_revision, upgrade_database

    url = args.database_url or database_url()
    engine = make_engine(url)
    try:
        before, head = current_revision(engine), head_revision()
        if before == head:
            print(f"store database is at {head}, this release's schema: nothing to do")
            return 0
        if args.check:
            print(f"store database is at {before or 'no revision (empty)'}, this release needs {head}: "
                  "back it up (shopdesk backup), then run `shopdesk migrate`", file=sys.stderr)
            return 1
        upgrade_database(engine)
        print(f"store database upgraded: {before or 'empty'} -> {current_revision(engine)}")
        return 0
    finally:
        engine.dispose()


def _backup(args: argparse.Namespace) -> int:
    from shopdesk.backup import BackupError, Sources, backup

    sources = Sources.of_data_dir(args.data_dir.resolve()) if args.data_dir else Sources.from_env()
    try:
        archive = backup(sources, args.output.resolve())
    except BackupError as error:
        print(f"shopdesk backup: {error}", file=sys.stderr)
        return 2
    print(f"backup written: {archive}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from shopdesk.backup import BackupError, restore
    from store.migrate import head_revision

    try:
        manifest = restore(args.archive, args.directory.resolve(), args.store_url, args.tracker_url)
    except BackupError as error:
        print(f"shopdesk restore: {error}", file=sys.stderr)
        return 2
    print(f"restored the backup of {manifest['created_at']} (ShopDesk {manifest['shopdesk_version']}) into "
          f"{args.directory}")
    if manifest.get("store_revision") != head_revision():
        print(f"its store is at schema {manifest.get('store_revision')}; this release's is {head_revision()}: "
              f"run `shopdesk migrate --database-url sqlite:///{args.directory.resolve() / 'shop.db'}` next")
    print(f"start it with: shopdesk serve --data-dir {args.directory}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from runtime.serve import main as serve_main

    return serve_main(args.rest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shopdesk", description="ShopDesk operator commands")
    parser.add_argument("--version", action="version", version=f"ShopDesk {__version__}")
    commands = parser.add_subparsers(title="commands", required=True)

    migrate = commands.add_parser("migrate", help="upgrade the store database to this release's schema")
    migrate.add_argument("--database-url", help="default: SHOPDESK_DATABASE_URL or var/shop.db")
    migrate.add_argument("--check", action="store_true", help="only say whether it is up to date (exit 1 if not)")
    migrate.set_defaults(run=_migrate)

    save = commands.add_parser("backup", help="archive everything the deployment knows")
    save.add_argument("--data-dir", type=Path, default=os.environ.get("SHOPDESK_DATA_DIR") or None,
                      help="a production data directory (default: SHOPDESK_DATA_DIR, else the variables the "
                           "processes read, else var/ and models/)")
    save.add_argument("--output", type=Path, default=Path("."),
                      help="archive file, or a directory for a dated one (default: the current directory)")
    save.set_defaults(run=_backup)

    load = commands.add_parser("restore", help="unpack a backup into an empty directory")
    load.add_argument("archive", type=Path)
    load.add_argument("directory", type=Path, help="empty or new directory: becomes the data directory")
    load.add_argument("--store-url", help="empty PostgreSQL database for a PostgreSQL store dump")
    load.add_argument("--tracker-url", help="empty PostgreSQL database for a PostgreSQL tracker dump")
    load.set_defaults(run=_restore)

    serve = commands.add_parser("serve", help="the production profile (python -m runtime.serve --help)",
                                add_help=False)
    serve.add_argument("rest", nargs=argparse.REMAINDER)
    serve.set_defaults(run=_serve)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
