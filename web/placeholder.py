"""Generated SVG product images: the demo data has no photos, so each product gets a stable drawing."""

from __future__ import annotations

import hashlib
import textwrap

from markupsafe import escape

PALETTE = [("#fde2e4", "#b5495b"), ("#e2ece9", "#2f6f5e"), ("#dfe7fd", "#3a56a8"), ("#fff1c1", "#9a6b00"),
           ("#eae4e9", "#6d4c7d"), ("#d8f3dc", "#2d6a4f"), ("#ffe5d9", "#b5542f"), ("#e0f4ff", "#1d6f98")]


def product_svg(sku: str, name: str, price_label: str) -> str:
    """A 320x240 card: colour from the SKU, the product's initials, wrapped name and price (all escaped)."""
    digest = hashlib.sha256(sku.encode()).digest()
    background, ink = PALETTE[digest[0] % len(PALETTE)]
    initials = "".join(w[0] for w in name.split() if w[:1].isalnum())[:2].upper() or "?"
    lines = textwrap.wrap(name, width=26)[:2]
    name_rows = "".join(
        f'<text x="160" y="{178 + i * 20}" font-size="15" text-anchor="middle" fill="{ink}">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    angle = digest[1] % 360
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240" viewBox="0 0 320 240" role="img" '
        f'aria-label="{escape(name)}">'
        f'<rect width="320" height="240" fill="{background}"/>'
        f'<g transform="rotate({angle} 160 90)" opacity="0.25">'
        f'<rect x="110" y="40" width="100" height="100" rx="18" fill="{ink}"/></g>'
        f'<circle cx="160" cy="90" r="46" fill="#ffffff" opacity="0.85"/>'
        f'<text x="160" y="106" font-size="42" font-family="Georgia, serif" text-anchor="middle" '
        f'fill="{ink}">{escape(initials)}</text>'
        f'<g font-family="Helvetica, Arial, sans-serif">{name_rows}'
        f'<text x="300" y="30" font-size="16" font-weight="bold" text-anchor="end" fill="{ink}">'
        f'{escape(price_label)}</text></g></svg>'
    )
