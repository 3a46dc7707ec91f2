"""Scale-out load and fault benchmark: the embedded default vs the scale-out profile with 1, 2, 3 Rasa instances,
then faults under load, in one run, with the exactly-once audit from the tracker store after each run.

    nice -n 10 .venv/app/bin/python bench/load_benchmark.py [--users 30] [--duration 40] [--instances 1 2 3]

For each deployment: start it, drive it with Locust (bench/locustfile.py, headless, bounded in users and
time) over the REST channel on loopback, read messages/s, p50/p95/p99 and errors (intent path and action
path apart), then audit every conversation in the tracker store (runtime/conversation_audit.py) and, for
the scale-out profile, check that the analytics consumer stored every tracker event exactly once.
The fault run (2 Rasa instances, 2 action servers) kills an action server, restarts a Rasa instance
(drained rolling restart), restarts Redis and blocks the store database for a few seconds, during load.
Results print side by side and go to bench/results/scaleout_load.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from sqlalchemy import bindparam, create_engine, select, text
from sqlalchemy.orm import Session

from runtime.conversation_audit import audit, read_client_log
from runtime.scaleout import ScaleoutConfig, ScaleoutStack, store_database_blocked
from runtime.stack import PROJECT_ROOT, StackConfig, project_env, shopdesk_stack
from store.models import Customer, Order
from store.tokens import issue_customer_token

LOCUST = PROJECT_ROOT / ".venv" / "app" / "bin" / "locust"
LOCUSTFILE = PROJECT_ROOT / "bench" / "locustfile.py"
RESULTS = PROJECT_ROOT / "bench" / "results" / "scaleout_load.json"


def cpu_times() -> tuple[float, float]:
    fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields), idle


TICKS = os.sysconf("SC_CLK_TCK")
SERVICES = ("postgres", "redis-server", "beam.smp")


def process_cpu(groups: dict[str, set[int]]) -> dict[str, float]:
    """CPU seconds used so far by each named set of process groups, and by the backing services (by name)."""
    totals = dict.fromkeys([*groups, *SERVICES], 0.0)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        pgrp, used = int(fields[2]), (int(fields[11]) + int(fields[12])) / TICKS
        for label, pgids in groups.items():
            if pgrp in pgids:
                totals[label] += used
        if name in SERVICES:
            totals[name] += used
    return totals


def stack_groups(servers: dict) -> dict[str, set[int]]:
    """Process groups of a deployment's processes, by role (each server runs in its own session)."""
    groups: dict[str, set[int]] = {}
    for name, server in servers.items():
        role = name.rstrip("0123456789")
        if server.process is not None:
            groups.setdefault(role, set()).add(server.process.pid)
    return groups


def cpu_per_message(before: dict[str, float], after: dict[str, float], messages: int) -> dict[str, float]:
    """Milliseconds of CPU per customer message, per role (a process that died mid-run is not counted)."""
    per = {k: round(max(after.get(k, 0) - before.get(k, 0), 0) * 1000 / max(messages, 1), 1) for k in after}
    ours = sum(v for k, v in per.items() if k not in SERVICES)
    per["shopdesk processes"] = round(ours, 1)
    per["with services"] = round(ours + sum(per[k] for k in SERVICES), 1)
    per["projected msg/s on 2 idle cores"] = round(2000 / per["with services"], 1) if per["with services"] else 0
    return per


def build_pool(database_url: str, path: Path, signing_key: str, orders: int = 300, customers: int = 60,
               signed_in_conversations: int = 3000) -> Path:
    """Orders (number, email) that can be tracked without changing anything, and signed-in conversations:
    (customer, sender, token) with the token bound to that conversation (store.tokens), one per conversation."""
    engine = create_engine(database_url)
    with Session(engine) as s:
        rows = s.execute(select(Order.number, Customer.email, Customer.id).join(Customer)
                         .where(Order.status.in_(["shipped", "delivered"])).order_by(Order.number)
                         .limit(orders)).all()
    engine.dispose()
    ids = sorted({row[2] for row in rows})[:customers]
    path.write_text(json.dumps({"orders": [[r[0], r[1]] for r in rows],
                                "customers": [signed_in(ids[i % len(ids)], signing_key)
                                              for i in range(signed_in_conversations if ids else 0)]}))
    return path


