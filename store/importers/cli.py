"""The import command: which format, which files, and a summary of what was (or would be) written.

    python -m store.importers shopify --products products_export.csv --orders orders_export.csv
    python -m store.importers woocommerce --orders orders.csv --dry-run
    python -m store.importers generic --mapping mapping.yml --orders sales.csv --skip-bad-rows

Exit status: 0 when the import was written (or a dry run found no bad row), 1 when bad rows stopped it,
2 when a file or an option can't be used at all.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from store.db import make_engine
from store.importers import core, generic, shopify, woocommerce
from store.importers.assemble import ReadOptions
from store.importers.core import ExportFormat, Report
from store.importers.records import ImportFileError
from store.importers.statuses import StatusMapError, status_map

FORMATS: dict[str, ExportFormat] = {"shopify": shopify, "woocommerce": woocommerce}  # type: ignore[dict-item]


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m store.importers",
                                   description="Import a shop's products, customers and orders into the store.")
    commands = main.add_subparsers(dest="format", required=True, metavar="FORMAT")
    for name, help_text in (("shopify", "Shopify's products and orders CSV exports"),
                            ("woocommerce", "WooCommerce's products export and an orders CSV export"),
                            ("generic", "any CSV, with a mapping file saying which column is what")):
        command = commands.add_parser(name, help=help_text, description=help_text)
        if name == "generic":
            command.add_argument("--mapping", type=Path, required=True, help="YAML or TOML mapping file")
        command.add_argument("--products", type=Path, help="products CSV")
        command.add_argument("--orders", type=Path, help="orders CSV (customers come from their orders)")
        command.add_argument("--database-url", help="default: $SHOPDESK_DATABASE_URL or var/shop.db")
        command.add_argument("--dry-run", action="store_true",
                             help="check and count everything, write nothing (the schema is still migrated)")
        command.add_argument("--skip-bad-rows", action="store_true",
                             help="write the good rows and list the bad ones (default: any bad row writes nothing)")
        command.add_argument("--status", action="append", default=[], metavar="WORD=STATUS",
                             help="map an order status of the file to the store's (processing, shipped, delivered, "
                                  "cancelled, returned); repeatable, e.g. --status on-hold=processing")
        command.add_argument("--currency", help="ISO 4217 code for orders the file gives no currency for")
        command.add_argument("--date-format", help="strptime format of the file's dates, e.g. '%%d/%%m/%%Y %%H:%%M' "
                                                   "(default: ISO 8601 and Shopify's form)")
    return main


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not (args.products or args.orders):
        print("import: nothing to import: give --products, --orders or both", file=sys.stderr)
        return 2
    try:
        export: ExportFormat
        extra: dict[str, str] = {}
        if args.format == "generic":
            mapping = generic.load_mapping(args.mapping)
            export, extra = mapping, mapping.extra_statuses
            currency, date_format = args.currency or mapping.currency, args.date_format or mapping.date_format
            decimal_comma = mapping.decimal_comma
            shown = args.mapping.name.replace("{", "{{").replace("}", "}}")
            hint = f"'{{word}}: STATUS' under statuses: in {shown} (or --status {{word}}=STATUS)"
        else:
            export = FORMATS[args.format]
            currency, date_format, decimal_comma = args.currency, args.date_format, False
            hint = "--status {word}=STATUS"
        options = ReadOptions(status_map(export.statuses, extra, args.status), currency, date_format,
                              decimal_comma, hint)
        products, orders = core.read(export, options, args.products, args.orders)
    except (ImportFileError, StatusMapError) as error:
        print(f"import failed, nothing written: {error}", file=sys.stderr)
        return 2
    engine = make_engine(args.database_url)
    try:
        report = core.run(engine, products, orders, dry_run=args.dry_run, skip_bad_rows=args.skip_bad_rows)
    finally:
        engine.dispose()
    print(summary(args.format, report, args.dry_run, args.skip_bad_rows))
    return 0 if report.written or (args.dry_run and not report.problems) else 1


def summary(format_name: str, report: Report, dry_run: bool, skip_bad_rows: bool) -> str:
    written = "written" if report.written else "dry run, nothing written" if dry_run else "NOTHING written"
    verb = "" if report.written else " (would be)"
    out = report.outcome
    lines = [f"{format_name} import: {written}",
             f"  products{verb}:  {out.products}", f"  customers{verb}: {out.customers}",
             f"  orders{verb}:    {out.orders}"]
    if out.products_from_lines:
        lines.append(f"  {out.products_from_lines} product(s) made from order lines (not in a products file; "
                     "stock 0)")
    if report.problems:
        if report.written:
            head = "left out (--skip-bad-rows)"
        elif dry_run:
            head = "the import would stop here"
        else:
            head = "fix them, or pass --skip-bad-rows to import the rest"
        lines.append(f"{len(report.problems)} bad row(s), {head}:")
        lines += [f"  {problem}" for problem in report.problems]
    if report.warnings:
        lines.append("warnings:")
        lines += [f"  {warning}" for warning in report.warnings]
    return "\n".join(lines)
