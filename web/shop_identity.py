"""Who the customer is, in the shop's own words: a short-lived token its backend signs (docs/adopting.md).

The shop's site already knows its signed-in customer; ShopDesk must not ask for a password of its own. The
shop's backend signs a JWT (RFC 7519, compact form, HS256 only) with SHOPDESK_IDENTITY_SECRET, a secret it
shares with ShopDesk and nobody else, and puts it in the widget's tag (`data-customer-token`) or hands it to
`ShopDesk.identify(token)`. Claims:

- `email` (required): the customer's email, as in the store; this is how the token maps to a customer;
- `exp` (required): expiry, Unix seconds, at most MAX_LIFETIME_S ahead: sign one per page view;
- `sub` (optional): the shop's own customer id, only logged; `iat` (optional): issued-at.

Any JWT library signs it (PyJWT `jwt.encode(claims, secret, "HS256")`, Node `jsonwebtoken`, PHP
`firebase/php-jwt`); verification here is stdlib HMAC, like store/tokens.py. Every refusal is an
IdentityRefused with a message the widget can show; the chat then goes on as a guest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import Customer

ALGORITHM = "HS256"
MAX_LIFETIME_S = 24 * 3600
CLOCK_SKEW_S = 60
MAX_TOKEN_CHARS = 4096
MIN_SECRET_CHARS = 32
GUEST = "You are chatting as a guest."


class IdentityRefused(ValueError):
    """The shop's token proves nothing; str() is the message for the customer's widget."""


@dataclass(frozen=True)
class ShopIdentity:
    email: str
    subject: str | None
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, signed: str) -> str:
    return _b64(hmac.new(secret.encode(), signed.encode("ascii"), hashlib.sha256).digest())


def issue_identity_token(secret: str, email: str, subject: str | None = None, ttl_s: int = 3600,
                         now: float | None = None) -> str:
    """What a shop's backend does, for shops on Python and for the tests: an HS256 JWT for `email`."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {"email": email, "iat": issued, "exp": issued + ttl_s}
    if subject is not None:
        claims["sub"] = subject
    header = _b64(json.dumps({"alg": ALGORITHM, "typ": "JWT"}, separators=(",", ":")).encode())
    signed = f"{header}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
    return f"{signed}.{_mac(secret, signed)}"


def verify_identity_token(token: object, secret: str, now: float | None = None) -> ShopIdentity:
    """The identity a genuine, unexpired token carries; IdentityRefused (with the reason) otherwise."""
    if len(secret or "") < MIN_SECRET_CHARS:
        raise IdentityRefused(f"Signed-in chat is not set up on this server yet. {GUEST}")
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise IdentityRefused(f"The sign-in token is malformed. {GUEST}")
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise IdentityRefused(f"The sign-in token is malformed. {GUEST}")
    header, claims = _json_part(parts[0]), _json_part(parts[1])
    if header.get("alg") != ALGORITHM:
        raise IdentityRefused(f"The sign-in token must be signed with {ALGORITHM}. {GUEST}")
    if not hmac.compare_digest(_mac(secret, f"{parts[0]}.{parts[1]}"), parts[2]):
        raise IdentityRefused(f"The sign-in token's signature is not valid. {GUEST}")
    return _identity(claims, now if now is not None else time.time())


def _json_part(part: str) -> dict[str, Any]:
    try:
        value = json.loads(_unb64(part))
    except (binascii.Error, ValueError):
        raise IdentityRefused(f"The sign-in token is malformed. {GUEST}") from None
    if not isinstance(value, dict):
        raise IdentityRefused(f"The sign-in token is malformed. {GUEST}")
    return value


def _identity(claims: dict[str, Any], now: float) -> ShopIdentity:
    expires = claims.get("exp")
    if not isinstance(expires, int) or isinstance(expires, bool):
        raise IdentityRefused(f"The sign-in token has no expiry (exp). {GUEST}")
    if expires < now - CLOCK_SKEW_S:
        raise IdentityRefused(f"The sign-in token has expired; reload the page to sign in again. {GUEST}")
    if expires > now + MAX_LIFETIME_S + CLOCK_SKEW_S:
        raise IdentityRefused(f"The sign-in token must expire within {MAX_LIFETIME_S // 3600} hours. {GUEST}")
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise IdentityRefused(f"The sign-in token names no customer email. {GUEST}")
    subject = claims.get("sub")
    return ShopIdentity(email.strip(), str(subject)[:128] if subject is not None else None, expires)


def customer_for(s: Session, identity: ShopIdentity) -> int:
    """The store customer the identity names (by email, case-insensitively); IdentityRefused if none."""
    customer_id = s.scalar(select(Customer.id).where(func.lower(Customer.email) == identity.email.lower()))
    if customer_id is None:
        raise IdentityRefused(f"This shop has no customer account for the signed-in email. {GUEST}")
    return customer_id
