"""Serves the embeddable widget (shopdesk.js, shopdesk.css) and the vendored socket.io client."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory

from web.vendor import VENDOR_DIR, vendored_client_path

WIDGET_DIR = Path(__file__).resolve().parent / "static" / "widget"

bp = Blueprint("widget", __name__)


@bp.get("/widget/<path:name>")
def asset(name: str) -> Response:
    response = send_from_directory(WIDGET_DIR, name, max_age=300)
    # The widget is meant to be embedded by other sites.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/widget/vendor/socket.io.min.js")
def socketio_client() -> Response:
    if not vendored_client_path().is_file():
        abort(404, description="The socket.io client is not vendored yet: run `python -m web.vendor`.")
    response = send_from_directory(VENDOR_DIR, vendored_client_path().name, mimetype="text/javascript",
                                   max_age=86400)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
