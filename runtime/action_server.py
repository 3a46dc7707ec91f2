"""The rasa-sdk action server as both profiles run it: same actions, four additions.

- Only Rasa may call it: every request except `/health` and `/ready` must carry
  `X-ShopDesk-Action-Token: $SHOPDESK_ACTION_TOKEN` (endpoints.yml `action_endpoint: headers:`), else 401.
  An action call is a whole tracker, slots included, so anyone who could post one could claim to be any
  customer (`customer_id`) and read or cancel their orders. Without a configured token the server refuses
  to start. It binds to 127.0.0.1 unless `--host` (or SHOPDESK_ACTIONS_HOST) says otherwise.
- `/ready` (readiness) next to rasa-sdk's `/health` (liveness): 200 only when the store database answers
  (and, with SHOPDESK_ORDER_BACKEND=http, the shop's order API's health endpoint), so the load balancer
  and a container platform send no traffic to a worker that cannot serve it.
- JSON log lines with the conversation id (the request's `sender_id`), see runtime.structured_logging.
- Graceful degradation: an action that fails because the store database is unreachable (or for any
  other unexpected reason) answers the customer "temporarily unavailable" with a human offer, as a
  normal action response (HTTP 200, no events), instead of an HTTP 500 that Rasa turns into silence.
  The conversation's state is untouched, so the customer can simply ask again.

    .venv/app/bin/python -m runtime.action_server --port 5055 [--host 127.0.0.1] [--workers 2]
        [--logging-config-file F]

`--workers` (or ACTION_SERVER_SANIC_WORKERS) forks Sanic workers sharing the port; the profile instead
runs several single-worker processes behind HAProxy so one dying is noticed, routed around and restarted.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import os
import sys
import time
from functools import partial

from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionMissingDomainException, ActionNotFoundException
from sanic import Request, Sanic, response
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader
from sqlalchemy import text

from actions.resilience import HUMAN_BUTTON, STORE_ERRORS, outage_message, unvalidated_slot_resets
from runtime.structured_logging import configure_json_logging, conversation_id
from shop_profile import require_profile
from store.backend import BackendMisconfigured, configured_backend

logger = logging.getLogger("shopdesk.action_server")

ACTION_FAILED = ("Sorry, something went wrong on my side and I couldn't finish that. Please try again in a "
                 "moment, or I can connect you with a person.")
DATABASE_ERRORS = STORE_ERRORS
TOKEN_HEADER = "X-ShopDesk-Action-Token"
TOKEN_ENV = "SHOPDESK_ACTION_TOKEN"
OPEN_PATHS = frozenset({"/health", "/ready"})  # probes: say nothing about customers


class MissingActionToken(RuntimeError):
    pass


def configured_token() -> str:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise MissingActionToken(f"{TOKEN_ENV} is not set: the action server does not start without it "
                                 "(scripts/setup.sh writes one into .env; Rasa sends it from endpoints.yml)")
    return token


def token_matches(given: str | None, expected: bytes) -> bool:
    """Constant-time comparison, so the token cannot be guessed byte by byte from response times."""
    return hmac.compare_digest((given or "").encode("utf-8", "replace"), expected)


def graceful_response(message: str) -> dict:
    """A valid action-server response: one bot message with a human offer, no events (state unchanged)."""
    return {"events": [], "responses": [{"text": message, "buttons": [HUMAN_BUTTON], "elements": [],
                                         "custom": {}, "image": None, "attachment": None, "response": None}]}


def store_reachable() -> tuple[bool, str]:
    """ShopDesk's store database answers, and so does the shop's order API where the orders are there."""
    from actions.desk import order_desk
    from store.db import default_engine

    try:
        with default_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        check = getattr(order_desk(), "reachable", None)  # store.http_backend.HttpOrderBackend
        if check is not None:
            ok, detail = check()
            if not ok:
                return False, f"order API: {detail}"
        return True, "ok"
    except Exception as error:
        return False, f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:200]}"


class GracefulResult:
    """Quacks like rasa-sdk's ActionResponse (the endpoint calls `.model_dump()`)."""

    def __init__(self, message: str, action_call: dict) -> None:
        self.message = message
        events = (action_call.get("tracker") or {}).get("events") or []
        self.events = unvalidated_slot_resets(str(action_call.get("next_action") or ""), events)

    def model_dump(self) -> dict:
        return {**graceful_response(self.message), "events": self.events}


