"""One version everywhere: pyproject.toml, `shopdesk --version` (also through bin/shopdesk from any directory),
CHANGELOG.md, and a fixture store for every published release."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from shopdesk import __version__
from shopdesk.releases import STORE_SCHEMAS
from tests.ops.production import ROOT


def test_the_version_is_pyprojects_and_bin_shopdesk_says_it_from_anywhere(tmp_path: Path) -> None:
    assert re.search(rf'^version = "{re.escape(__version__)}"$', (ROOT / "pyproject.toml").read_text(), re.M)
    result = subprocess.run([str(ROOT / "bin" / "shopdesk"), "--version"], cwd=tmp_path, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == f"ShopDesk {__version__}"


def test_the_changelog_has_this_release_and_every_published_one_with_its_fixture() -> None:
    headings = re.findall(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert headings[0] == __version__
    for release, revision in STORE_SCHEMAS.items():
        assert release in headings
        dump = ROOT / "tests" / "fixtures" / "releases" / f"store-{release}.sql"
        assert f"INSERT INTO \"alembic_version\" VALUES('{revision}');" in dump.read_text()
