"""Which of the shop's documents answer each policy intent: the one place that maps intents to pages.

The NLU intent says what a question is about ("payments"); the customer's own words say what exactly they
asked ("cash on delivery?"). So the intent picks a topic, the passages of its pages get a bounded boost in
retrieval (knowledge.answers), and retrieval with the customer's words picks the passage. A topic boosts,
it does not restrict: a question the NLU filed under the wrong intent can still be answered from another
page when that page matches clearly better.

A source is a document's file name ("returns-refunds.md"), optionally narrowed to sections with "#": a
heading ("accounts.md#Deleting your account") or, for FAQ files, an FAQ id ("faq.csv#refund-time").
`fallback` is the intent's own response in domain.yml, sent when the documents have nothing relevant;
`question` is what to look up when the message has no words (a button payload such as /delivery_options).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from knowledge.retrieval import Passage


@dataclass(frozen=True)
class Topic:
    name: str
    question: str
    sources: tuple[str, ...]
    fallback: str | None = None

    def covers(self, passage: Passage) -> bool:
        """Is the passage on one of this topic's pages (or sections)?"""
        file_name = PurePosixPath(passage.source.replace("\\", "/")).name
        for source in self.sources:
            name, _, section = source.partition("#")
            if name != file_name:
                continue
            if not section or section in (passage.faq_id, passage.heading_path) or (
                passage.heading_path.startswith(f"{section} > ")
            ):
                return True
        return False


_CANCEL = ("cancellations.md", "faq.csv#cancel-shipped", "faq.csv#refund-time")
_PAY = ("payments.md", "gift-cards.md#Using a gift card", "faq.csv#paypal", "faq.csv#currency")
_RETURNS = (
    "returns-refunds.md", "warranty.md", "faq.csv#refund-time", "faq.csv#gift-receipt", "faq.csv#personalised",
    "faq.csv#return-abroad", "faq.csv#warranty-length", "faq.csv#cancel-shipped",
)
_ACCOUNT = ("accounts.md",)
_DELIVERY = (
    "shipping-delivery.md", "faq.csv#ship-norway", "faq.csv#dispatch-time", "faq.csv#free-delivery",
    "faq.csv#saturday", "faq.csv#highlands", "faq.csv#shop-visit",
)

TOPICS: dict[str, Topic] = {
    topic.name: topic
    for topic in (
        Topic("check_cancellation_fee", "Is there a fee to cancel an order?", _CANCEL, "utter_check_cancellation_fee"),
        Topic("change_order", "Can I change my order?", _CANCEL, "utter_change_order"),
        Topic("check_invoice", "Where is my invoice?", ("invoices.md", "faq.csv#invoice-number"),
              "utter_check_invoice"),
        Topic("check_payment_methods", "Which payment methods do you accept?", _PAY, "utter_check_payment_methods"),
        Topic("payment_issue", "My payment was declined", _PAY, "utter_payment_issue"),
        Topic("check_refund_policy", "What is your returns policy?", _RETURNS, "utter_check_refund_policy"),
        Topic("create_account", "How do I create an account?", _ACCOUNT, "utter_create_account"),
        Topic("delete_account", "How do I delete my account?", (*_ACCOUNT, "privacy.md"), "utter_delete_account"),
        Topic("edit_account", "How do I change my account details?", _ACCOUNT, "utter_edit_account"),
        Topic("switch_account", "How do I switch to another account?", _ACCOUNT, "utter_switch_account"),
        Topic("recover_password", "I forgot my password", _ACCOUNT, "utter_recover_password"),
        Topic("registration_problems", "I can't create an account", _ACCOUNT, "utter_registration_problems"),
        Topic("delivery_options", "What delivery options do you have?", _DELIVERY, "utter_delivery_options"),
        Topic("delivery_period", "How long does delivery take?", _DELIVERY, "utter_delivery_period"),
        Topic("newsletter_subscription", "How do I subscribe or unsubscribe from the newsletter?",
              ("ordering.md#Newsletter", "privacy.md#Marketing emails"), "utter_newsletter_subscription"),
        Topic("place_order", "How do I place an order?", ("ordering.md", "payments.md", "accounts.md"),
              "utter_place_order"),
        Topic("review", "How do I write a review?", ("ordering.md#Writing a review",), "utter_review"),
        Topic("set_up_shipping_address", "How do I save a delivery address?",
              ("accounts.md#Saved delivery addresses", "cancellations.md#Changing the delivery address",
               "shipping-delivery.md#Changing the delivery address"), "utter_set_up_shipping_address"),
        # A complaint is answered from the pages that deal with what went wrong (how to complain, damaged or
        # wrong items) when they match; otherwise with the apology and the offer of a person.
        Topic("complaint", "How do I make a complaint?",
              ("contact.md#Complaints", "warranty.md#Damaged on arrival", "warranty.md#Wrong item received"),
              "utter_complaint"),
        # Not routed to the policy action by shop_answers.yml (it hands over), but "can I call you?" and
        # opening hours are answered from the contact page when the dialogue asks for it.
        Topic("contact_customer_service", "How can I contact you?",
              ("contact.md", "faq.csv#phone", "faq.csv#weekend")),
    )
}

POLICY_INTENTS: frozenset[str] = frozenset(name for name, topic in TOPICS.items() if topic.fallback)


def topic_for(intent: str | None) -> Topic | None:
    """The topic of a policy intent, None for any other intent (then retrieval searches every page)."""
    return TOPICS.get(intent or "")
