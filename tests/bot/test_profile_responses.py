"""domain.yml's responses say the shop's facts only through {placeholders} the shop profile fills.

Rasa's own NLG (TemplatedNaturalLanguageGenerator, on the real domain.yml) renders the responses the way the
server does: from the slots action_session_start sets (rules' responses) and from the values an action
passes with the response (policy fallbacks). A changed shop.yml changes the words; no retraining is involved.
"""

from __future__ import annotations

import asyncio
import copy
import re
from pathlib import Path

import yaml
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from shop_profile import load_profile
from shop_profile.wording import response_values, session_values

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain.yml"))
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def berlin(tmp_path: Path) -> Path:
    """The demo profile with another shop's name, tone, money and return window (Rasa side: no test helpers)."""
    data = yaml.safe_load((ROOT / "shop.yml").read_text())
    changed = copy.deepcopy(data)
    changed["shop"]["name"] = "Kiezladen Berlin"
    changed["assistant"] = {"name": "Lotte", "tone": "formal"}
    changed["money"].update(currency="EUR", currency_name="euros", payment_methods=["Visa", "Klarna"])
    changed["returns"]["window_days"] = 14
    path = tmp_path / "shop.yml"
    path.write_text(yaml.safe_dump(changed, allow_unicode=True))
    return path


def render(name: str, slots: dict[str, str], **values: str) -> str:
    tracker = DialogueStateTracker.from_events("profile-test", [SlotSet(k, v) for k, v in slots.items()],
                                               slots=DOMAIN.slots)
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    return asyncio.run(nlg.generate(name, tracker, "rest", **values))["text"]


def test_every_placeholder_is_a_profile_value_or_a_slot() -> None:
    values = response_values(load_profile(ROOT / "shop.yml"))
    session = session_values(load_profile(ROOT / "shop.yml"))
    assert set(session) <= {s.name for s in DOMAIN.slots}  # set by action_session_start
    for name, variants in DOMAIN.responses.items():
        for variant in variants:
            for placeholder in PLACEHOLDER.findall(variant.get("text") or ""):
                assert placeholder in values or placeholder in {s.name for s in DOMAIN.slots}, (name, placeholder)


def test_rules_responses_name_the_shop_from_the_session_slots(tmp_path: Path) -> None:
    slots = session_values(load_profile(berlin(tmp_path)))
    greeting = render("utter_greet", slots)
    assert greeting.startswith("Hello. I am Lotte, the Kiezladen Berlin assistant.")  # a formal shop
    assert render("utter_goodbye", slots) == "Thank you for shopping with Kiezladen Berlin. Goodbye."
    assert render("utter_iamabot", slots).startswith("I am Lotte, a virtual assistant")


TONED = ("utter_greet", "utter_goodbye", "utter_default", "utter_iamabot", "utter_stopped", "utter_complaint",
         "utter_you_are_welcome")


def test_the_profiles_tone_picks_the_formal_or_friendly_variant(tmp_path: Path) -> None:
    formal = session_values(load_profile(berlin(tmp_path)))
    friendly = session_values(load_profile(ROOT / "shop.yml"))
    assert formal["tone"] == "formal" and friendly["tone"] == "friendly"
    assert render("utter_default", formal).startswith("I apologise, I did not understand that.")
    assert render("utter_default", friendly).startswith("Sorry, I didn't quite understand that.")
    assert render("utter_greet", friendly).startswith("Hi! I'm Robin, the ShopDesk Demo Shop assistant.")
    assert render("utter_goodbye", friendly) == "Thanks for shopping with ShopDesk Demo Shop. Bye for now!"
    for name in TONED:
        said = {render(name, formal), render(name, friendly)}
        assert len(said) == 2, name  # each has a formal variant
        assert render(name, {k: v for k, v in friendly.items() if k != "tone"}) == render(name, friendly), name


def test_policy_fallbacks_take_the_profiles_facts(tmp_path: Path) -> None:
    values = response_values(load_profile(berlin(tmp_path)))
    refund = render("utter_check_refund_policy", {}, **values)
    assert "within 14 days of delivery" in refund and "3 to 5 business days" in refund
    assert render("utter_check_payment_methods", {}, **values) == (
        "We accept Visa and Klarna. All prices and payments are in euros (EUR).")
    for name in DOMAIN.responses:
        text = render(name, values, **values)
        assert not PLACEHOLDER.search(text), (name, text)
