"""ShopDesk's operator commands (`shopdesk --version`, `migrate`, `backup`, `restore`, `serve`) and its version.

The version has one home, pyproject.toml's `[project] version`; CHANGELOG.md says what each release changed
and docs/upgrading.md how to move between them.
"""

from __future__ import annotations

import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _version() -> str:
    text = (PROJECT_ROOT / "pyproject.toml").read_text()
    match = re.search(r'^\[project\][^\[]*?^version\s*=\s*"([^"]+)"', text, re.MULTILINE | re.DOTALL)
    if not match:
        raise RuntimeError("pyproject.toml has no [project] version")
    return match.group(1)


__version__ = _version()
