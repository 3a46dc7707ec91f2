"""CPU denial of service through the real stack: messages built to make a backtracking regex or the encoder
spend seconds on them get a prompt answer, and they do not hold up anyone else's chat.

Before the fix the email regex alone took 9.5 s for 40,000 letters (quadratic), stalling Rasa's event loop for
every conversation. The channels cap a message at 5,000 characters; the NLU pipeline cuts a message over its own
limit (2,000) to its first 256 characters before the tokenizer, the regexes and the encoder run
(bot.nlu.input_guard.InputLimiter), and the answer is the `too_long` explanation. The pipeline on 100,000
characters: tests/bot/test_input_limits.py.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from runtime.chat_client import REST_PATH
from runtime.stack import StackConfig

pytestmark = pytest.mark.slow

CHANNEL_LIMIT = 5000
TOO_LONG_REPLY = "too long for me to read"
# A generous bound for two busy cores; the quadratic regex alone needed ~0.2 s per 5,000 letters and grows
# with the square of the length, a stalled loop needs seconds.
PROMPT_S = 5.0
ADVERSARIAL = {
    "letters": "a" * CHANNEL_LIMIT,
    "email parts": ("ab.c@" * CHANNEL_LIMIT)[:CHANNEL_LIMIT],
    "local parts": (("x" * 63 + "@") * CHANNEL_LIMIT)[:CHANNEL_LIMIT],
    "spaces and dots": (". " * CHANNEL_LIMIT)[:CHANNEL_LIMIT - 1] + "a",
}


def post(stack: StackConfig, sender: str, text: str) -> tuple[requests.Response, float]:
    """One message over the REST channel as a shop's backend sends it (with its bearer token)."""
    token = stack.env().get("SHOPDESK_REST_TOKEN", "")
    started = time.perf_counter()
    response = requests.post(stack.rasa_url + REST_PATH, json={"sender": sender, "message": text},
                             headers={"Authorization": f"Bearer {token}"}, timeout=120)
    return response, time.perf_counter() - started


def reply_text(response: requests.Response) -> str:
    body: Any = response.json()
    assert isinstance(body, list) and body, f"no reply: HTTP {response.status_code} {response.text[:200]}"
    return "\n".join(str(m.get("text") or "") for m in body)


def sender() -> str:
    return f"dos-{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_a_channel_sized_adversarial_message_gets_a_prompt_clear_answer(shop_stack: StackConfig, name: str) -> None:
    text = ADVERSARIAL[name]
    assert len(text) == CHANNEL_LIMIT
    who = sender()
    response, elapsed = post(shop_stack, who, text)
    assert response.status_code == 200, response.text[:300]
    assert TOO_LONG_REPLY in reply_text(response)
    assert elapsed < PROMPT_S, f"{name}: {elapsed:.1f} s"
    # the same conversation carries on normally right after
    response, elapsed = post(shop_stack, who, "hello")
    assert response.status_code == 200 and reply_text(response) and TOO_LONG_REPLY not in reply_text(response)
    assert elapsed < PROMPT_S, f"after {name}: {elapsed:.1f} s"


def test_a_flood_of_long_messages_does_not_hold_up_another_customer(shop_stack: StackConfig) -> None:
    """Eight adversarial messages at once, and a normal customer's message in the middle of them."""
    post(shop_stack, sender(), "hello")  # warm
    attack = [ADVERSARIAL[name] for name in sorted(ADVERSARIAL)] * 2
    with ThreadPoolExecutor(max_workers=len(attack)) as pool:
        flood = [pool.submit(post, shop_stack, sender(), text) for text in attack]
        time.sleep(0.2)
        response, elapsed = post(shop_stack, sender(), "where is my order?")
        results = [f.result() for f in flood]
    assert response.status_code == 200 and reply_text(response) and TOO_LONG_REPLY not in reply_text(response)
    assert elapsed < 2 * PROMPT_S, f"the normal customer waited {elapsed:.1f} s"
    assert all(r.status_code == 200 and TOO_LONG_REPLY in reply_text(r) for r, _ in results)
    assert max(t for _, t in results) < 3 * PROMPT_S


def test_a_message_over_the_channel_limit_is_refused_or_answered_never_slow(shop_stack: StackConfig) -> None:
    """100,000 letters: the channel's size cap answers 4xx; without one the pipeline still answers promptly."""
    response, elapsed = post(shop_stack, sender(), "a" * 100_000)
    assert elapsed < PROMPT_S, f"{elapsed:.1f} s"
    if response.status_code == 200:
        assert TOO_LONG_REPLY in reply_text(response)
    else:
        assert 400 <= response.status_code < 500, response.status_code
