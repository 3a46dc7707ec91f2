"""Conversation benchmark: task success of the whole conversation suite (tests/conversations/) end to end.

Starts the real stack itself (Rasa server + action server, tests/conftest.py's way: a fresh store seeded from
the Online Retail sample with seed 7 and the shop's documents ingested into a fresh knowledge base), plays
every conversation (or a `--category` / `--limit` / `--ci` selection) over the REST channel with its own
fresh customer and orders, and prints task success per category and overall (success / partial / failure)
next to the 36% baseline and the 90% target, then every failed conversation with its reasons and transcript.

    nice -n 10 .venv/app/bin/python bench/conversation_benchmark.py [--category track cancel] [--limit 20]
        [--workers 2] [--report bench/results/conversations.json] [--quiet-failures]

Grades (tests/conversations/runner.py): success = every reply and database check passed; partial = the
database outcome is right but a reply check failed; failure otherwise. Task success = the share of successes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from tqdm import tqdm

from runtime.stack import PROJECT_ROOT, StackConfig, shopdesk_stack
from tests.conversations.runner import (
    CATEGORIES,
    FAILURE,
    PARTIAL,
    SUCCESS,
    Result,
    load_conversations,
    run_conversation,
    summarise,
)

BASELINE, TARGET = 0.36, 0.90
DEMO_SEED = 7
DEMO_DATA = PROJECT_ROOT.parent / "shared" / "data" / "online_retail" / "online_retail_sample.csv"


def latest_model() -> Path:
    models = sorted((PROJECT_ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        sys.exit("no trained model in models/: run `make train`")
    return models[-1]


def demo_store(directory: Path) -> str:
    """A fresh store seeded like tests/conftest.py's demo_store_url (the fixtures add their own orders)."""
    from store.seed import migrate_and_seed

    url = f"sqlite:///{directory / 'shop.db'}"
    migrate_and_seed(url, DEMO_DATA, rng_seed=DEMO_SEED)
    return url


def knowledge_base(directory: Path) -> Path:
    """knowledge/docs ingested into a fresh Chroma directory, as tests/conftest.py's knowledge_dir."""
    from knowledge.ingest import main as ingest

    if ingest([str(PROJECT_ROOT / "knowledge" / "docs"), "--chroma-dir", str(directory), "--no-progress"]) != 0:
        sys.exit("ingesting knowledge/docs failed")
    return directory


@contextmanager
def running_stack(work: Path, model: Path) -> Iterator[StackConfig]:
    (work / "store").mkdir()
    print("seeding the demo store and ingesting knowledge/docs ...", flush=True)
    config = StackConfig(model=model, database_url=demo_store(work / "store"), var_dir=work / "var",
                         extra_env={"SHOPDESK_KNOWLEDGE_DIR": str(knowledge_base(work / "chroma"))})
    print(f"starting Rasa + action server with {model.name} ...", flush=True)
    with shopdesk_stack(config):
        yield config


def share(row: dict[str, int], grade: str) -> str:
    return f"{row[grade] / row['total']:6.1%}" if row["total"] else "     -"


def print_table(results: list[Result]) -> None:
    table = summarise(results)
    print(f"\n{'category':<26}{'n':>5}{'success':>9}{'partial':>9}{'failure':>9}")
    for label, key in [*((c, c) for c in CATEGORIES if c in table), ("overall", "all")]:
        row = table.get(key, {SUCCESS: 0, PARTIAL: 0, FAILURE: 0, "total": 0})
        print(f"{label:<26}{row['total']:>5}" + "".join(f"{share(row, g):>9}" for g in (SUCCESS, PARTIAL, FAILURE)))
    rate = row[SUCCESS] / row["total"] if row["total"] else 0.0
    print(f"\ntask success {rate:.1%}   baseline {BASELINE:.0%}   target {TARGET:.0%}   "
          f"({'target met' if rate >= TARGET else f'{TARGET - rate:.1%} below target'})")


def print_failures(results: list[Result], transcripts: bool) -> None:
    bad = [r for r in results if r.grade != SUCCESS]
    if not bad:
        return
    print(f"\n{len(bad)} conversations not fully successful:")
    for result in bad:
        print(f"\n[{result.grade}] {result.conversation.category}/{result.conversation.id} ({result.sender})")
        for reason in result.reasons:
            print(f"  - {reason}")
        if transcripts:
            print(result.transcript_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--category", nargs="*", choices=CATEGORIES, help="only these categories")
    parser.add_argument("--limit", type=int, default=None, help="at most this many conversations (after --category)")
    parser.add_argument("--ci", action="store_true", help="only the CI subset (`ci: true`)")
    parser.add_argument("--id", nargs="*", default=None, help="only conversations with these ids")
    parser.add_argument("--workers", type=int, default=2, help="conversations played at once (default %(default)s)")
    parser.add_argument("--model", type=Path, default=None, help="model archive (default: newest in models/)")
    parser.add_argument("--report", type=Path, default=None, help="write a JSON report (results + transcripts)")
    parser.add_argument("--no-transcripts", action="store_true", help="list failures without their transcripts")
    args = parser.parse_args(argv)

    conversations = load_conversations(categories=args.category)
    if args.ci:
        conversations = [c for c in conversations if c.ci]
    if args.id:
        conversations = [c for c in conversations if c.id in set(args.id)]
    conversations = conversations[: args.limit] if args.limit else conversations
    if not conversations:
        sys.exit("no conversations selected")
    model = args.model or latest_model()
    started = time.monotonic()
    with (tempfile.TemporaryDirectory(prefix="shopdesk-conversations-") as tmp,
          running_stack(Path(tmp), model) as stack,
          ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool):
        results = list(tqdm(pool.map(lambda c: run_conversation(stack, c), conversations),
                            total=len(conversations), desc="conversations", unit="conv"))
    elapsed = time.monotonic() - started
    print_table(results)
    print_failures(results, transcripts=not args.no_transcripts)
    turns = sum(len(r.transcript) for r in results)
    print(f"\n{len(results)} conversations, {turns} turns in {elapsed:.0f} s (model {model.name})")
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps({
            "model": model.name, "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "seconds": round(elapsed, 1), "baseline": BASELINE, "target": TARGET,
            "summary": summarise(results), "results": [r.as_dict() for r in results]}, indent=2))
        print(f"report: {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
