"""Locust load: many concurrent customers, each holding realistic multi-turn conversations over REST.

Driven by bench/load_benchmark.py (headless, bounded in users and time); can also be run by hand:

    SHOPDESK_LOAD_POOL=pool.json SHOPDESK_LOAD_LOG=/tmp/load .venv/app/bin/locust -f bench/locustfile.py \
        --headless -u 40 -r 20 -t 60s --host http://127.0.0.1:5005

Each conversation is one script (order lookup with identity proof, policy/knowledge questions, a
recommendation request, a signed-in customer's order history), sent turn by turn with think time, each
turn waiting for the reply, as a person in the chat widget would. Requests are named by path: "intent
path" (answered by Rasa alone) and "action path" (through the action servers and store database), so
the two are measured apart. Every turn is logged (JSON lines) for the exactly-once audit against the
tracker store (runtime/conversation_audit.py).

SHOPDESK_LOAD_POOL: JSON {"orders": [[number, email], ...], "customers": [[id, sender, signed_token], ...]}:
a customer token is bound to one conversation, so each signed-in conversation uses up one entry.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from pathlib import Path

from locust import HttpUser, between, events, task

REST_PATH = "/webhooks/shopdesk_rest/webhook"
INTENT, ACTION = "intent path", "action path"
REFUSED_MARK = "couldn't take that in"          # channel / HAProxy: message not stored, send again
DEGRADED_MARK = "temporarily unavailable"       # action server / HAProxy: graceful answer, conversation goes on

POOL = json.loads(Path(os.environ["SHOPDESK_LOAD_POOL"]).read_text()) if os.environ.get("SHOPDESK_LOAD_POOL") else {}
LOG_DIR = Path(os.environ.get("SHOPDESK_LOAD_LOG", "/tmp/shopdesk-load"))
THINK = tuple(float(x) for x in os.environ.get("SHOPDESK_LOAD_THINK", "0.2,0.8").split(","))
_log_handle = None


def client_log():  # type: ignore[no-untyped-def]
    global _log_handle
    if _log_handle is None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        _log_handle = open(LOG_DIR / f"turns-{os.getpid()}.jsonl", "a")  # noqa: SIM115 - closed at test stop
    return _log_handle


@events.test_stop.add_listener
def _close_log(**_: object) -> None:
    if _log_handle is not None:
        _log_handle.flush()


def order_lookup() -> list[tuple[str, str]]:
    number, email = random.choice(POOL["orders"])
    opener = random.choice(["hi", "hello there", "hey"])
    ask = random.choice([f"where is my order {number}", f"can you track order {number}",
                         f"I want to know the status of my order {number}"])
    return [(opener, INTENT), (ask, ACTION), (email, ACTION), (random.choice(["thanks", "thank you"]), INTENT)]


def policy_questions() -> list[tuple[str, str]]:
    return [(random.choice(["what's your refund policy?", "how do refunds work?"]), INTENT),
            (random.choice(["how long does delivery take?", "when will my parcel arrive usually?"]), INTENT),
            (random.choice(["which payment methods do you accept?", "can I pay with paypal?"]), INTENT)]


def recommendation() -> list[tuple[str, str]]:
    return [(random.choice(["can you recommend a gift for my mum?", "what would you recommend?",
                            "recommend me something nice for the kitchen"]), ACTION),
            (random.choice(["thanks", "great, thank you"]), INTENT)]


def signed_in_history() -> list[tuple[str, str]]:
    return [(random.choice(["show me my recent orders", "what did I order lately?"]), ACTION),
            ("bye", INTENT)]


SCRIPTS = [(order_lookup, 4), (policy_questions, 3), (recommendation, 2), (signed_in_history, 1)]


class Customer(HttpUser):
    wait_time = between(*THINK)

    @task
    def conversation(self) -> None:
        script = random.choices([s for s, _ in SCRIPTS], weights=[w for _, w in SCRIPTS])[0]
        if script is signed_in_history and not POOL.get("customers"):
            script = policy_questions
        sender = f"load-{uuid.uuid4().hex[:12]}"
        metadata = None
        if script is signed_in_history:
            _, sender, token = POOL["customers"].pop()
            metadata = {"customer_token": token}
        for seq, (text, path) in enumerate(script()):
            self.say(sender, seq, text, path, metadata)
            time.sleep(random.uniform(*THINK))

    def say(self, sender: str, seq: int, text: str, path: str, metadata: dict | None) -> None:
        body: dict = {"sender": sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        outcome, replies = "error", []
        with self.client.post(REST_PATH, json=body, name=path, catch_response=True, timeout=60) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            else:
                try:
                    replies = [m.get("text") or "" for m in response.json()]
                except ValueError:
                    replies = []
                joined = " ".join(replies)
                if not replies:
                    outcome = "silent"
                    response.failure("no bot reply")
                elif REFUSED_MARK in joined:
                    outcome = "refused"
                    response.success()
                elif DEGRADED_MARK in joined:
                    outcome = "degraded"
                    response.success()
                else:
                    outcome = "answered"
                    response.success()
        record = {"sender": sender, "seq": seq, "text": text, "path": path, "outcome": outcome,
                  "t": time.time(), "reply": replies[:1]}
        client_log().write(json.dumps(record) + "\n")
