"""Fuzz ShopDesk's three channels (REST, socket.io widget, signed webhook) against the real stack, then check
that nothing answered 5xx, no process crashed or was restarted, and every accepted message is in Rasa's tracker
store exactly once (and every refused one not at all).

    .venv/app/bin/python bench/fuzz_channels.py --messages 10000 [--concurrency 12] [--max-seconds 2400]
                                                [--seed 15] [--json bench/results/fuzz_channels.json]
    # against a stack that is already running (loopback only):
    .venv/app/bin/python bench/fuzz_channels.py --rasa-url http://127.0.0.1:5005 --web-url http://127.0.0.1:8080 \
        --actions-url http://127.0.0.1:5055 --tracker-db var/tracker.db

Without --rasa-url the script starts its own stack (runtime.stack: action server, Rasa, web app) on free ports
with a private seeded store, knowledge base, tracker store and var dir, and stops it at the end.

What is sent (every item counts as one message; the mix is seeded, so a run can be repeated):
- REST `POST /webhooks/shopdesk_rest/webhook`, `Authorization: Bearer $SHOPDESK_REST_TOKEN`: conversations of
  valid messages (unicode of every kind, emoji, RTL, combining marks, zero-width, NUL, lone surrogates as JSON
  escapes, up to and past 5000 and 64k characters, SQL/HTML/JS injection, Rasa payload syntax, order numbers),
  malformed bodies (not JSON, arrays, wrong types, missing fields, huge or surrogate senders, metadata bombs,
  invalid UTF-8), missing or wrong credentials, and senders naming another channel's conversation.
- socket.io: a session per conversation from the web app's `/api/session` (`conversation_id` + `session_token`,
  store.tokens) or minted locally; `session_request` then `user_uttered {message, session_id, message_id}` with
  acks; wrong types, resent message ids, forged, foreign and tampered session tokens, a foreign Origin, and raw
  engine.io garbage.
- the signed webhook `POST /webhooks/shopdesk_webhook/webhook`: signed messages (HMAC as
  bot/channels/webhook.py), bad signatures, missing/stale/future/huge/non-ASCII-digit timestamps, exact replays,
  retries and reuse of a message id, malformed signed bodies, bodies over 64 KiB.

How "exactly once" is decided: what the channel acknowledged (REST 200, webhook 200 "ok", socket.io ack
"received") must be stored once as a `user` event under its channel's conversation id (`rest:<sender>`,
`webhook:<sender>`, the server-minted 32-hex widget id); a resent message id acknowledged "duplicate" must not be
stored again; anything refused (4xx, a "rejected" ack, a refused connection) must be stored 0 times. Messages
are matched by message id where the channel keeps one (socket.io, webhook) and by text within the conversation
otherwise (REST). The tracker store is read directly (SQLAlchemy URL; SQLite `events` table).

runtime/conversation_audit.py is not used: its rule "one bot turn after every message" does not hold here
(two misses in a row hand a conversation to a person, and Rasa then records messages without answering).
Exit status 0 when every target is met, 1 otherwise, 2 when the run could not start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from bench.fuzz_audit import (
    Accounting,
    Result,
    Watched,
    account,
    expectation_mismatches,
    listener_pid,
    percentile,
    proc_start,
    process_state,
    read_user_events,
    stored_text,
    tracker_max_id,
    wait_until_quiet,
    watch_processes,
)
from bench.fuzz_plan import CHANNELS, REJECT, Planner, Script, Step, json_bytes

REST_PATH = "/webhooks/shopdesk_rest/webhook"
WEBHOOK_PATH = "/webhooks/shopdesk_webhook/webhook"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
SECRET_NAMES = ("SHOPDESK_REST_TOKEN", "SHOPDESK_WEBHOOK_SECRET", "RASA_AUTH_TOKEN")  # .env, or the environment


# ---- sending --------------------------------------------------------------------------------------------------


@dataclass
class Target:
    rasa_url: str
    web_url: str | None
    tracker_url: str | None
    rest_token: str
    webhook_secret: str
    rasa_token: str
    origin: str
    rest_prefix: str = "rest:"
    socket_path: str = "socket.io"
    token_key: str = "session_token"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """bot/channels/webhook.py's signature (re-implemented: that module imports Rasa, which this env lacks)."""
    import hashlib
    import hmac

    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def webhook_headers(secret: str, body: bytes, auth: str, now: float | None = None) -> dict[str, str]:
    now = time.time() if now is None else now
    ts = str(int(now))
    headers = {"Content-Type": "application/json"}
    if auth == "valid":
        return {**headers, "X-ShopDesk-Timestamp": ts, "X-ShopDesk-Signature": sign(secret, ts, body)}
    if auth == "missing_headers":
        return headers
    if auth == "missing_signature":
        return {**headers, "X-ShopDesk-Timestamp": ts}
    if auth == "bad_signature":
        good = sign(secret, ts, body)
        return {**headers, "X-ShopDesk-Timestamp": ts, "X-ShopDesk-Signature": good[:-4] + "0000"}
    if auth == "signature_other_secret":
        return {**headers, "X-ShopDesk-Timestamp": ts, "X-ShopDesk-Signature": sign("not-the-secret-0123", ts, body)}
    if auth == "v0_scheme":
        return {**headers, "X-ShopDesk-Timestamp": ts,
                "X-ShopDesk-Signature": sign(secret, ts, body).replace("v1=", "v0=")}
    odd = {"stale": str(int(now) - 100000), "future": str(int(now) + 100000), "digits_320": "9" * 320,
           "digits_5000": "1" * 5000, "superscript_digits": "¹²³⁴⁵⁶⁷⁸⁹⁰", "negative": "-" + ts,
           "float": f"{now:.3f}"}[auth]
    return {**headers, "X-ShopDesk-Timestamp": odd, "X-ShopDesk-Signature": sign(secret, odd, body)}


