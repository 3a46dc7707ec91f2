"""Out-of-scope utterances for a shop assistant, taken from CLINC150 with care.

`python -m training.clinc` writes a sample of the training pool as `out_of_scope` examples into
training_data/nlu/generated/ (git-ignored, rebuilt by `make data`): without them the shop bot's handful of
hand-written `out_of_scope` lines left the encoder confidently mapping weather or recipe questions onto shop
intents. The held-out pool stays unseen, for bench/shipped_nlu_eval.py and bench/nlu_benchmark.py.

Some CLINC150 intents are in a shop's own domain (order, order_status, card_declined, pay_bill, ...) or map to
intents the bot has (greeting, goodbye, thank_you, are_you_a_bot, yes, no...). Those are never used as
negatives. The remaining intents are split by intent (not by utterance) into a training pool and a held-out
evaluation pool, so the false-acceptance rate is measured on topics the model never saw as negatives.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections import defaultdict
from pathlib import Path

from training.rasa_yaml import write_nlu_yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CSV = PROJECT_ROOT.parent / "shared" / "data" / "clinc150" / "train.csv"
DEFAULT_OUT = PROJECT_ROOT / "training_data" / "nlu" / "generated" / "clinc_out_of_scope.yml"

# Whole CLINC domains that overlap with shop customer service (payments, cards, accounts).
SHOP_DOMAIN_INTENTS = {
    # banking
    "transfer", "transactions", "balance", "freeze_account", "pay_bill", "bill_balance", "bill_due", "interest_rate",
    "routing", "min_payment", "order_checks", "pin_change", "report_fraud", "account_blocked", "spending_history",
    # credit cards
    "credit_score", "report_lost_card", "credit_limit", "rewards_balance", "new_card", "application_status",
    "card_declined", "international_fees", "apr", "redeem_rewards", "credit_limit_change", "damaged_card",
    "replacement_card_duration", "improve_credit_score", "expiration_date",
    # home: ordering and shopping lists are the shop's business
    "order", "order_status", "shopping_list", "shopping_list_update",
    # conversational intents the bot answers itself (greet, goodbye, thanks, bot_challenge, affirm, deny...)
    "greeting", "goodbye", "thank_you", "are_you_a_bot", "what_can_i_ask_you", "yes", "no", "maybe", "cancel",
    "repeat", "who_do_you_work_for", "what_is_your_name", "user_name", "change_user_name", "change_ai_name",
    "reset_settings", "sync",
}  # fmt: skip


def load_negatives(path: Path, seed: int = 7) -> tuple[list[str], list[str], list[str], list[str]]:
    """(train_texts, test_texts, train_intents, test_intents): out-of-shop-domain CLINC utterances split by intent.

    CLINC's own `oos` utterances (random out-of-scope questions) join the training pool.
    """
    by_intent: dict[str, list[str]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["intent"] not in SHOP_DOMAIN_INTENTS:
                by_intent[row["intent"]].append(row["text"])
    intents = sorted(i for i in by_intent if i != "oos")
    random.Random(seed).shuffle(intents)
    train_intents, test_intents = sorted(intents[: len(intents) // 2]), sorted(intents[len(intents) // 2 :])
    train = [t for i in train_intents for t in by_intent[i]] + by_intent.get("oos", [])
    test = [t for i in test_intents for t in by_intent[i]]
    return train, test, train_intents, test_intents


def tuning_halves(path: Path, seed: int = 7) -> tuple[list[str], list[str]]:
    """The training-pool intents split in two for tuning: negatives from the first, unseen dev topics the second.

    The test pool must stay unread while settings are chosen, yet the setting that matters most (how much
    out-of-scope training is enough) can only be judged on topics the model never saw as negatives.
    """
    intents = sorted(load_negatives(path, seed)[2])
    random.Random(seed + 1).shuffle(intents)
    return sorted(intents[: len(intents) // 2]), sorted(intents[len(intents) // 2 :])


def dev_topics(path: Path, limit: int = 500, seed: int = 7) -> list[str]:
    """Utterances of the second tuning half: off-shop topics a `--tuning` model never saw (never the test pool)."""
    held = set(tuning_halves(path, seed)[1])
    with path.open(newline="", encoding="utf-8") as handle:
        texts = [" ".join(row["text"].split()) for row in csv.DictReader(handle) if row["intent"] in held]
    return random.Random(seed).sample(texts, min(limit, len(texts)))


def training_sample(
    path: Path, per_intent: int = 4, oos: int = 60, seed: int = 7, intents: set[str] | None = None
) -> list[str]:
    """A few utterances of every training-pool intent (or of `intents`) plus some of CLINC's own `oos`: varied,
    and small enough not to swamp the shop intents (the encoder samples per intent per epoch anyway)."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    train_intents = intents if intents is not None else set(load_negatives(path, seed)[2])
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["intent"] in train_intents or row["intent"] == "oos":
                by_intent[row["intent"]].append(" ".join(row["text"].split()))
    rng = random.Random(seed)
    sample = [t for i in sorted(by_intent) for t in rng.sample(by_intent[i], min(len(by_intent[i]),
                                                                          oos if i == "oos" else per_intent))]
    return [t for t in dict.fromkeys(sample) if not set("[]{}") & set(t)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.clinc", description=__doc__.split("\n")[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--per-intent", type=int, default=4)
    parser.add_argument(
        "--tuning",
        action="store_true",
        help="negatives from half of the training-pool topics only, as many examples (bench/shipped_nlu_eval.py "
        "--sets dev measures the other half); write them into a copy of training_data, never the shipped one",
    )
    args = parser.parse_args(argv)
    if not args.csv.is_file():
        parser.error(f"CLINC150 CSV not found at {args.csv}")
    if args.tuning and args.out.resolve() == DEFAULT_OUT.resolve():
        parser.error("--tuning needs --out pointing into a copy of training_data")
    if args.tuning:
        examples = training_sample(args.csv, 2 * args.per_intent, intents=set(tuning_halves(args.csv)[0]))
    else:
        examples = training_sample(args.csv, args.per_intent)
    write_nlu_yaml(args.out, {"out_of_scope": examples},
                   header="Generated by training/clinc.py from CLINC150 (CC BY 3.0). Do not edit; run `make data`.")
    print(f"wrote {len(examples)} out_of_scope examples to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
