"""The fuzz run's messages: seeded, generated texts and requests for ShopDesk's three channels (no I/O here).

bench/fuzz_channels.py sends them; tests/test_fuzz_generator.py checks the mix. Each `Step` is one message or
malformed request and says what the contract wants for it (accept, reject, either, or "duplicate" for a resend);
a `Script` is the steps of one conversation, sent in order.
"""

from __future__ import annotations

import json
import random
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

CHANNELS = ("rest", "socketio", "webhook")
CHANNEL_LIMIT = 5000          # characters the socket.io and webhook channels accept per message
BODY_LIMIT = 64 * 1024        # bytes the webhook accepts per body

# What the contract wants for a probe: accepted, refused, either (not specified; only no 5xx and consistent
# storage matter), or "duplicate" (a resend: acknowledged as duplicate or refused, never stored twice).
ACCEPT, REJECT, EITHER, DUPLICATE = "accept", "reject", "either", "duplicate"


# ---- generated text -------------------------------------------------------------------------------------------

PLAIN = [
    "hi", "hello there", "where is my order?", "track my order {order}", "I want to cancel order {order}",
    "can I return the {product}?", "my email is {email}", "order {order}, email {email}",
    "what is your returns policy?", "how long does delivery to Leeds take?", "do you ship to Ireland?",
    "change the delivery address to 12 Acacia Avenue, Leeds LS1 4AB", "recommend a birthday present",
    "do you sell candles?", "where is my refund for {order}?", "I need an invoice for order {order}",
    "show my recent orders", "thanks!", "bye", "yes", "no", "what payment methods do you take?",
    "is the {product} in stock?", "the parcel never arrived", "I was charged twice", "can I change my order?",
]
PRODUCTS = ["white hanging heart t-light holder", "regency cakestand", "jumbo bag red retrospot", "lunch bag",
            "paper chain kit", "alarm clock bakelike", "set of 3 cake tins", "party bunting"]
