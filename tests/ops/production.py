"""A production data directory and settings for tests: fresh secrets, free loopback ports, the shop's own profile."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from runtime.processes import free_port
from runtime.serve import SECRETS
from shopdesk.layout import DataDir

ROOT = Path(__file__).resolve().parent.parent.parent


def production_settings(ports: dict[str, int] | None = None) -> dict[str, str]:
    """What an operator's env file holds, on loopback ports (nothing inherited from the checkout's .env)."""
    ports = ports or {name: free_port() for name in ("https", "console", "status", "rasa", "actions", "aproxy", "web",
                                                     "cweb")}
    public = f"https://127.0.0.1:{ports['https']}"
    return {
        "SHOPDESK_PUBLIC_URL": public, "SHOPDESK_ALLOWED_ORIGINS": public, "SHOPDESK_BIND": "127.0.0.1",
        "SHOPDESK_HTTPS_PORT": str(ports["https"]), "SHOPDESK_HTTP_PORT": "0",
        "SHOPDESK_CONSOLE_HTTPS_PORT": str(ports["console"]), "SHOPDESK_STATUS_PORT": str(ports["status"]),
        "SHOPDESK_RASA_PORT": str(ports["rasa"]), "SHOPDESK_ACTIONS_PORT": str(ports["actions"]),
        "SHOPDESK_ACTIONS_PROXY_PORT": str(ports["aproxy"]),
        "SHOPDESK_WEB_PORT": str(ports["web"]), "SHOPDESK_CONSOLE_PORT": str(ports["cweb"]),
        **{name: secrets.token_urlsafe(32) for name in SECRETS},
    }


def clean_environment() -> dict[str, str]:
    """The test process's environment without any ShopDesk or Rasa setting (those come from the settings alone)."""
    keep = ("SHOPDESK_", "RASA_", "FLASK_", "TRACKER_", "SANIC_")
    return {k: v for k, v in os.environ.items() if not k.startswith(keep)}


def production_data_dir(root: Path, store: Path, model: Path | None) -> DataDir:
    """A data directory holding a copy of `store`, the shop's own profile and (a link to) `model`."""
    data = DataDir(root)
    data.root.mkdir(parents=True)
    shutil.copyfile(store, data.store_db)
    shutil.copyfile(ROOT / "shop.yml", data.shop_profile)  # the shop's copy, not the repository's demo file
    data.models.mkdir()
    if model is not None:
        (data.models / model.name).symlink_to(model)
    return data
