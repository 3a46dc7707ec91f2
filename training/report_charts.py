"""The evaluation report's charts as SVG built in Python: no plotting library, no CDN, no script.

Served as images from the console's own origin (the Content-Security-Policy allows `img-src 'self'`);
every label is XML-escaped, and intent names come from the domain, not from customers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

CANDIDATE, CURRENT, GOOD, BAD, GRID = "#1f5fbf", "#9aa5b8", "#1e7b34", "#b3261e", "#dde"
ROW, LABEL_W, PLOT_W = 18, 210, 420


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="system-ui, sans-serif" font-size="11" role="img">'
            f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", fill: str = "#223") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}">{escape(text)}</text>'


def f1_chart(report: Mapping[str, Any]) -> str:
    """Per-intent F1, candidate (blue) next to the current model (grey)."""
    rows = list((report.get("per_intent") or {}).items())
    height = 40 + ROW * max(1, len(rows))
    width = LABEL_W + PLOT_W + 60
    body = [_text(LABEL_W, 14, "F1 per intent: candidate", fill=CANDIDATE),
            _text(LABEL_W + 170, 14, "current", fill="#667")]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = LABEL_W + tick * PLOT_W
        body += [f'<line x1="{x:.1f}" y1="22" x2="{x:.1f}" y2="{height - 14}" stroke="{GRID}"/>',
                 _text(x, height - 2, f"{tick:g}", anchor="middle", fill="#667")]
    for i, (intent, values) in enumerate(rows):
        y = 24 + i * ROW
        body.append(_text(LABEL_W - 6, y + 11, intent, anchor="end"))
        new, old = values.get("candidate") or 0.0, values.get("current")
        body.append(f'<rect x="{LABEL_W}" y="{y + 1}" width="{new * PLOT_W:.1f}" height="7" fill="{CANDIDATE}"/>')
        if old is not None:
            body.append(f'<rect x="{LABEL_W}" y="{y + 9}" width="{old * PLOT_W:.1f}" height="6" fill="{CURRENT}"/>')
        body.append(_text(LABEL_W + PLOT_W + 6, y + 11, f"{new:.2f}"))
    return _svg(width, height, body, "F1 per intent")


def delta_chart(report: Mapping[str, Any]) -> str:
    """Per-intent F1 change (candidate − current); beyond the tolerance in red."""
    tolerance = float(report.get("tolerance") or 0.0)
    rows = [(i, v["delta"]) for i, v in (report.get("per_intent") or {}).items() if v.get("delta") is not None]
    height = 40 + ROW * max(1, len(rows))
    width = LABEL_W + PLOT_W + 60
    scale = max([0.05, *[abs(d) for _, d in rows]])
    mid = LABEL_W + PLOT_W / 2
    body = [_text(LABEL_W, 14, f"F1 change per intent (tolerance ±{tolerance:g})"),
            f'<line x1="{mid}" y1="20" x2="{mid}" y2="{height - 14}" stroke="#445"/>']
    for edge in (-tolerance, tolerance):
        x = mid + edge / scale * PLOT_W / 2
        body.append(f'<line x1="{x:.1f}" y1="20" x2="{x:.1f}" y2="{height - 14}" stroke="{BAD}" '
                    'stroke-dasharray="3 3"/>')
    if not rows:
        body.append(_text(mid, 36, "no current model to compare with", anchor="middle", fill="#667"))
    for i, (intent, delta) in enumerate(rows):
        y = 24 + i * ROW
        w = abs(delta) / scale * PLOT_W / 2
        x = mid if delta >= 0 else mid - w
        colour = BAD if delta < -tolerance else GOOD if delta > 0 else CURRENT
        body += [_text(LABEL_W - 6, y + 11, intent, anchor="end"),
                 f'<rect x="{x:.1f}" y="{y + 2}" width="{max(w, 1):.1f}" height="11" fill="{colour}"/>',
                 _text(LABEL_W + PLOT_W + 6, y + 11, f"{delta:+.3f}", fill=colour)]
    return _svg(width, height, body, "F1 change per intent")


def confusion_chart(report: Mapping[str, Any], limit: int = 10) -> str:
    """The candidate's most frequent confusions on the held-out split (true → predicted)."""
    rows = list(report.get("confusions") or [])[:limit]
    height = 40 + ROW * max(1, len(rows))
    label_w = LABEL_W + 140
    width = label_w + 260
    top = max([1, *[int(c["count"]) for c in rows]])
    body = [_text(label_w, 14, "Most confused intents (held-out, candidate)")]
    if not rows:
        body.append(_text(label_w, 36, "no confusions", fill="#667"))
    for i, c in enumerate(rows):
        y = 24 + i * ROW
        w = int(c["count"]) / top * 200
        body += [_text(label_w - 6, y + 11, f"{c['intent']} → {c['predicted']}", anchor="end"),
                 f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="11" fill="{BAD}"/>',
                 _text(label_w + w + 6, y + 11, str(c["count"]))]
    return _svg(width, height, body, "Confusion pairs")


CHARTS = {"f1": f1_chart, "delta": delta_chart, "confusions": confusion_chart}