def rest_auth_headers(target: Target, auth: str) -> tuple[dict[str, str], str]:
    token = target.rest_token
    if auth == "valid":
        return {"Authorization": f"Bearer {token}"}, ""
    if auth == "missing":
        return {}, ""
    if auth == "wrong":
        return {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}, ""
    if auth == "empty":
        return {"Authorization": "Bearer "}, ""
    if auth == "basic":
        return {"Authorization": f"Basic {token}"}, ""
    if auth == "lowercase":
        return {"Authorization": f"bearer {token}"}, ""
    if auth == "query":  # the token in the URL (Rasa's own API style) is not the channel's credential
        return {}, f"?token={token}"
    if auth == "rasa_token":
        return {"Authorization": f"Bearer {target.rasa_token}"}, ""
    raise ValueError(auth)


def body_of(step: Step) -> bytes:
    return step.raw if step.raw is not None else json_bytes(step.obj, step.encoding)


def http_outcome(channel: str, status: int, payload: bytes) -> tuple[str, str]:
    if status >= 500:
        return "error", str(status)
    if status >= 400:
        return "rejected", str(status)
    if channel == "webhook" and status == 200:
        try:
            reply = json.loads(payload)
        except ValueError:
            reply = {}
        if isinstance(reply, dict) and reply.get("status") == "duplicate":
            return "duplicate", "200 duplicate"
    if channel == "rest" and status == 200 and payload.strip() == b"[]":
        return "accepted", "200 []"  # no bot message: a paused (handed-over) conversation, or a swallowed error
    if 200 <= status < 300:
        return "accepted", str(status)
    return "rejected", str(status)


