"""The live queue page and its Server-Sent Events stream (waiting, mine, others', closed)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from flask import Blueprint, Response, current_app, render_template, stream_with_context
from flask_login import current_user

from console.handoffs import HandoffDesk, HandoffView
from console.security import still_signed_in
from console.services import services

bp = Blueprint("queue", __name__)
KEEPALIVE_SECONDS = 15
HEARTBEAT_SECONDS = 10


def queue_json(desk: HandoffDesk, agent_id: int) -> dict[str, object]:
    lanes: dict[str, list[HandoffView]] = desk.queue(agent_id)
    return {"lanes": {name: [h.as_json() for h in views] for name, views in lanes.items()},
            "agents_online": desk.agents_online()}


@bp.get("/")
def index() -> str:
    desk = services().handoffs
    desk.touch_agent(current_user.agent_id)
    return render_template("queue.html", queue=queue_json(desk, current_user.agent_id))


def sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@bp.get("/queue/stream")
def stream() -> Response:
    """Pushes the queue whenever it changes; keeps the agent marked online while the page is open."""
    desk, agent_id, user = services().handoffs, current_user.agent_id, current_user._get_current_object()
    poll, lifetime = current_app.config["CONSOLE_POLL_SECONDS"], current_app.config["CONSOLE_STREAM_SECONDS"]

    def events() -> Iterator[str]:
        last, last_sent, last_beat = None, 0.0, 0.0
        deadline = time.monotonic() + lifetime
        yield "retry: 2000\n\n"
        while time.monotonic() < deadline:
            now = time.monotonic()
            if not still_signed_in(user):
                return  # disabled or signed out elsewhere: the browser's reconnect gets a 401
            if now - last_beat >= HEARTBEAT_SECONDS:
                desk.touch_agent(agent_id)
                last_beat = now
            snapshot = queue_json(desk, agent_id)
            if snapshot != last:
                yield sse("queue", snapshot)
                last, last_sent = snapshot, now
            elif now - last_sent >= KEEPALIVE_SECONDS:
                yield ": keep-alive\n\n"
                last_sent = now
            time.sleep(poll)

    return Response(stream_with_context(events()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