class DegradingActionExecutor(ActionExecutor):
    """Turns an action's crash into a graceful answer; rejections and unknown actions stay as rasa-sdk has them."""

    async def run(self, action_call: dict):  # type: ignore[no-untyped-def]
        name = action_call.get("next_action")
        began = time.perf_counter()
        try:
            result = await super().run(action_call)
            logger.info("action %s ran in %.1f ms", name, (time.perf_counter() - began) * 1000)
            return result
        except (ActionExecutionRejection, ActionNotFoundException, ActionMissingDomainException):
            raise
        except DATABASE_ERRORS as error:
            logger.error("order store unavailable while running %s: %s", name,
                         (str(error).splitlines() or [type(error).__name__])[0][:300])
            return GracefulResult(outage_message(error), action_call)
        except Exception:
            logger.exception("action %s failed", name)
            return GracefulResult(ACTION_FAILED, action_call)


def build_app(actions_package: str = "actions", token: str | None = None) -> Sanic:
    """rasa-sdk's app for `actions_package`, with caller authentication, readiness, conversation-id logging
    and degradation. `token` defaults to $SHOPDESK_ACTION_TOKEN; there is no way to run it without one."""
    from rasa_sdk.endpoint import create_app

    expected = (token or configured_token()).encode()
    executor = DegradingActionExecutor()
    executor.register_package(actions_package)
    app = create_app(executor, cors_origins="")  # server-to-server only: no browser may call it cross-origin

    @app.on_request
    async def require_token(request: Request) -> HTTPResponse | None:
        """Deny by default: every path but the probes needs the token (so do `/webhook/`, `/actions`, typos)."""
        if request.method in ("GET", "HEAD") and (request.path.rstrip("/") or "/") in OPEN_PATHS:
            return None
        if token_matches(request.headers.get(TOKEN_HEADER), expected):
            return None
        logger.warning("refused %s %s from %s: %s", request.method, request.path, request.ip,
                       "wrong action token" if TOKEN_HEADER in request.headers else "no action token")
        return response.json({"error": "unauthorized",
                              "message": f"This server answers only Rasa: send the {TOKEN_HEADER} header."},
                             status=401)

    @app.on_request
    async def bind_conversation(request: Request) -> None:
        sender = None
        if request.method == "POST" and request.path == "/webhook":
            try:
                sender = (json.loads(request.body or b"{}").get("tracker") or {}).get("sender_id")
            except (ValueError, AttributeError):
                sender = None
        conversation_id.set(sender)

    @app.get("/ready")
    async def ready(_: Request) -> HTTPResponse:
        ok, detail = await asyncio.get_running_loop().run_in_executor(None, store_reachable)
        return response.json({"status": "ready" if ok else "unavailable", "store_database": detail},
                             status=200 if ok else 503)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--actions", default="actions")
    parser.add_argument("--host", default=os.environ.get("SHOPDESK_ACTIONS_HOST", "127.0.0.1"),
                        help="interface to bind (loopback unless told; 0.0.0.0 only behind a private network)")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("ACTION_SERVER_SANIC_WORKERS", "1")))
    parser.add_argument("--logging-config-file", default=None)
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args()
    configure_json_logging(args.log_level, args.logging_config_file)
    try:
        configured_token()
    except MissingActionToken as error:
        print(f"action server: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    require_profile("action server")  # a bad shop.yml: its problems listed, exit status 1, no traceback
    try:
        configured_backend()  # SHOPDESK_ORDER_BACKEND=http without its URL or token: say so, don't start
    except BackendMisconfigured as error:
        print(f"action server: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning("binding the action server to %s: keep that network private to Rasa", args.host)
    loader = AppLoader(factory=partial(build_app, args.actions))
    app = loader.load()
    if args.workers <= 1:
        app.prepare(host=args.host, port=args.port, single_process=True, access_log=False)
        Sanic.serve_single(primary=app)
    else:
        app.prepare(host=args.host, port=args.port, workers=args.workers, access_log=False)
        Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