class Runner:
    def __init__(self, target: Target, concurrency: int, timeout_s: float, reply_timeout_s: float,
                 deadline: float, total: int, tag: str = "fz", seed: int = 0) -> None:
        self.target = target
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.reply_timeout_s = reply_timeout_s
        self.deadline = deadline
        self.results: list[Result] = []
        self.samples: dict[str, list[str]] = defaultdict(list)     # a few 5xx / transport answers, for the report
        self.socket_pool: list[tuple[str, str | None]] = []        # our valid widget sessions: takeover victims
        self.session_errors: Counter[str] = Counter()
        self.ack_latency: list[float] = []
        self.stopped_early = False
        self.total = total
        self.bar: Any = None
        self.bad: Counter[str] = Counter()
        self.interrupted = False
        self.rng = random.Random(seed)
        self.tag = tag

    # -- bookkeeping --

    def record(self, result: Result) -> None:
        self.results.append(result)
        if result.outcome in ("error", "transport", "timeout") and len(self.samples[result.outcome]) < 12:
            self.samples[result.outcome].append(f"{result.channel} {result.kind}: {result.status} {result.detail}")
        if self.bar is not None:
            self.bar.update(1)
            if result.outcome in ("error", "transport", "timeout"):
                self.bad[result.outcome] += 1
                self.bar.set_postfix(dict(self.bad), refresh=False)

    def interrupt(self) -> None:
        """Stop sending (what is in flight finishes, then the audit runs); a second interrupt exits at once."""
        if self.interrupted:  # cancel everything: main()'s finally still stops the private stack
            for task in asyncio.all_tasks():
                task.cancel()
            return
        self.interrupted = True
        self.deadline = 0.0
        print("\ninterrupted: finishing the requests in flight, then auditing (interrupt again to quit)",
              file=sys.stderr)

    def past_deadline(self) -> bool:
        if time.monotonic() > self.deadline:
            self.stopped_early = True
            return True
        return False

    async def run(self, scripts: Sequence[Script]) -> None:
        import aiohttp
        from tqdm import tqdm

        queue: asyncio.Queue[Script] = asyncio.Queue()
        for script in scripts:
            queue.put_nowait(script)
        connector = aiohttp.TCPConnector(limit=self.concurrency * 3)  # a websocket each, plus HTTP calls
        # no session-wide total: the widget's websockets share this session and live longer than one request
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
        self.request_timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        self.bar = tqdm(total=self.total, unit="msg", smoothing=0.05, dynamic_ncols=True)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                         cookie_jar=aiohttp.DummyCookieJar()) as http:
            self.http = http

            async def worker() -> None:
                while not queue.empty() and not self.past_deadline():
                    script = queue.get_nowait()
                    try:
                        if script.channel == "rest":
                            await self.rest_script(script)
                        elif script.channel == "webhook":
                            await self.webhook_script(script)
                        elif script.session_mode == "engineio":
                            await self.engineio_script(script)
                        else:
                            await self.socket_script(script)
                    except Exception as error:  # a bug here must not end the run: note it as the script's answer
                        self.samples["runner"].append(f"{script.channel} {script.kind}: {error!r}")

            await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        self.bar.close()

    # -- REST --

    def rest_conversations(self, step: Step) -> tuple[tuple[str, ...], str | None]:
        sender = step.sender
        if not isinstance(sender, str):
            return (), None
        if step.kind.startswith("cross_channel"):
            return (f"{self.target.rest_prefix}{sender}",), sender
        return (f"{self.target.rest_prefix}{sender}", sender), None

    async def rest_script(self, script: Script) -> None:
        for step in script.steps:
            if self.past_deadline():
                return
            if step.victim == "socketio":  # a REST sender naming one of our widget conversations
                victim = self.socket_pool[0][0] if self.socket_pool else uuid.uuid4().hex
                step.sender, step.obj = victim, {**step.obj, "sender": victim}
                step.victim = victim
            headers, query = rest_auth_headers(self.target, step.auth)
            headers = {"Content-Type": "application/json", **headers, **step.headers}
            conversations, victim = self.rest_conversations(step)
            result = await self.post(step, self.target.rasa_url + REST_PATH + query, body_of(step), headers)
            result.conversations, result.victim = conversations, victim or (step.victim or None)
            self.record(result)

    async def post(self, step: Step, url: str, body: bytes, headers: dict[str, str]) -> Result:
        import aiohttp

        t0 = time.monotonic()
        base = {"channel": step.channel, "kind": step.kind, "expect": step.expect,
                "message_id": step.message_id if isinstance(step.message_id, str) else None,
                "text": stored_text(step.text)}
        try:
            async with self.http.post(url, data=body, headers=headers, timeout=self.request_timeout) as response:
                payload = await response.read()
                status = response.status
        except asyncio.TimeoutError:
            return Result(outcome="timeout", status="timeout", **base)
        except aiohttp.ClientError as error:
            return Result(outcome="transport", status=type(error).__name__, detail=str(error)[:120], **base)
        outcome, label = http_outcome(step.channel, status, payload)
        detail = " ".join(payload[:200].decode("utf-8", "replace").split()) if outcome == "error" else ""
        return Result(outcome=outcome, status=label, latency_s=time.monotonic() - t0, detail=detail, **base)

    # -- webhook --

    async def webhook_script(self, script: Script) -> None:
        last: tuple[bytes, dict[str, str]] | None = None
        for step in script.steps:
            if self.past_deadline():
                return
            if step.replay and last is not None:
                body, headers = last
            else:
                body = body_of(step)
                headers = webhook_headers(self.target.webhook_secret, body, step.auth)
            if step.kind.startswith("valid:"):  # what a replay repeats (the plan's "previous" valid message)
                last = (body, headers)
            result = await self.post(step, self.target.rasa_url + WEBHOOK_PATH, body, headers)
            if isinstance(step.sender, str):
                result.conversations = (f"webhook:{step.sender}",)
            self.record(result)

    # -- socket.io --

    async def new_session(self) -> tuple[str, str | None]:
        """A widget conversation: from the web app's /api/session, else minted here with store.tokens."""
        if self.target.web_url:
            try:
                url = self.target.web_url + "/api/session"
                async with self.http.get(url, timeout=self.request_timeout) as response:
                    info = await response.json(content_type=None)
                cid = info.get("conversation_id")
                if isinstance(cid, str) and cid:
                    if not info.get(self.target.token_key):
                        self.session_errors["web app issued no session_token"] += 1
                    return cid, info.get(self.target.token_key)
                self.session_errors["no conversation_id from /api/session"] += 1
            except Exception as error:
                self.session_errors[f"/api/session failed: {type(error).__name__}"] += 1
        cid = uuid.uuid4().hex
        try:
            from store import tokens

            return cid, tokens.issue_session_token(cid)  # type: ignore[attr-defined]
        except Exception:
            self.session_errors["no store.tokens.issue_session_token"] += 1
            return cid, None

    async def socket_script(self, script: Script) -> None:
        import socketio

        mode = script.session_mode
        own_cid, own_token = await self.new_session()
        victim: str | None = None
        if mode == "valid":
            request: Any = {"session_id": own_cid, self.target.token_key: own_token}
            cid, token = own_cid, own_token
        elif mode in ("no_token", "bad_token", "other_token"):
            victim = self.socket_pool[len(self.results) % len(self.socket_pool)][0] if self.socket_pool \
                else uuid.uuid4().hex
            token = {"no_token": None, "other_token": own_token,
                     "bad_token": (own_token or "x.y.z")[:-3] + "AAA"}[mode]
            request, cid = {"session_id": victim, self.target.token_key: token}, victim
        elif mode == "cross_channel":
            cid, token = self.rng.choice([f"{self.target.rest_prefix}{self.tag}-sx{uuid.uuid4().hex[:6]}",
                                        f"webhook:{self.tag}-sx{uuid.uuid4().hex[:6]}"]), None
            request, victim = {"session_id": cid}, cid
        elif mode == "bad_origin":
            request, cid, token = {"session_id": own_cid, self.target.token_key: own_token}, own_cid, own_token
        else:  # garbage_request
            request = self.rng.choice(["x", 42, [own_cid], {"session_id": 123}, {"session_id": "s" * 10000},
                                     {"session_id": "\udfff"}, {"session_id": own_cid, self.target.token_key: 5}])
            cid, token = None, None
        origin = "http://evil.example" if mode == "bad_origin" else self.target.origin

        client = socketio.AsyncClient(reconnection=False, request_timeout=self.timeout_s, http_session=self.http,
                                      handle_sigint=False)
        confirms: asyncio.Queue[Any] = asyncio.Queue()
        replies: asyncio.Queue[float] = asyncio.Queue()
        client.on("session_confirm", lambda *data: confirms.put_nowait(("session_confirm", data[0] if data else None)))
        client.on("*", lambda event, *data: confirms.put_nowait((event, data[0] if data else None)))
        client.on("disconnect", lambda *_: confirms.put_nowait(("disconnect", None)))
        client.on("bot_uttered", lambda *_: replies.put_nowait(time.monotonic()))
        confirmed: str | None = None

        async def connect() -> str:
            """'' when connected and the session confirmed, else why not."""
            nonlocal confirmed
            try:
                auth = {self.target.token_key: token} if token else None
                await client.connect(self.target.rasa_url, headers={"Origin": origin}, auth=auth,
                                     transports=["websocket"], socketio_path=self.target.socket_path,
                                     wait_timeout=10)
            except Exception as error:
                return f"connect_refused:{type(error).__name__}"
            while not confirms.empty():
                confirms.get_nowait()
            try:
                await client.emit("session_request", request)
                event, data = await asyncio.wait_for(confirms.get(), timeout=10)
                while event == "session_token":  # the channel's fresh token for the id, sent just before the confirm
                    event, data = await asyncio.wait_for(confirms.get(), timeout=10)
            except asyncio.TimeoutError:
                return "no_session_confirm"
            except Exception as error:
                return f"session_request_failed:{type(error).__name__}"
            if event != "session_confirm":  # an error event or a dropped socket: the session was refused
                return f"session_refused:{str(event)[:40]}"
            confirmed = data if isinstance(data, str) else (data.get("session_id") if isinstance(data, dict)
                                                             else None)
            return ""

        failure = await connect()
        quiet = False   # the bot stopped answering this conversation (handed to a person): stop waiting for replies
        try:
            for step in script.steps:
                if self.past_deadline():
                    return
                if not client.connected and failure == "":
                    failure = await connect() or ""
                base = {"channel": "socketio", "kind": step.kind, "expect": step.expect,
                        "message_id": step.message_id if isinstance(step.message_id, str) else None,
                        "text": stored_text(step.text), "victim": victim}
                landing = confirmed or cid
                if victim and landing == victim:  # a session on someone else's conversation is never legitimate
                    landing = None
                if failure:
                    valid = mode == "valid" or mode == "garbage_request"
                    self.record(Result(outcome="transport" if valid else "rejected", status=failure, **base))
                    continue
                data = step.obj
                if isinstance(data, dict):
                    data = dict(data)
                    session_value = {"own": cid, "other": uuid.uuid4().hex, "wrong_type": 12345}.get(step.session)
                    if step.session != "missing":
                        data["session_id"] = session_value if session_value is not None else confirmed
                    if token and step.session != "missing":
                        data[self.target.token_key] = token
                while not replies.empty():
                    replies.get_nowait()
                t0 = time.monotonic()
                try:
                    ack = await client.call("user_uttered", data, timeout=self.timeout_s)
                except socketio.exceptions.TimeoutError:
                    self.record(Result(outcome="timeout", status="ack_timeout", **base))
                    continue
                except Exception as error:  # the server dropped the socket: a refusal, unless the step was valid
                    refused = mode not in ("valid", "garbage_request") or step.expect == REJECT
                    self.record(Result(outcome="rejected" if refused else "transport",
                                       status=f"emit_failed:{type(error).__name__}", **base))
                    continue
                self.ack_latency.append(time.monotonic() - t0)
                status = ack.get("status") if isinstance(ack, dict) else None
                if isinstance(ack, dict) and isinstance(ack.get("message_id"), str):
                    base["message_id"] = ack["message_id"]
                conversations = (landing,) if landing else ()
                if status == "received":
                    latency = None
                    if not quiet:
                        latency = await self._first_reply(replies, t0)
                        quiet = latency is None
                    self.record(Result(outcome="accepted", status="ack:received", latency_s=latency,
                                       conversations=conversations, **base))
                elif status == "duplicate":
                    self.record(Result(outcome="duplicate", status="ack:duplicate", conversations=conversations,
                                       **base))
                elif status == "rejected":
                    self.record(Result(outcome="rejected", status="ack:rejected", conversations=conversations,
                                       **base))
                else:
                    self.record(Result(outcome="error", status=f"ack:{str(status)[:30]}",
                                       detail=repr(ack)[:120], conversations=conversations, **base))
            if mode == "valid" and confirmed == own_cid and len(self.socket_pool) < 200:
                self.socket_pool.append((own_cid, own_token))
        finally:
            if client.connected:
                await client.disconnect()

    async def _first_reply(self, replies: asyncio.Queue[float], t0: float) -> float | None:
        """Seconds to the first bot message; then waits for the rest of the turn (a short silence)."""
        try:
            first = await asyncio.wait_for(replies.get(), timeout=self.reply_timeout_s)
        except asyncio.TimeoutError:
            return None
        while True:
            try:
                await asyncio.wait_for(replies.get(), timeout=0.25)
            except asyncio.TimeoutError:
                return first - t0

    async def engineio_script(self, script: Script) -> None:
        """Raw engine.io polling requests with garbage packets: the transport must refuse, never fail."""
        import aiohttp

        base_url = f"{self.target.rasa_url}/{self.target.socket_path.strip('/')}/?EIO=4&transport=polling"
        step = script.steps[0]
        headers = {"Origin": self.target.origin, "Content-Type": "text/plain;charset=UTF-8"}
        t0 = time.monotonic()
        try:
            async with self.http.get(base_url, headers=headers, timeout=self.request_timeout) as response:
                opening = (await response.read()).decode("utf-8", "replace")
                status = response.status
            sid = json.loads(opening[1:]).get("sid") if status == 200 and opening.startswith("0") else None
            if sid:
                async with self.http.post(f"{base_url}&sid={sid}", data=step.raw or b"", headers=headers,
                                          timeout=self.request_timeout) as response:
                    await response.read()
                    status = response.status
        except asyncio.TimeoutError:
            self.record(Result("socketio", step.kind, step.expect, "timeout", "timeout"))
            return
        except (aiohttp.ClientError, ValueError) as error:
            self.record(Result("socketio", step.kind, step.expect, "transport", type(error).__name__,
                               detail=str(error)[:120]))
            return
        outcome = "error" if status >= 500 else ("rejected" if status >= 400 else "absorbed")
        # a 200 for a packet is the transport taking bytes, not a chat message being accepted
        self.record(Result("socketio", step.kind, step.expect, outcome, str(status), time.monotonic() - t0))


