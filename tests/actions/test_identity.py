"""actions.identity: a customer token counts only in its own conversation, and nothing counts once revoked."""

from __future__ import annotations

from actions.identity import verified_customer_id
from store.db import session_factory
from store.security import revoke_conversation
from tests.actions.conftest import make_tracker, token_for

ALICE = 10001


def test_token_counts_only_in_the_conversation_it_is_bound_to(desk) -> None:
    meta = {"customer_token": token_for(ALICE, "conv-alice")}
    assert verified_customer_id(make_tracker(metadata=meta, sender="conv-alice")) == ALICE
    assert verified_customer_id(make_tracker(metadata=meta, sender="conv-thief")) is None


def test_revoked_conversation_has_no_verified_customer(desk) -> None:
    meta = {"customer_token": token_for(ALICE, "conv-signed-out")}
    with_slot = make_tracker(slots={"customer_id": str(ALICE)}, sender="conv-signed-out")
    assert verified_customer_id(make_tracker(metadata=meta, sender="conv-signed-out")) == ALICE
    assert verified_customer_id(with_slot) == ALICE
    with session_factory().begin() as s:
        revoke_conversation(s, "conv-signed-out")
    assert verified_customer_id(make_tracker(metadata=meta, sender="conv-signed-out")) is None
    assert verified_customer_id(with_slot) is None
    assert verified_customer_id(make_tracker(metadata={"customer_token": token_for(ALICE)})) == ALICE  # others