def signed_in(customer_id: int, signing_key: str) -> list:
    sender = f"load-{uuid.uuid4().hex[:12]}"
    return [customer_id, sender, issue_customer_token(customer_id, sender, signing_key)]


def run_locust(host: str, pool: Path, log_dir: Path, users: int, duration: int, spawn_rate: int,
               think: str, groups: dict[str, set[int]]) -> dict:
    """One headless Locust run; returns its aggregate and per-path stats from the CSV."""
    log_dir.mkdir(parents=True, exist_ok=True)
    prefix = log_dir / "locust"
    env = {**os.environ, "SHOPDESK_LOAD_POOL": str(pool), "SHOPDESK_LOAD_LOG": str(log_dir),
           "SHOPDESK_LOAD_THINK": think}
    cpu0, procs0 = cpu_times(), process_cpu(groups)
    subprocess.run([str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "-u", str(users), "-r", str(spawn_rate),
                    "-t", f"{duration}s", "--host", host, "--csv", str(prefix), "--only-summary",
                    "--loglevel", "WARNING", "--stop-timeout", "20"], env=env, check=False,
                   stdout=subprocess.DEVNULL, stderr=open(log_dir / "locust.err", "w"))  # noqa: SIM115
    cpu1, procs1 = cpu_times(), process_cpu(groups)
    busy = 1 - (cpu1[1] - cpu0[1]) / max(cpu1[0] - cpu0[0], 1)
    stats = {}
    with open(f"{prefix}_stats.csv") as handle:
        for row in csv.DictReader(handle):
            stats[row["Name"]] = {
                "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                "msg_per_s": round(float(row["Requests/s"]), 1), "p50_ms": float(row["50%"] or 0),
                "p95_ms": float(row["95%"] or 0), "p99_ms": float(row["99%"] or 0)}
    messages = stats.get("Aggregated", {}).get("requests", 0)
    return {"stats": stats, "machine_cpu_busy": round(busy, 2), "loadavg": os.getloadavg(),
            "cpu_ms_per_message": cpu_per_message(procs0, procs1, messages)}


def audit_run(tracker_url: str, log_dir: Path) -> tuple[dict, dict, dict[str, list[str]]]:
    accepted, outcomes = read_client_log(str(p) for p in log_dir.glob("turns-*.jsonl"))
    report = audit(tracker_url, accepted)
    summary = report.summary()
    summary["examples"] = report.problems[:5]
    return summary, outcomes, accepted


def analytics_check(config: ScaleoutConfig, senders: list[str], wait: float = 60) -> dict:
    """Every tracker event of these conversations is in the analytics table exactly once.

    Waits for the consumer to catch up (queue drained); reports what is still queued, and when any missing
    events happened (seconds since the first event, in 10 s buckets), to tell consumer lag from loss."""
    import pika

    query_tracker = text("SELECT sender_id, timestamp, type_name FROM events WHERE sender_id IN :s").bindparams(
        bindparam("s", expanding=True))
    query_console = text("SELECT sender_id, timestamp, event FROM conversation_events WHERE sender_id IN :s"
                         ).bindparams(bindparam("s", expanding=True))
    tracker, console = create_engine(config.tracker_url), create_engine(config.console_url)

    def queued() -> int:
        connection = pika.BlockingConnection(pika.URLParameters(config.env()["SHOPDESK_AMQP_URL"]))
        try:
            return connection.channel().queue_declare(queue=config.queue, durable=True, passive=True
                                                      ).method.message_count
        finally:
            connection.close()

    deadline = time.monotonic() + wait
    try:
        while True:
            with tracker.connect() as t, console.connect() as c:
                in_tracker = [tuple(r) for r in t.execute(query_tracker, {"s": senders})]
                in_console = [tuple(r) for r in c.execute(query_console, {"s": senders})]
            still_queued = queued()
            if (len(in_console) >= len(in_tracker) and not still_queued) or time.monotonic() > deadline:
                break
            time.sleep(1)
    finally:
        tracker.dispose()
        console.dispose()
    keys_tracker = Counter((sender, round(ts, 6), kind) for sender, ts, kind in in_tracker)
    keys_console = Counter((sender, round(ts, 6), kind) for sender, ts, kind in in_console)
    missing, extra = keys_tracker - keys_console, keys_console - keys_tracker
    first = min((ts for _, ts, _ in in_tracker), default=0)
    buckets: dict[str, int] = {}
    for (_, ts, _), count in missing.items():
        key = f"{int((ts - first) // 10) * 10}s"
        buckets[key] = buckets.get(key, 0) + count
    return {"tracker_events": len(in_tracker), "analytics_events": len(in_console), "still_queued": still_queued,
            "missing": sum(missing.values()), "duplicated": sum(extra.values()), "missing_by_time": buckets,
            "ok": not missing and not extra}