# ---- starting the stack -------------------------------------------------------------------------------------


def demo_data() -> Path:
    """The Online Retail sample the demo store is seeded from (next to the checkout, or next to the main
    checkout when this is a git worktree)."""
    from store.seed import DEFAULT_DATA

    if DEFAULT_DATA.exists():
        return DEFAULT_DATA
    import subprocess

    from runtime.stack import PROJECT_ROOT

    try:
        common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
                                cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout.strip()
        candidate = Path(common).parent.parent / DEFAULT_DATA.relative_to(PROJECT_ROOT.parent)
        if candidate.exists():
            return candidate
    except (subprocess.CalledProcessError, OSError, ValueError):
        pass
    raise SystemExit(f"the demo data {DEFAULT_DATA} is missing (or pass --store-url)")


def prepare_private_stack(args: argparse.Namespace, work: Path) -> Any:
    from runtime.stack import PROJECT_ROOT, StackConfig

    if args.store_url:
        store_url = args.store_url
    else:
        from store.db import make_engine
        from store.migrate import upgrade_database
        from store.seed import seed

        store_url = f"sqlite:///{work / 'shop.db'}"
        engine = make_engine(store_url)
        upgrade_database(engine)
        seed(engine, demo_data(), rng_seed=7)
        engine.dispose()
    extra = {"TRACKER_DIALECT": "sqlite", "TRACKER_DB": str(work / "var" / "tracker.db"),
             "SHOPDESK_UPLOAD_DIR": str(work / "uploads")}
    if args.knowledge_dir:
        extra["SHOPDESK_KNOWLEDGE_DIR"] = str(args.knowledge_dir)
    elif not args.no_knowledge:
        from knowledge.ingest import main as ingest

        chroma = work / "chroma"
        if ingest([str(PROJECT_ROOT / "knowledge" / "docs"), "--chroma-dir", str(chroma), "--no-progress"]) != 0:
            raise SystemExit("ingesting knowledge/docs failed")
        extra["SHOPDESK_KNOWLEDGE_DIR"] = str(chroma)
    model = Path(args.model) if args.model else latest_model(PROJECT_ROOT)
    return StackConfig(model=model, database_url=store_url, var_dir=work / "var", extra_env=extra)


