"""The shop's profile (shop.yml): its name, its assistant, how to reach its people, its money, returns and
delivery rules. Everything the bot says about "our shop" comes from here, so adopting ShopDesk means
editing one file, not Python or domain.yml (docs/adopting.md).

`current_profile()` is what code calls: the file named by SHOPDESK_SHOP_PROFILE, else shop.yml at the repository
root, re-read when it changes (an edit takes effect without a restart; a broken edit is logged and the last
good profile kept). Start-up code calls `require_profile()` first, so a bad file stops the process with a
readable list of problems instead of a traceback. Standard library and PyYAML only: the Rasa server
(Python 3.10) imports this too.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from shop_profile.model import ShopProfile
from shop_profile.validation import ProfileError, load_profile

PROFILE_ENV = "SHOPDESK_SHOP_PROFILE"
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "shop.yml"

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_cache: dict[str, tuple[float, ShopProfile]] = {}


def profile_path() -> Path:
    configured = os.environ.get(PROFILE_ENV, "").strip()
    return Path(configured) if configured else DEFAULT_PATH


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0


def current_profile() -> ShopProfile:
    """The configured profile, re-read when its file changes; ProfileError if there never was a good one."""
    path = profile_path()
    key, mtime = str(path), _mtime(path)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            profile = load_profile(path)
        except ProfileError as error:
            if cached is None:
                raise
            logger.error("%s; still using the profile read before", error)
            _cache[key] = (mtime, cached[1])
            return cached[1]
        _cache[key] = (mtime, profile)
        return profile


def require_profile(process: str) -> ShopProfile:
    """The profile at start-up, or exit with its problems (status 2): a process never runs without one."""
    try:
        return current_profile()
    except ProfileError as error:
        raise SystemExit(f"{process}: {error}") from None


__all__ = ["PROFILE_ENV", "ProfileError", "ShopProfile", "current_profile", "load_profile", "profile_path",
           "require_profile"]