class FaultSchedule(threading.Thread):
    """Faults injected during the load run, with what happened and when."""

    def __init__(self, stack: ScaleoutStack, start_after: float, gap: float, block_seconds: float) -> None:
        super().__init__(daemon=True)
        self.stack, self.start_after, self.gap, self.block_seconds = stack, start_after, gap, block_seconds
        self.log: list[dict] = []

    def note(self, fault: str, began: float, **details: object) -> None:
        self.log.append({"fault": fault, "at_s": round(began - self.t0, 1),
                         "took_s": round(time.monotonic() - began, 2), **details})

    def run(self) -> None:
        self.t0 = time.monotonic()
        time.sleep(self.start_after)
        began = time.monotonic()
        self.stack.kill("actions1")
        self.note("kill action server actions1 (SIGKILL; supervisor restarts it)", began)
        time.sleep(self.gap)
        began = time.monotonic()
        out_of_rotation = self.stack.rolling_restart("rasa1")
        self.note("restart Rasa instance rasa1 (drain, restart, re-enable)", began,
                  out_of_rotation_s=round(out_of_rotation, 1))
        time.sleep(self.gap / 2)
        began = time.monotonic()
        downtime = self.stack.restart_redis()
        self.note("restart Redis (SHUTDOWN NOSAVE + start)", began, redis_down_s=round(downtime, 2))
        time.sleep(self.gap / 2)
        began = time.monotonic()
        with store_database_blocked(self.stack.config):
            time.sleep(self.block_seconds)
        self.note(f"store database unavailable for {self.block_seconds:.0f}s (connections refused and cut)", began)