def latest_model(root: Path) -> Path:
    models = sorted((root / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit("no trained model in models/: run `make train`")
    return models[-1]


def check_loopback(*urls: str | None) -> None:
    for url in urls:
        if url and urlsplit(url).hostname not in LOOPBACK:
            raise SystemExit(f"refusing to fuzz {url}: only 127.0.0.1 targets")


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        name, _, share = part.partition("=")
        if name.strip() not in CHANNELS:
            raise argparse.ArgumentTypeError(f"unknown channel {name!r} (use {', '.join(CHANNELS)})")
        mix[name.strip()] = float(share)
    return mix


# ---- the report -----------------------------------------------------------------------------------------------


def summarise(results: Sequence[Result], acc: Accounting | None, processes: list[dict[str, Any]],
              runner: Runner, requested: int, elapsed_s: float) -> dict[str, Any]:
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    statuses: dict[str, Counter[str]] = defaultdict(Counter)
    latency: dict[str, dict[str, float | None]] = {}
    per_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        by_kind[r.channel][r.kind.split(":")[0]] += 1
        statuses[r.channel][r.status] += 1
        per_kind[f"{r.channel} {r.kind}"][r.status] += 1
    for channel in (*CHANNELS, "all"):
        values = [r.latency_s for r in results if r.outcome == "accepted" and r.latency_s is not None
                  and (channel == "all" or r.channel == channel)]
        latency[channel] = {"n": len(values), "p50_ms": _ms(percentile(values, 50)),
                            "p95_ms": _ms(percentile(values, 95))}
    latency["socketio ack"] = {"n": len(runner.ack_latency), "p50_ms": _ms(percentile(runner.ack_latency, 50)),
                               "p95_ms": _ms(percentile(runner.ack_latency, 95))}
    outcomes = Counter(r.outcome for r in results)
    wrongly_accepted, wrongly_refused = expectation_mismatches(results)
    crashed = [p["name"] for p in processes if not p["alive"] or not p["healthy"]]
    restarted = [p["name"] for p in processes if p["restarted"]]
    fivexx = sum(1 for r in results if r.outcome == "error" and r.status.isdigit())
    other_errors = outcomes["error"] - fivexx
    targets = [
        ("messages sent", len(results), f">= {requested}", len(results) >= requested),
        ("5xx answers", fivexx, "0", fivexx == 0),
        ("socket.io acks neither received/duplicate/rejected", other_errors, "0", other_errors == 0),
        ("timeouts + transport errors", outcomes["timeout"] + outcomes["transport"], "0",
         outcomes["timeout"] + outcomes["transport"] == 0),
        ("crashed or unhealthy processes", len(crashed), "0", not crashed and bool(processes)),
        ("restarted processes", len(restarted), "0", not restarted),
    ]
    if acc is not None:
        targets += [
            ("accepted messages stored exactly once", f"{acc.stored_once}/{acc.accepted}", "all",
             acc.exactly_once and acc.stored_once == acc.accepted),
            ("  lost / duplicated / misrouted", f"{acc.lost} / {acc.duplicated} / {acc.misrouted}", "0 / 0 / 0",
             acc.exactly_once),
            ("refused or unexplained messages stored", acc.rejected_stored + acc.unattributed, "0",
             acc.rejected_stored + acc.unattributed == 0),
            ("writes into another's conversation", acc.takeovers, "0", acc.takeovers == 0),
            ("stored under another channel's id space", acc.off_contract_id, "0", acc.off_contract_id == 0),
        ]
    else:
        targets.append(("accepted messages stored exactly once", "not checked", "all", False))
    targets += [
        ("must-refuse probes accepted", sum(wrongly_accepted.values()), "0", not wrongly_accepted),
        ("valid messages refused", sum(wrongly_refused.values()), "0", not wrongly_refused),
    ]
    return {
        "sent": len(results), "requested": requested, "elapsed_s": round(elapsed_s, 1),
        "stopped_at_max_seconds": runner.stopped_early and not runner.interrupted, "interrupted": runner.interrupted,
        "sent_by_channel_and_kind": {c: dict(k) for c, k in by_kind.items()},
        "status_histogram": {c: dict(s.most_common()) for c, s in statuses.items()},
        "status_by_kind": {k: dict(v.most_common()) for k, v in sorted(per_kind.items())},
        "outcomes": dict(outcomes), "latency_accepted": latency,
        "targets": [{"what": w, "measured": m, "target": t, "ok": ok} for w, m, t, ok in targets],
        "all_targets_met": all(ok for *_, ok in targets),
        "accounting": {k: v for k, v in asdict(acc).items()} if acc is not None else None,
        "processes": processes, "must_refuse_accepted": dict(wrongly_accepted.most_common()),
        "valid_refused": dict(wrongly_refused.most_common()), "samples": dict(runner.samples),
        "session_problems": dict(runner.session_errors),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def print_report(summary: dict[str, Any]) -> None:
    print(f"\nsent {summary['sent']} of {summary['requested']} in {summary['elapsed_s']} s"
          + (" (stopped at --max-seconds)" if summary["stopped_at_max_seconds"] else "")
          + (" (interrupted)" if summary["interrupted"] else ""))
    print("\nsent per channel and kind")
    for channel, kinds in summary["sent_by_channel_and_kind"].items():
        print(f"  {channel:<9} " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    print("\nanswers per channel")
    for channel, statuses in summary["status_histogram"].items():
        print(f"  {channel:<9} " + ", ".join(f"{s}: {n}" for s, n in statuses.items()))
    print("\nlatency of accepted messages (REST/webhook: response; socket.io: first bot message)")
    for channel, row in summary["latency_accepted"].items():
        print(f"  {channel:<13} n={row['n']:<6} p50 {row['p50_ms']} ms  p95 {row['p95_ms']} ms")
    print(f"\n  {'target':<52} {'measured':>16} {'target':>10}  ok")
    for row in summary["targets"]:
        print(f"  {row['what']:<52} {row['measured']!s:>16} {row['target']:>10}  {'yes' if row['ok'] else 'NO'}")
    for title, key in (("must-refuse probes that were accepted", "must_refuse_accepted"),
                       ("valid messages that were refused", "valid_refused")):
        if summary[key]:
            print(f"\n{title}: " + ", ".join(f"{k} {n}" for k, n in list(summary[key].items())[:15]))
    acc = summary["accounting"]
    if acc:
        print(f"\ntracker: {acc['altered']} stored with altered text, {acc['stored_after_error']} stored after a "
              f"5xx/timeout, {acc['other_traffic']} user events of other clients")
        for line in acc["examples"][:12]:
            print(f"  - {line}")
    for name, lines in summary["samples"].items():
        print(f"\n{name} samples:")
        for line in lines[:8]:
            print(f"  - {line}")
    for p in summary["processes"]:
        print(f"process {p['name']}: pid {p['pid']} alive={p['alive']} healthy={p['healthy']} "
              f"restarted={p['restarted']}" + (f" (gone after {p['first_failure_s']}s)" if p["first_failure_s"]
                                               else ""))
    if summary["session_problems"]:
        print(f"widget sessions: {summary['session_problems']}")
    print(f"\nall targets met: {'yes' if summary['all_targets_met'] else 'NO'}")


# ---- main -----------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10000, help="messages and malformed bodies to send")
    parser.add_argument("--mix", type=parse_mix, default="rest=0.4,socketio=0.3,webhook=0.3",
                        help="share per channel (default %(default)s)")
    parser.add_argument("--concurrency", type=int, default=12, help="scripts in flight (default %(default)s)")
    parser.add_argument("--max-seconds", type=float, default=2400, help="stop sending after this long")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per request or ack")
    parser.add_argument("--reply-timeout", type=float, default=8, help="seconds to wait for a widget reply")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--exclude", action="append", default=[], metavar="KIND",
                        help="leave out steps whose 'channel kind' starts with this, e.g. 'rest malformed:sender_s'")
    parser.add_argument("--json", type=Path, help="write the whole report here")
    stack = parser.add_argument_group("attach to a running stack instead of starting one (127.0.0.1 only)")
    stack.add_argument("--rasa-url")
    stack.add_argument("--web-url", help="web app, for widget sessions (/api/session)")
    stack.add_argument("--actions-url", help="action server, for its health")
    stack.add_argument("--tracker-url", help="SQLAlchemy URL of Rasa's tracker store")
    stack.add_argument("--tracker-db", type=Path, help="or the SQLite file (TRACKER_DB)")
    stack.add_argument("--origin", help="Origin header for socket.io (default: the web app's URL)")
    own = parser.add_argument_group("the private stack (default)")
    own.add_argument("--model", help="model archive (default: newest in models/)")
    own.add_argument("--store-url", help="an existing store database instead of a freshly seeded one")
    own.add_argument("--knowledge-dir", type=Path, help="an ingested Chroma directory to reuse")
    own.add_argument("--no-knowledge", action="store_true", help="do not ingest knowledge/docs")
    own.add_argument("--keep", action="store_true", help="keep the work directory (logs, databases)")
    own.add_argument("--start-timeout", type=float, default=420)
    contract = parser.add_argument_group("contract details")
    contract.add_argument("--rest-prefix", default="rest:", help="prefix of REST conversations")
    contract.add_argument("--session-token-key", default="session_token")
    contract.add_argument("--socket-path", default="socket.io")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `timeout`/kill still stops the private stack
    from runtime.stack import project_env

    env = {**project_env(), **{k: v for k, v in os.environ.items() if k in SECRET_NAMES}}
    rng = random.Random(args.seed)
    tag = f"fz{secrets.token_hex(3)}"
    planner = Planner(rng, tag)
    scripts = planner.plan(args.messages, args.mix if isinstance(args.mix, dict) else parse_mix(args.mix))
    if args.exclude:
        for script in scripts:
            script.steps = [s for s in script.steps
                            if not any(f"{s.channel} {s.kind}".startswith(e) for e in args.exclude)]
        scripts = [s for s in scripts if s.steps]
    total = sum(len(s.steps) for s in scripts)

    work: Path | None = None
    group = None
    watched: list[Watched] = []
    try:
        if args.rasa_url:
            check_loopback(args.rasa_url, args.web_url, args.actions_url)
            rasa_url, web_url = args.rasa_url.rstrip("/"), (args.web_url or "").rstrip("/") or None
            tracker_url = args.tracker_url or (f"sqlite:///{args.tracker_db.resolve()}" if args.tracker_db else None)
            for name, url, path in (("rasa server", rasa_url, "/"), ("action server", args.actions_url, "/health"),
                                    ("web app", web_url, "/favicon.ico")):
                if url:
                    port = urlsplit(url).port
                    pid = listener_pid(port)
                    watched.append(Watched(name, url.rstrip("/") + path, port, pid, proc_start(pid)))
        else:
            from runtime.stack import shopdesk_stack

            work = Path(tempfile.mkdtemp(prefix="shopdesk-fuzz-"))
            print(f"starting a private stack in {work} (seeding, ingesting, loading the model: a few minutes)")
            config = prepare_private_stack(args, work)
            group = shopdesk_stack(config, with_web=True)
            group.start(timeout=args.start_timeout)
            rasa_url, web_url = config.rasa_url, config.web_url
            tracker_url = f"sqlite:///{config.env()['TRACKER_DB']}"
            for server in group.servers:
                pid = server.process.pid if server.process else None
                watched.append(Watched(server.name, server.health_url, urlsplit(server.health_url).port, pid,
                                       proc_start(pid)))
        target = Target(rasa_url=rasa_url, web_url=web_url, tracker_url=tracker_url,
                        rest_token=env.get("SHOPDESK_REST_TOKEN", ""),
                        webhook_secret=env.get("SHOPDESK_WEBHOOK_SECRET", ""),
                        rasa_token=env.get("RASA_AUTH_TOKEN", ""), origin=args.origin or web_url or rasa_url,
                        rest_prefix=args.rest_prefix, socket_path=args.socket_path,
                        token_key=args.session_token_key)
        if not target.rest_token:
            print("warning: SHOPDESK_REST_TOKEN is not set; valid REST messages will carry an empty token")
        start_id = tracker_max_id(tracker_url) if tracker_url else 0
        print(f"run tag {tag}: {total} messages to {rasa_url}, {args.concurrency} in flight, "
              f"at most {args.max_seconds:.0f} s")
        t0 = time.monotonic()
        runner = Runner(target, args.concurrency, args.timeout, args.reply_timeout, t0 + args.max_seconds, total,
                        tag, args.seed)

        async def drive() -> None:
            stop = asyncio.Event()
            watcher = asyncio.ensure_future(watch_processes(watched, t0, stop))
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):  # first signal: stop sending, still audit and report
                loop.add_signal_handler(signum, runner.interrupt)
            try:
                await runner.run(scripts)
            finally:
                stop.set()
                await watcher

        asyncio.run(drive())
        elapsed = time.monotonic() - t0
        if args.json:  # every answer, before anything else can fail: an audit can be redone from it
            dump_results(runner.results, args.json.with_suffix(".results.jsonl"))
        acc = None
        if tracker_url:
            waited = wait_until_quiet(tracker_url)
            print(f"tracker store quiet after {waited}s; reading it")
            try:
                acc = account(runner.results, read_user_events(tracker_url, start_id), tag,
                              private=group is not None)
            except Exception:
                traceback.print_exc()
                print("the tracker audit failed (see above); reporting without it")
        else:
            print("no --tracker-url/--tracker-db: the exactly-once check is skipped")
        processes = process_state(watched)
        for p, w in zip(processes, watched, strict=True):
            p["restarts_reported"] = _reported_restarts(group, w.name)
            if p["restarts_reported"]:
                p["restarted"] = True
        summary = summarise(runner.results, acc, processes, runner, args.messages, elapsed)
        summary["conditions"] = {"seed": args.seed, "tag": tag, "concurrency": args.concurrency,
                                 "mix": args.mix, "cpus": os.cpu_count(), "target": rasa_url,
                                 "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                                 "excluded": args.exclude}
        print_report(summary)
        if group is not None:
            for server, p in zip(group.servers, processes, strict=True):
                if not p["alive"] or not p["healthy"]:
                    print(f"\n--- {server.name} log tail ---\n{server.log_tail(25)}")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(summary, indent=2, default=str))
            print(f"report: {args.json}")
        return 0 if summary["all_targets_met"] else 1
    finally:
        if group is not None:
            group.stop()
        if work is not None and args.keep:
            print(f"work directory (logs, databases): {work}")
        elif work is not None:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


def dump_results(results: Sequence[Result], path: Path) -> None:
    """One JSON line per sent message (texts cut to 200 characters)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        for r in results:
            row = asdict(r)
            row["text"] = r.text[:200] if r.text else r.text
            row["conversations"] = [c[:200] for c in r.conversations]
            handle.write(json.dumps(row) + "\n")


def _reported_restarts(group: Any, name: str) -> int:
    """Restarts a supervising launcher counted itself (0 when it keeps no count)."""
    if group is None:
        return 0
    for server in group.servers:
        if server.name == name:
            count = getattr(server, "restarts", 0)
            return count if isinstance(count, int) else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
