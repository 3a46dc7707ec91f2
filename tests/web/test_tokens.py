"""store.tokens: session tokens name one conversation; customer tokens count in one conversation only."""

from __future__ import annotations

import pytest

from store.tokens import (
    SESSION_MAX_AGE_S,
    SigningKeyMissing,
    issue_customer_token,
    issue_session_token,
    verify_customer_token,
    verify_session_token,
)

KEY = "k" * 32
CID = "0123456789abcdef0123456789abcdef"


def test_session_token_round_trip_and_forgeries() -> None:
    token = issue_session_token(CID, key=KEY)
    assert verify_session_token(token, key=KEY) == CID
    assert verify_session_token(token, key="another-key-0123456789") is None
    body, stamp, mac = token.split(".")
    other = issue_session_token("f" * 32, key=KEY).split(".")[0]
    for forged in (f"{other}.{stamp}.{mac}", f"{body}.{int(stamp) + 1}.{mac}", f"{body}.{stamp}.{mac[:-2]}AA",
                   f"{body}.{stamp}", "", "x" * 5000, f"{body}.-1.{mac}", "a.b.c", "\udfff.1.x", None, 42, [token]):
        assert verify_session_token(forged, key=KEY) is None, forged


def test_session_token_expires_and_is_not_from_the_future() -> None:
    token = issue_session_token(CID, key=KEY, now=1_000_000)
    assert verify_session_token(token, key=KEY, now=1_000_000 + SESSION_MAX_AGE_S - 1) == CID
    assert verify_session_token(token, key=KEY, now=1_000_000 + SESSION_MAX_AGE_S + 1) is None
    assert verify_session_token(token, key=KEY, now=1_000_000 - 3600) is None


def test_session_token_needs_a_signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPDESK_SIGNING_KEY", raising=False)
    with pytest.raises(SigningKeyMissing):
        issue_session_token(CID)
    monkeypatch.setenv("SHOPDESK_SIGNING_KEY", KEY)
    assert verify_session_token(issue_session_token(CID)) == CID
    with pytest.raises(ValueError):
        issue_session_token("")


def test_customer_token_is_bound_to_its_conversation() -> None:
    token = issue_customer_token(10001, CID, key=KEY)
    assert verify_customer_token(token, CID, key=KEY) == 10001
    assert verify_customer_token(token, "f" * 32, key=KEY) is None
    assert verify_customer_token(token, "", key=KEY) is None
    assert verify_customer_token(token, CID, key="another-key-0123456789") is None
    assert verify_customer_token(token[:-3] + "abc", CID, key=KEY) is None
    assert verify_customer_token(token, CID, key=KEY, max_age_s=-1) is None      # expired
    session = issue_session_token(CID, key=KEY)
    assert verify_customer_token(session, CID, key=KEY) is None                  # another kind of token


def test_old_unbound_customer_tokens_prove_nothing() -> None:
    from itsdangerous import URLSafeTimedSerializer

    unbound = URLSafeTimedSerializer(KEY, salt="shopdesk-customer-v1").dumps({"cid": 10001})
    assert verify_customer_token(unbound, CID, key=KEY) is None
    with pytest.raises(ValueError):
        issue_customer_token(10001, "", key=KEY)