EMOJI = ["😀", "🙏", "📦", "🚚", "💳", "🇬🇧", "🇮🇪", "👍🏽", "❤️", "🔥", "🤔", "😡", "✅", "❌", "🎁", "🧾", "𝕳𝖊𝖑𝖑𝖔"]
RTL = ["أين طلبي؟", "أريد إلغاء الطلب", "איפה ההזמנה שלי", "אני רוצה החזר", "سفارش من کجاست", "میرا آرڈر کہاں ہے"]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]
ZWJ_EMOJI = ["👨\u200d👩\u200d👧", "🏳️\u200d🌈", "👩🏽\u200d💻"]
BIDI = ["\u202e", "\u202d", "\u202a", "\u202b", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f", "\u200e"]
CONTROLS = ["\x00", "\x01", "\x07", "\x08", "\x1b[31m", "\x7f", "\r", "\x0b", "\x0c", "\x85"]
SURROGATES = ["\udfff", "\ud800", "\ud83d", "\udc00", "\udbff"]
INJECTION = [
    "' OR '1'='1", "'; DROP TABLE orders; --", "1; SELECT * FROM customers --", "\" OR \"\"=\"",
    "UNION SELECT email, password FROM agents", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(document.cookie)>", "javascript:alert(1)", "\" onmouseover=\"alert(1)", "{{7*7}}",
    "${7*7}", "#{7*7}", "${jndi:ldap://127.0.0.1/a}", "../../../../etc/passwd", "%s%s%s%s%n", "%00",
    "{\"$gt\": \"\"}", "__proto__", "constructor.prototype", "<!--", "]]>", "`id`", "$(id)", "| cat .env",
    "<iframe src=//evil.example>", "[click](javascript:alert(1))", "\\u0000", "%F0%9F%98%80", "&lt;b&gt;",
]
PAYLOADS = [
    "/greet", "/restart", "/session_start", "/action_listen", "/stop", "/nlu_fallback", "/out_of_scope",
    '/inform{"order_id":"581475"}', '/inform{"customer_id": 1}', '/inform{"customer_id":"1"}',
    '/intent{"slot":"x"}', '/inform{"email":"a@b.example"}', '/affirm{"requested_slot":"email"}',
    "/inform{bad json", "/", "//", "/" + "a" * 200, '/human_handoff{"handoff_reason":"x"}',
]
LETTERS = string.ascii_letters
WORDS = ["order", "parcel", "refund", "please", "delivery", "address", "invoice", "return", "candle", "help",
         "the", "my", "is", "where", "when", "why", "cancel", "change", "shop", "today", "arrived", "broken"]
# Unicode blocks for random printable text (Latin, Greek, Cyrillic, CJK, Hangul, Devanagari, Thai, emoji,
# mathematical alphanumerics, Linear B, CJK extension B).
BLOCKS = [(0x20, 0x7E), (0xA1, 0x2FF), (0x370, 0x3FF), (0x400, 0x4FF), (0x900, 0x97F), (0xE00, 0xE7F),
          (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0x1D400, 0x1D7FF), (0x1F300, 0x1FAFF), (0x10000, 0x100FA),
          (0x20000, 0x2A6DF)]

# kind -> (weight, expectation); the expectation of a text sent in an otherwise valid message.
TEXT_KINDS: dict[str, tuple[int, str]] = {
    "plain": (22, ACCEPT), "emoji": (6, ACCEPT), "rtl": (5, ACCEPT), "combining": (4, ACCEPT),
    "injection": (9, ACCEPT), "order_like": (9, ACCEPT), "random_printable": (7, ACCEPT),
    "long_printable": (3, ACCEPT), "letter_run": (3, ACCEPT),
    "zero_width": (4, EITHER), "bidi_controls": (3, EITHER), "controls_nul": (4, EITHER),
    "lone_surrogate": (4, EITHER), "payload": (5, EITHER), "newlines": (3, EITHER), "at_limit": (2, EITHER),
    "over_limit": (3, REJECT), "over_64k": (1, REJECT), "blank": (2, REJECT),
}


def order_number(rng: random.Random) -> str:
    return str(rng.randint(536365, 581587))


def email(rng: random.Random) -> str:
    user = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10)))
    return f"{user}{rng.randint(1, 99)}@{rng.choice(['example.com', 'shop.example', 'mail.example'])}"


def plain(rng: random.Random) -> str:
    return rng.choice(PLAIN).format(order=order_number(rng), email=email(rng), product=rng.choice(PRODUCTS))


def printable_run(rng: random.Random, length: int) -> str:
    out: list[str] = []
    while len(out) < length:
        low, high = rng.choice(BLOCKS)
        ch = chr(rng.randint(low, high))
        if ch.isprintable() and unicodedata.category(ch) != "Cn":
            out.append(ch)
    return "".join(out)


def words(rng: random.Random, length: int) -> str:
    text = ""
    while len(text) < length:
        text += rng.choice(WORDS) + " "
    return text[:length].rstrip() or "order"


def sprinkle(rng: random.Random, text: str, chars: Sequence[str], count: int) -> str:
    chars_list = list(text)
    for _ in range(count):
        chars_list.insert(rng.randint(0, len(chars_list)), rng.choice(chars))
    return "".join(chars_list)


