"""The address of the client behind a connection (`metadata["shopdesk_client"]`), proxies considered.

X-Forwarded-For is believed only as far as it was written by proxies we trust (SHOPDESK_TRUSTED_PROXIES,
comma-separated addresses or networks): walking it from the right, the first hop not sent by a trusted proxy
is the client. Without trusted proxies the header is ignored, so a client cannot name its own address.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_proxies(value: str | None = None) -> list[Network]:
    """Parse SHOPDESK_TRUSTED_PROXIES (or `value`); entries that are not addresses are ignored."""
    raw = os.environ.get("SHOPDESK_TRUSTED_PROXIES", "") if value is None else value
    networks: list[Network] = []
    for item in raw.split(","):
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            continue
    return networks


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:          # "[::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:                          # "10.0.0.1:443"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_address(peer: str, forwarded_for: str | None, trusted: Iterable[Network]) -> str:
    """The client's address: the peer's, or the nearest X-Forwarded-For hop not added by a trusted proxy."""
    trusted = list(trusted)
    current = _address(peer or "")
    if current is None:
        return (peer or "unknown")[:64]
    for hop in reversed((forwarded_for or "").split(",") if forwarded_for else []):
        if not any(current in network for network in trusted):
            break
        parsed = _address(hop)
        if parsed is None:
            break
        current = parsed
    return str(current)
