"""axe-core for the browser tests: vendored once from the npm registry, never loaded from a CDN.

axe-core 4.14.1 (Deque Systems, MPL-2.0: https://github.com/dequelabs/axe-core, licence text in the npm
package), fetched with `npm pack`, checked against the pinned integrity hash (`npm view axe-core@4.14.1
dist.integrity`) and kept as tests/e2e/vendor/axe-<version>.min.js (git-ignored, test-only: the widget never
ships or loads it). The checks run against the widget's shadow root; serious and critical findings fail.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from web.vendor import npm_file

VERSION = "4.14.1"
INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
TARGET = Path(__file__).resolve().parent / "vendor" / f"axe-{VERSION}.min.js"
FAILING = ("serious", "critical")


def axe_source() -> str:
    if not TARGET.is_file():
        npm_file("axe-core", VERSION, INTEGRITY, "package/axe.min.js", TARGET)
    return TARGET.read_text(encoding="utf-8")


def axe_findings(page: Any, selector: str = "#shopdesk-widget") -> list[dict[str, Any]]:
    """axe's serious and critical violations inside `selector` (shadow DOM included), WCAG 2.x A/AA rules.

    The page's CSP forbids inline scripts, so axe is evaluated through the DevTools protocol instead."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source() + "\n;true")
    result = page.evaluate("""async (selector) => {
        const r = await axe.run({include: [selector]}, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary}))}));
    }""", selector)
    return [v for v in result if v["impact"] in FAILING]


def assert_no_serious_findings(page: Any, where: str) -> None:
    findings = axe_findings(page)
    assert not findings, f"axe ({where}): " + json.dumps(findings, indent=1)[:4000]