def copy_sqlite(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=30, help="concurrent customers (default %(default)s)")
    parser.add_argument("--duration", type=int, default=40, help="seconds of load per deployment")
    parser.add_argument("--spawn-rate", type=int, default=10)
    parser.add_argument("--think", default="0.2,0.8", help="think time range between turns, seconds")
    parser.add_argument("--instances", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--action-servers", type=int, default=2)
    parser.add_argument("--fault-duration", type=int, default=150)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-faults", action="store_true")
    parser.add_argument("--keep-databases", action="store_true")
    args = parser.parse_args()

    models = sorted((PROJECT_ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        sys.exit("no trained model in models/: run `make train`")
    model = models[-1]
    work = Path(tempfile.mkdtemp(prefix="shopdesk-load-"))
    signing_key = project_env()["SHOPDESK_SIGNING_KEY"]
    results: dict = {"conditions": {"cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg(),
                                    "users": args.users, "duration_s": args.duration, "think_s": args.think,
                                    "model": model.name, "started": time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                                                                  time.gmtime())},
                     "runs": {}}

    def record(name: str, run: dict) -> None:
        results["runs"][name] = run
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2))
        agg = run["load"]["stats"].get("Aggregated", {})
        intent = run["load"]["stats"].get("intent path", {})
        print(f"{name:>22}: {agg.get('msg_per_s', 0):6.1f} msg/s  p50 {agg.get('p50_ms', 0):5.0f}  "
              f"p95 {agg.get('p95_ms', 0):5.0f}  p99 {agg.get('p99_ms', 0):5.0f} ms  errors "
              f"{agg.get('failures', 0)}/{agg.get('requests', 0)}  | intent p95 {intent.get('p95_ms', 0):.0f} ms  "
              f"| cpu {run['load']['machine_cpu_busy']:.0%}, "
              f"{run['load']['cpu_ms_per_message']['with services']:.0f} ms/msg -> "
              f"{run['load']['cpu_ms_per_message']['projected msg/s on 2 idle cores']:.0f} msg/s on 2 idle cores "
              f"| audit ok={run['audit']['ok']} "
              f"outcomes={run['outcomes']}", flush=True)

    if not args.skip_baseline:
        var = work / "embedded"
        var.mkdir()
        store = var / "shop.db"
        copy_sqlite(PROJECT_ROOT / "var" / "shop.db", store)
        config = StackConfig(model=model, database_url=f"sqlite:///{store}", var_dir=var)
        pool = build_pool(config.database_url, work / "pool-embedded.json", signing_key)
        group = shopdesk_stack(config)
        with group:
            log_dir = work / "run-embedded"
            groups = stack_groups({s.name.replace(" ", "_"): s for s in group.servers})
            load = run_locust(config.rasa_url, pool, log_dir, args.users, args.duration, args.spawn_rate, args.think,
                              groups)
        summary, outcomes, _ = audit_run(f"sqlite:///{var / 'tracker.db'}", log_dir)
        record("embedded (baseline)", {"load": load, "audit": summary, "outcomes": outcomes})

    config = ScaleoutConfig.isolated(work / "scaleout", "bench", model=model, with_chroma=False)
    try:
        pool = None
        for instances in args.instances:
            run_config = ScaleoutConfig.isolated(
                work / f"scaleout-{instances}", "bench", model=model, with_chroma=False, rasa_instances=instances,
                action_servers=args.action_servers)
            with ScaleoutStack(run_config) as stack:
                pool = pool or build_pool(run_config.database_url, work / "pool-scaleout.json", signing_key)
                log_dir = work / f"run-scaleout-{instances}"
                load = run_locust(run_config.rasa_url, pool, log_dir, args.users, args.duration, args.spawn_rate,
                                  args.think, stack_groups(stack.servers))
                summary, outcomes, accepted = audit_run(run_config.tracker_url, log_dir)
                analytics = analytics_check(run_config, list(accepted))
            record(f"scale-out x{instances}", {"load": load, "audit": summary, "outcomes": outcomes,
                                               "analytics": analytics})
        if not args.skip_faults:
            run_config = ScaleoutConfig.isolated(work / "scaleout-faults", "bench", model=model, with_chroma=False,
                                                 rasa_instances=2, action_servers=args.action_servers)
            with ScaleoutStack(run_config) as stack:
                pool = pool or build_pool(run_config.database_url, work / "pool-scaleout.json", signing_key)
                faults = FaultSchedule(stack, start_after=10, gap=12, block_seconds=5)
                log_dir = work / "run-faults"
                faults.start()
                load = run_locust(run_config.rasa_url, pool, log_dir, args.users, args.fault_duration,
                                  args.spawn_rate, args.think, stack_groups(stack.servers))
                faults.join(timeout=120)
                summary, outcomes, accepted = audit_run(run_config.tracker_url, log_dir)
                analytics = analytics_check(run_config, list(accepted))
                restarts = dict(stack.restarts)
            record("scale-out x2 + faults", {"load": load, "audit": summary, "outcomes": outcomes,
                                             "analytics": analytics, "faults": faults.log,
                                             "supervisor_restarts": restarts})
            for entry in faults.log:
                print("    fault:", json.dumps(entry))
    finally:
        if not args.keep_databases:
            from runtime.scaleout import remove_isolated

            remove_isolated(config)
    print(f"\nresults: {RESULTS}; logs of every process and client turn: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
