"""The store schema each published release left databases at: what an upgrade starts from.

A release adds its line when it is tagged (docs/upgrading.md, "Cutting a release"), together with
tests/fixtures/releases/store-<version>.sql, a database made by that release's own code with data in it;
tests/store/test_upgrade.py upgrades every one of them with this checkout's migrations.
"""

from __future__ import annotations

STORE_SCHEMAS: dict[str, str] = {
    "0.1.0": "0005",
}
