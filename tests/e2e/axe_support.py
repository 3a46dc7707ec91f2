"""axe-core in the browser tests: the vendored engine (tests/e2e/vendor/axe.min.js, see its README) run on a
Playwright page. `axe_problems` lists what fails a page: any serious or critical violation, and any landmark
or heading finding (axe rates those "moderate", the console must pass them too)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
STRUCTURE_RULES = re.compile(r"^(region|landmark-.*|page-has-heading-one|heading-order|empty-heading)$")


def axe_problems(page: Any) -> list[str]:
    """axe-core's serious and critical violations, and any landmark or heading finding, on the page as it is."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))  # through the DevTools protocol: the page's CSP stays on
    result = page.evaluate("""async () => {
      const r = await axe.run(document, {resultTypes: ["violations"]});
      return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" "))}));
    }""")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in result
            if v["impact"] in ("serious", "critical") or STRUCTURE_RULES.match(v["id"])]
