"""axe-core in the browser tests: the vendored engine (tests/e2e/vendor/axe.min.js, see its README), never a CDN.

axe-core 4.14.1 (Deque Systems, MPL-2.0), from `npm pack axe-core@4.14.1`, test-only: neither the widget nor
the console ships or loads it. The pages' CSP forbids inline scripts, so axe is evaluated through the DevTools
protocol. Serious and critical findings fail a page; the console's pages must also pass the landmark and
heading rules (axe rates those "moderate").
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
FAILING = ("serious", "critical")
STRUCTURE_RULES = re.compile(r"^(region|landmark-.*|page-has-heading-one|heading-order|empty-heading)$")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def _violations(page: Any, selector: str | None) -> list[dict[str, Any]]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    return page.evaluate("""async ([selector, tags]) => {
        const context = selector ? {include: [selector]} : document;
        const options = selector ? {runOnly: {type: 'tag', values: tags}} : {resultTypes: ['violations']};
        const r = await axe.run(context, options);
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => ({target: n.target, summary: n.failureSummary}))}));
    }""", [selector, WCAG_TAGS])


def axe_findings(page: Any, selector: str = "#shopdesk-widget") -> list[dict[str, Any]]:
    """axe's serious and critical violations inside `selector` (the widget's shadow DOM included)."""
    return [v for v in _violations(page, selector) if v["impact"] in FAILING]


def assert_no_serious_findings(page: Any, where: str) -> None:
    findings = axe_findings(page)
    assert not findings, f"axe ({where}): " + json.dumps(findings, indent=1)[:4000]


def axe_problems(page: Any) -> list[str]:
    """A whole page's serious and critical violations, and any landmark or heading finding (the console)."""
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
            for v in _violations(page, None) if v["impact"] in FAILING or STRUCTURE_RULES.match(v["id"])]