def make_text(rng: random.Random, kind: str) -> str:
    """One message text of `kind` (see TEXT_KINDS); never empty except for "blank"."""
    if kind == "plain":
        return plain(rng)
    if kind == "emoji":
        return " ".join([plain(rng), *rng.choices(EMOJI, k=rng.randint(1, 6))]) if rng.random() < 0.7 \
            else "".join(rng.choices(EMOJI, k=rng.randint(1, 40)))
    if kind == "rtl":
        return f"{rng.choice(RTL)} {order_number(rng)}" if rng.random() < 0.5 else rng.choice(RTL)
    if kind == "combining":
        base = plain(rng)
        return "".join(c + "".join(chr(rng.randint(0x300, 0x36F)) for _ in range(rng.randint(0, 12)))
                       for c in base)
    if kind == "injection":
        attack = rng.choice(INJECTION)
        return attack if rng.random() < 0.5 else f"{plain(rng)} {attack}"
    if kind == "order_like":
        n = order_number(rng)
        return rng.choice([n, f"#{n}", f"C{n}", f"order no. {n[:3]} {n[3:]}", f"{n}, {email(rng)}",
                           f"{n}{rng.randint(10**12, 10**13)}", "0", "-1", "9" * rng.randint(20, 300), "1e309",
                           f"{n},{int(n) + 1},{int(n) + 2}", "LS1 4AB", "12 Acacia Avenue, Leeds LS1 4AB",
                           "a" * 64 + "@" + "b" * 180 + ".example", f"{email(rng)} {n}", "NaN", "0x1F"])
    if kind == "random_printable":
        return printable_run(rng, rng.randint(1, 300)).strip() or "x"
    if kind == "long_printable":
        return words(rng, rng.randint(1000, 4000))
    if kind == "letter_run":  # the input a super-linear regex chokes on
        n = rng.randint(1000, CHANNEL_LIMIT - 1)
        return rng.choice(["a" * n, "ab" * (n // 2), "a" * (n - 1) + "@", ("a" * 50 + ".") * (n // 51),
                           "".join(rng.choices(LETTERS, k=n))])
    if kind == "zero_width":
        return rng.choice(ZWJ_EMOJI) if rng.random() < 0.3 else sprinkle(rng, plain(rng), ZERO_WIDTH, 3)
    if kind == "bidi_controls":
        return sprinkle(rng, plain(rng), BIDI, 2)
    if kind == "controls_nul":
        return sprinkle(rng, plain(rng), CONTROLS, rng.randint(1, 4))
    if kind == "lone_surrogate":
        return rng.choice(["s\udfff", "\ud800", sprinkle(rng, plain(rng), SURROGATES, rng.randint(1, 3))])
    if kind == "payload":
        return rng.choice(PAYLOADS)
    if kind == "newlines":
        return rng.choice(["\n".join(plain(rng) for _ in range(3)), f"{plain(rng)}\u2028{plain(rng)}",
                           f"{plain(rng)}\u2029", f"\t{plain(rng)}\t", f"{plain(rng)}\r\n\r\n{plain(rng)}"])
    if kind == "at_limit":
        return words(rng, rng.randint(CHANNEL_LIMIT - 10, CHANNEL_LIMIT))
    if kind == "over_limit":
        return words(rng, rng.randint(CHANNEL_LIMIT + 1, 20000))
    if kind == "over_64k":
        return "x" * rng.randint(BODY_LIMIT, BODY_LIMIT + 6000)
    if kind == "blank":
        return rng.choice(["", " ", "\n\t ", "\u3000", "   \r\n"])
    raise ValueError(f"unknown text kind {kind!r}")


def pick_text(rng: random.Random) -> tuple[str, str, str]:
    """(kind, text, expectation) for one message of an otherwise valid request."""
    kinds = list(TEXT_KINDS)
    kind = rng.choices(kinds, weights=[TEXT_KINDS[k][0] for k in kinds])[0]
    return kind, make_text(rng, kind), TEXT_KINDS[kind][1]


def json_bytes(obj: Any, encoding: str = "ascii") -> bytes:
    """A JSON body as bytes. "ascii" escapes everything (a lone surrogate becomes the escape \\udfff, which
    `requests`' json= would refuse); "utf8" writes raw UTF-8 and so surrogates as invalid bytes."""
    if encoding == "ascii":
        return json.dumps(obj, ensure_ascii=True).encode("ascii")
    return json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")


def nested(depth: int, leaf: str = "1") -> bytes:
    """`{"a":{"a":...}}` `depth` deep, built as text (json.dumps itself would overflow the stack)."""
    return b'{"a":' * depth + leaf.encode() + b"}" * depth


# ---- the plan -----------------------------------------------------------------------------------------------


@dataclass
class Step:
    """One message or malformed request (each counts as one sent message)."""

    channel: str
    kind: str
    expect: str
    text: Any = None             # the message text the request carries (any JSON type for wrong-type probes)
    message_id: Any = None
    obj: Any = None              # JSON body (REST, webhook) or emitted data (socket.io)
    raw: bytes | None = None     # a body sent as-is instead of `obj`
    encoding: str = "ascii"
    auth: str = "valid"          # REST: valid|missing|wrong|empty|basic|lowercase|query; webhook: see WEBHOOK_AUTH
    replay: bool = False         # webhook: resend the previous request byte for byte, headers included
    headers: dict[str, str] = field(default_factory=dict)
    query: str = ""
    session: str = "own"         # socket.io emits: own|missing|other|wrong_type
    victim: str = ""             # another conversation this step tries to write into ("socketio" = one of ours)
    sender: Any = None           # REST/webhook: the sender it names (the tracker id adds its channel prefix)


@dataclass
class Script:
    """Steps sent in order on one conversation (one connection for socket.io)."""

    channel: str
    kind: str
    steps: list[Step]
    sender: str | None = None
    session_mode: str = "valid"  # socket.io: valid|no_token|bad_token|other_token|cross_channel|bad_origin|
    #                              garbage_request|engineio


WEBHOOK_AUTH = ["bad_signature", "missing_headers", "missing_signature", "stale", "future", "digits_320",
                "digits_5000", "superscript_digits", "negative", "float", "signature_other_secret", "v0_scheme"]
REST_AUTH = [("missing", REJECT), ("wrong", REJECT), ("empty", REJECT), ("basic", REJECT),
             ("lowercase", EITHER), ("query", REJECT), ("rasa_token", REJECT)]


class Planner:
    """Builds a seeded plan of exactly `total` steps spread across the channels."""

    def __init__(self, rng: random.Random, tag: str) -> None:
        self.rng = rng
        self.tag = tag
        self.counter = 0

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{self.tag}-{prefix}{self.counter}"

    def mid(self) -> str:
        return self.next_id("m")

    # -- REST --

    def rest_message(self, sender: str) -> Step:
        kind, text, expect = pick_text(self.rng)
        body: dict[str, Any] = {"sender": sender, "message": text}
        headers: dict[str, str] = {}
        roll = self.rng.random()
        if roll < 0.15:
            token = self.rng.choice(["", "garbage", "a.b.c", "x" * 5000])
            body["metadata"] = {"customer_token": token, "shopdesk_client": "10.0.0.1",
                                "display_text": "<b>agent sees this</b>"}
            if len(token) > 4096 and expect == ACCEPT:  # a channel may bound metadata too
                expect = EITHER
        elif roll < 0.25:
            client = self.rng.choice(["203.0.113.7", "", "x" * 500, "::1"])
            headers["X-ShopDesk-Client"] = client
            if client in ("", "x" * 500) and expect == ACCEPT:  # the channel judges odd header values to the channel
                expect = EITHER
        if self.rng.random() < 0.03:
            body["input_channel"] = self.rng.choice(["socketio", "shopdesk_webhook", "rest", 5])
            expect = EITHER if expect == ACCEPT else expect
        return Step("rest", f"valid:{kind}", expect, text=text, obj=body, headers=headers, sender=sender)

    def rest_conversation(self, length: int) -> Script:
        sender = self.next_id("r")
        if self.rng.random() < 0.08:  # a backend's own sender format (printable, with our tag to find it)
            sender = self.rng.choice([f"+44 7700 900{self.counter % 1000:03d} {self.tag}",
                                      f"{self.tag}-ñandú-{self.counter}", f"{self.tag}-{self.counter}@shop.example"])
        steps = [self.rest_message(sender) for _ in range(length)]
        return Script("rest", "conversation", steps, sender=sender)

    def rest_auth(self) -> Script:
        sender = self.next_id("ra")
        auth, expect = self.rng.choice(REST_AUTH)
        step = self.rest_message(sender)
        step.kind, step.auth = f"auth:{auth}", auth
        step.expect = REJECT if expect == REJECT else (EITHER if step.expect != REJECT else REJECT)
        return Script("rest", "auth", [step], sender=sender)

    def rest_cross_channel(self, webhook_senders: Sequence[str]) -> Script:
        """A REST sender that names a conversation of another channel (channel prefixes are reserved)."""
        kind = self.rng.choice(["webhook", "socketio"])
        text = f"{plain(self.rng)} {self.next_id('t')}"  # unique: found again wherever it lands
        if kind == "webhook" and webhook_senders:
            victim = f"webhook:{self.rng.choice(webhook_senders)}"
        else:
            kind, victim = "socketio", ""
        step = Step("rest", f"cross_channel:{kind}", EITHER, text=text, sender=victim,
                    obj={"sender": victim, "message": text}, victim="socketio" if kind == "socketio" else victim)
        return Script("rest", "cross_channel", [step], sender=victim or None)

    def rest_malformed(self) -> Script:
        sender = self.next_id("x")
        text = plain(self.rng)
        rng = self.rng
        choices: list[tuple[str, Any, bytes | None, str]] = [
            ("not_json", None, rng.choice([b"hello", b"{", b"", b"sender=a&message=b", b"\x00\x01\x02"]), "ascii"),
            ("json_array", None, json_bytes([{"sender": sender, "message": text}]), "ascii"),
            ("json_scalar", None, rng.choice([b'"hi"', b"42", b"null", b"true", b"1e999"]), "ascii"),
            ("empty_object", {}, None, "ascii"),
            ("missing_sender", {"message": text}, None, "ascii"),
            ("missing_message", {"sender": sender}, None, "ascii"),
            ("sender_wrong_type", {"sender": rng.choice([42, 4.2, None, True, [sender], {"id": sender}]),
                                   "message": text}, None, "ascii"),
            ("message_wrong_type", {"sender": sender, "message": rng.choice([42, None, False, [text],
                                                                             {"text": text}])}, None, "ascii"),
            ("metadata_wrong_type", {"sender": sender, "message": text,
                                     "metadata": rng.choice([[1, 2], "token", 7, True])}, None, "ascii"),
            ("sender_blank", {"sender": rng.choice(["", " ", "\t"]), "message": text}, None, "ascii"),
            ("sender_huge", {"sender": sender + "-" + "A" * rng.choice([200, 1000, 10000, 100000]),
                             "message": text}, None, "ascii"),
            ("sender_surrogate", {"sender": sender + rng.choice(SURROGATES), "message": text}, None, "ascii"),
            ("sender_controls", {"sender": sender + rng.choice(["\x00", "\n", "\u202e", "\x1b", "\u200b"]),
                                 "message": text}, None, "ascii"),
            ("invalid_utf8", {"sender": sender, "message": text + "\udfff"}, None, "utf8"),
            ("invalid_utf8_raw", None, b'{"sender": "' + sender.encode() + b'", "message": "\xff\xfe\xc3"}',
             "ascii"),
            ("metadata_deep", None, b'{"sender": "' + sender.encode() + b'", "message": "hi", "metadata": '
             + nested(rng.choice([64, 1000, 5000, 20000])) + b"}", "ascii"),
            ("metadata_wide", {"sender": sender, "message": text,
                               "metadata": {f"k{i}": "v" * 10 for i in range(rng.choice([1000, 20000]))}},
             None, "ascii"),
            ("body_1mb", {"sender": sender, "message": "y" * (1024 * 1024)}, None, "ascii"),
            ("duplicate_keys", None, b'{"sender": "' + sender.encode() + b'", "sender": 5, "message": "hi"}',
             "ascii"),
            ("content_type_text", {"sender": sender, "message": text}, None, "ascii"),
        ]
        name, obj, raw, encoding = rng.choice(choices)
        # A JSON body with the right shape but text/plain, and later duplicate keys that win, may be accepted.
        expect = EITHER if name in ("content_type_text", "metadata_wide", "metadata_deep") else REJECT
        headers = {"Content-Type": "text/plain"} if name == "content_type_text" else {}
        msg = obj.get("message") if isinstance(obj, dict) else ("hi" if raw and b'"message": "hi"' in raw else None)
        step = Step("rest", f"malformed:{name}", expect, text=msg if isinstance(msg, str) else None, obj=obj,
                    raw=raw, encoding=encoding, headers=headers,
                    sender=obj.get("sender") if isinstance(obj, dict) else sender)
        return Script("rest", "malformed", [step], sender=sender)

    # -- webhook --

    def webhook_message(self, sender: str, with_mid: bool = True) -> Step:
        kind, text, expect = pick_text(self.rng)
        mid = self.mid() if with_mid else None
        body: dict[str, Any] = {"sender": sender, "message": text, "reply": "sync"}
        if mid:
            body["message_id"] = mid
        if self.rng.random() < 0.15:
            body["metadata"] = {"shopdesk_client": "spoofed", "customer_token": "garbage"}
            body["capabilities"] = {"buttons": self.rng.random() < 0.5, "cards": True, "images": False}
        if kind == "over_64k":
            expect = REJECT
        return Step("webhook", f"valid:{kind}", expect, text=text, message_id=mid, obj=body, sender=sender)

    def webhook_conversation(self, length: int) -> Script:
        sender = self.next_id("w")
        steps: list[Step] = []
        while len(steps) < length:
            roll = self.rng.random()
            # only a message the channel takes in has used up its message id (a refused one has not)
            previous = next((s for s in reversed(steps) if s.kind.startswith("valid:") and s.expect == ACCEPT),
                            None)
            if previous is not None and previous.message_id and roll < 0.08:  # a retry: same id, fresh signature
                steps.append(Step("webhook", "retry_same_message_id", DUPLICATE, text=previous.text,
                                  message_id=previous.message_id, obj=dict(previous.obj), sender=sender))
            elif previous is not None and roll < 0.14:    # the exact request again (a replay)
                steps.append(Step("webhook", "replay_exact", DUPLICATE, text=previous.text,
                                  message_id=previous.message_id, obj=previous.obj, replay=True, sender=sender))
            elif previous is not None and previous.message_id and roll < 0.18:  # same id, other text
                text = plain(self.rng)
                steps.append(Step("webhook", "message_id_reused_other_text", DUPLICATE, text=text,
                                  message_id=previous.message_id, sender=sender,
                                  obj={**previous.obj, "message": text}))
            elif roll < 0.30:                             # a forged request into this conversation
                step = self.webhook_message(sender)
                step.auth = self.rng.choice(WEBHOOK_AUTH)
                step.kind, step.expect = f"auth:{step.auth}", REJECT
                steps.append(step)
            else:
                steps.append(self.webhook_message(sender, with_mid=self.rng.random() < 0.85))
        return Script("webhook", "conversation", steps, sender=sender)

    def webhook_malformed(self) -> Script:
        sender = self.next_id("wx")
        rng = self.rng
        text, mid = plain(rng), self.mid()
        base = {"sender": sender, "message": text, "message_id": mid, "reply": "sync"}
        choices: list[tuple[str, Any, bytes | None, str]] = [
            ("not_json", None, rng.choice([b"hello", b"{", b"", b"\x00"]), "ascii"),
            ("json_array", [base], None, "ascii"),
            ("json_scalar", rng.choice(["hi", 42, None, True]), None, "ascii"),
            ("missing_sender", {k: v for k, v in base.items() if k != "sender"}, None, "ascii"),
            ("missing_message", {k: v for k, v in base.items() if k != "message"}, None, "ascii"),
            ("sender_wrong_type", {**base, "sender": rng.choice([42, None, [sender], {"a": 1}])}, None, "ascii"),
            ("message_wrong_type", {**base, "message": rng.choice([42, None, [text], {"t": 1}])}, None, "ascii"),
            ("message_id_wrong_type", {**base, "message_id": rng.choice([42, [mid], {"id": 1}, True])}, None,
             "ascii"),
            ("metadata_wrong_type", {**base, "metadata": rng.choice([[1], "x", 3])}, None, "ascii"),
            ("capabilities_wrong_type", {**base, "capabilities": rng.choice([["buttons"], "all", 1])}, None,
             "ascii"),
            ("customer_token_wrong_type", {**base, "customer_token": rng.choice([1, ["t"], {"t": 1}])}, None,
             "ascii"),
            ("reply_invalid", {**base, "reply": rng.choice(["email", 5, "callback"])}, None, "ascii"),
            ("sender_huge", {**base, "sender": sender + "A" * rng.choice([200, 5000, 40000])}, None, "ascii"),
            ("sender_surrogate", {**base, "sender": sender + rng.choice(SURROGATES)}, None, "ascii"),
            ("sender_controls", {**base, "sender": sender + rng.choice(["\x00", "\n", "\u202e"])}, None, "ascii"),
            ("invalid_utf8", {**base, "message": text + "\udfff"}, None, "utf8"),
            ("metadata_deep", None, b'{"sender": "' + sender.encode() + b'", "message": "hi", "metadata": '
             + nested(rng.choice([64, 1000, 5000, 20000])) + b"}", "ascii"),
            ("body_over_64k", {**base, "message": "z" * (BODY_LIMIT + 10)}, None, "ascii"),
            ("body_1mb", {**base, "metadata": {"pad": "p" * (1024 * 1024)}}, None, "ascii"),
        ]
        name, obj, raw, encoding = rng.choice(choices)
        expect = EITHER if name == "metadata_deep" else REJECT
        carried = obj.get("message") if isinstance(obj, dict) else ("hi" if raw and b'"message": "hi"' in raw else None)
        carried_mid = obj.get("message_id") if isinstance(obj, dict) else None
        step = Step("webhook", f"malformed:{name}", expect, text=carried if isinstance(carried, str) else None,
                    message_id=carried_mid if isinstance(carried_mid, str) else None, obj=obj, raw=raw,
                    encoding=encoding, sender=obj.get("sender") if isinstance(obj, dict) else sender)
        return Script("webhook", "malformed", [step], sender=sender)

    # -- socket.io --

    def socket_emit(self) -> Step:
        kind, text, expect = pick_text(self.rng)
        if len(text) > CHANNEL_LIMIT:
            expect = REJECT
        mid = self.mid()
        data: dict[str, Any] = {"message": text, "message_id": mid}
        if self.rng.random() < 0.1:
            data["customData"] = {"customer_token": "garbage", "shopdesk_client": "10.0.0.1",
                                  "display_text": "<i>not what was said</i>"}
        return Step("socketio", f"valid:{kind}", expect, text=text, message_id=mid, obj=data)

    def socket_malformed_emit(self, previous: Step | None) -> Step:
        rng = self.rng
        text, mid = plain(rng), self.mid()
        if previous is not None and previous.kind.startswith("valid:") and rng.random() < 0.3:
            return Step("socketio", "resend_same_message_id", DUPLICATE, text=previous.text,
                        message_id=previous.message_id, obj=dict(previous.obj))
        name, data, expect, session = rng.choice([
            ("data_not_object", rng.choice(["hello", 42, [text, mid], True]), REJECT, "own"),
            ("data_none", None, REJECT, "own"),
            ("message_wrong_type", {"message": rng.choice([42, None, [text], {"t": text}, True]),
                                    "message_id": mid}, REJECT, "own"),
            ("message_binary", {"message": text.encode(), "message_id": mid}, REJECT, "own"),
            ("message_blank", {"message": rng.choice(["", "  ", "\n"]), "message_id": mid}, REJECT, "own"),
            ("message_over_limit", {"message": "q" * rng.choice([CHANNEL_LIMIT + 1, 70000]), "message_id": mid},
             REJECT, "own"),
            ("message_id_wrong_type", {"message": text, "message_id": rng.choice([42, [mid], {"id": 1}])},
             EITHER, "own"),
            ("message_id_huge", {"message": text, "message_id": mid + "M" * 10000}, EITHER, "own"),
            ("message_id_surrogate", {"message": text, "message_id": mid + "\udfff"}, EITHER, "own"),
            ("custom_data_wrong_type", {"message": text, "message_id": mid,
                                        "customData": rng.choice([[1], "x", 5])}, EITHER, "own"),
            ("session_id_other", {"message": text, "message_id": mid}, REJECT, "other"),
            ("session_id_wrong_type", {"message": text, "message_id": mid}, REJECT, "wrong_type"),
            ("session_id_missing", {"message": text, "message_id": mid}, EITHER, "missing"),
        ])
        carried = data.get("message") if isinstance(data, dict) else None
        carried_mid = data.get("message_id") if isinstance(data, dict) else None
        return Step("socketio", f"malformed:{name}", expect, text=carried if isinstance(carried, str) else None,
                    message_id=carried_mid if isinstance(carried_mid, str) else None, obj=data, session=session)

    def socket_conversation(self, length: int) -> Script:
        steps: list[Step] = []
        while len(steps) < length:
            previous = steps[-1] if steps else None
            steps.append(self.socket_malformed_emit(previous) if self.rng.random() < 0.25 else self.socket_emit())
        return Script("socketio", "conversation", steps)

    def socket_forged(self, length: int) -> Script:
        mode = self.rng.choice(["no_token", "bad_token", "other_token", "cross_channel", "bad_origin",
                                "garbage_request"])
        steps = []
        for _ in range(length):
            step = self.socket_emit()
            step.kind = f"forged:{mode}"
            step.expect = EITHER if mode == "garbage_request" else REJECT
            step.victim = "socketio" if mode in ("no_token", "bad_token", "other_token") else ""
            steps.append(step)
        return Script("socketio", "forged", steps, session_mode=mode)

    def engineio_garbage(self) -> Script:
        """Garbage engine.io packets over HTTP polling (not "2probe": a legitimate upgrade probe that python-engineio
        holds open over polling)."""
        raw = self.rng.choice([b"42garbage", b'42["user_uttered",', b"4" + b"x" * 70000, b"\xff\xfe\x00",
                               b'42["session_request",{"session_id":"\\udfff"}]', b"", b"9",
                               b'42["user_uttered",{"message":"hi"}]'])
        return Script("socketio", "engineio", [Step("socketio", "malformed:engineio_packet", EITHER, raw=raw)],
                      session_mode="engineio")

    # -- the whole plan --

    def plan(self, total: int, mix: dict[str, float]) -> list[Script]:
        """Scripts whose steps add up to exactly `total`, in a shuffled order (channels interleaved)."""
        weights = {c: mix.get(c, 0.0) for c in CHANNELS}
        if sum(weights.values()) <= 0:
            raise ValueError("the channel mix is empty")
        scale = total / sum(weights.values())
        budget = {c: round(w * scale) for c, w in weights.items()}
        biggest = max(budget, key=lambda c: weights[c])
        budget[biggest] += total - sum(budget.values())
        scripts: list[Script] = []
        webhook_senders: list[str] = []
        for channel in CHANNELS:
            left = budget[channel]
            while left > 0:
                script = self._one(channel, left, webhook_senders)
                script.steps = script.steps[:left]
                left -= len(script.steps)
                if channel == "webhook" and script.kind == "conversation":
                    webhook_senders.append(script.sender or "")
                scripts.append(script)
        self.rng.shuffle(scripts)
        return scripts

    def _one(self, channel: str, left: int, webhook_senders: Sequence[str]) -> Script:
        roll = self.rng.random()
        length = min(left, self.rng.randint(1, 8))
        if channel == "rest":
            if roll < 0.62:
                return self.rest_conversation(length)
            if roll < 0.74:
                return self.rest_auth()
            if roll < 0.78:
                return self.rest_cross_channel(webhook_senders)
            return self.rest_malformed()
        if channel == "webhook":
            return self.webhook_conversation(length) if roll < 0.72 else self.webhook_malformed()
        if roll < 0.80:
            return self.socket_conversation(length)
        if roll < 0.96:
            return self.socket_forged(min(length, 2))
        return self.engineio_garbage()


def step_counts(scripts: Iterable[Script]) -> Counter[tuple[str, str]]:
    """(channel, kind family) -> steps, e.g. ("rest", "malformed")."""
    return Counter((s.channel, s.kind.split(":")[0]) for script in scripts for s in script.steps)
