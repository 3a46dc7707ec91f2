"""Word-piece <-> character alignment, phrasing groups, typo augmentation and calibration (no training)."""

from __future__ import annotations

import random

import pytest
import torch

from bot.nlu.alignment import OUTSIDE, TokenTag, bio_labels, decode_entities, mask_digits, merge_windows, tag_names_for
from bot.nlu.augment import add_typos
from bot.nlu.calibration import fit_temperature
from bot.nlu.inference import JointPredictor
from bot.nlu.model import default_encoder_path, load_tokenizer
from bot.nlu.phrasing import phrasing_key, split_by_phrasing

TAGS = tag_names_for(["order_id", "city"])
TAG_INDEX = {name: i for i, name in enumerate(TAGS)}


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(default_encoder_path())


def entity(text: str, value: str, entity_type: str = "order_id") -> dict:
    start = text.index(value)
    return {"entity": entity_type, "start": start, "end": start + len(value), "value": value}


def round_trip(tokenizer, text: str, entities: list[dict]) -> list[dict]:
    """Label word pieces from gold spans, then decode the labels back to character spans."""
    offsets = [tuple(o) for o in tokenizer(text, return_offsets_mapping=True)["offset_mapping"]]
    labels = bio_labels(offsets, entities, TAG_INDEX)
    tokens = [TokenTag(s, e, TAGS[label], 0.9) for (s, e), label in zip(offsets, labels, strict=True) if label >= 0]
    return decode_entities(text, tokens)


@pytest.mark.parametrize(
    ("text", "value", "entity_type"),
    [
        ("where is order #12345, please?", "12345", "order_id"),  # punctuation around, '##45' continuation piece
        ("Café 😀 order 4455 ✓ merci", "4455", "order_id"),  # emoji -> [UNK], accents stripped by the tokenizer
        ("ship it to Zürich!!!", "Zürich", "city"),  # non-ASCII entity value, punctuation right after
        ("deliver to São Paulo 🙏🙏", "São Paulo", "city"),  # multi-word entity before emoji
        ("ORDER ABC-991-X is late", "ABC-991-X", "order_id"),  # hyphenated id split into many pieces
    ],
)
def test_entity_spans_survive_word_piece_round_trip(tokenizer, text, value, entity_type):
    gold = entity(text, value, entity_type)
    decoded = round_trip(tokenizer, text, [gold])
    assert [(e["entity"], e["start"], e["end"], e["value"]) for e in decoded] == [
        (entity_type, gold["start"], gold["end"], value)
    ]


def test_first_piece_is_b_rest_are_i_and_specials_ignored(tokenizer):
    text = "order #12345?"
    encoded = tokenizer(text, return_offsets_mapping=True)
    labels = bio_labels([tuple(o) for o in encoded["offset_mapping"]], [entity(text, "12345")], TAG_INDEX)
    pieces = tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    named = dict(zip(pieces, [TAGS[x] if x >= 0 else None for x in labels], strict=True))
    assert named["[CLS]"] is None and named["[SEP]"] is None
    assert named["#"] == OUTSIDE and named["?"] == OUTSIDE
    assert named["123"] == "B-order_id" and named["##45"] == "I-order_id"


def test_mis_tagged_trailing_word_piece_is_absorbed():
    text = "order 12345 now"
    tokens = [TokenTag(0, 5, "O", 0.9), TokenTag(6, 9, "B-order_id", 0.9), TokenTag(9, 11, "O", 0.6)]
    assert decode_entities(text, tokens)[0]["value"] == "12345"


def test_id_glued_to_a_word_is_not_expanded_into_the_word(tokenizer):
    text = "want help seeing order113542617735902 current status"
    gold = entity(text, "113542617735902")
    assert [(e["start"], e["end"]) for e in round_trip(tokenizer, text, [gold])] == [(gold["start"], gold["end"])]
    tokens = [TokenTag(17, 22, "O", 0.9), TokenTag(22, 24, "B-order_id", 0.9), TokenTag(24, 37, "O", 0.5)]
    assert decode_entities(text, tokens)[0]["value"] == "113542617735902"


def test_stray_inside_tag_starts_an_entity_and_types_do_not_merge():
    text = "a b c"
    tokens = [TokenTag(0, 1, "I-city", 0.8), TokenTag(2, 3, "I-order_id", 0.6), TokenTag(4, 5, "O", 0.9)]
    decoded = decode_entities(text, tokens)
    assert [(e["entity"], e["value"]) for e in decoded] == [("city", "a"), ("order_id", "b")]
    assert decoded[0]["confidence_entity"] == pytest.approx(0.8)


def test_text_longer_than_max_length_is_windowed_and_entity_at_the_end_is_found(tokenizer):
    text = "hello " * 300 + "my order 98765 is late"
    gold = entity(text, "98765")
    predictor = JointPredictor(torch.nn.Identity(), tokenizer, TAGS, 1.0, 32, torch.device("cpu"))
    windows, owners = predictor._windows([text])
    assert len(windows["input_ids"]) > 1 and set(owners) == {0}
    assert all(len(ids) <= 32 for ids in windows["input_ids"])
    per_window = []
    for offsets in windows["offset_mapping"]:
        offsets = [tuple(o) for o in offsets]
        labels = bio_labels(offsets, [gold], TAG_INDEX)
        per_window.append([TokenTag(s, e, TAGS[x], 0.9) for (s, e), x in zip(offsets, labels, strict=True) if x >= 0])
    decoded = decode_entities(text, merge_windows(per_window))
    assert [(e["start"], e["end"]) for e in decoded] == [(gold["start"], gold["end"])]


def test_window_count_is_capped_for_huge_inputs(tokenizer):
    predictor = JointPredictor(torch.nn.Identity(), tokenizer, TAGS, 1.0, 16, torch.device("cpu"), max_windows=5)
    _, owners = predictor._windows(["word " * 5000, "short"])
    assert owners.count(0) == 5 and owners.count(1) == 1


def test_phrasing_key_ignores_entity_values_numbers_and_case():
    a = "Where is order 123?"
    b = "where is ORDER 99981"
    assert phrasing_key(a, [entity(a, "123")]) == phrasing_key(b, [entity(b, "99981")])
    assert phrasing_key("cancel purchase 12") == phrasing_key("Cancel purchase 7")
    assert phrasing_key("cancel purchase 12") != phrasing_key("cancel order 12")


def test_split_by_phrasing_keeps_groups_on_one_side_and_every_label_in_training():
    keys = [f"k{i // 3}" for i in range(60)]  # 20 groups of 3 identical phrasings
    labels = ["a" if i < 30 else "b" for i in range(60)] + []
    train, held = split_by_phrasing(keys, labels, 0.3, seed=1)
    assert {keys[i] for i in train}.isdisjoint({keys[i] for i in held})
    assert {labels[i] for i in train} == {"a", "b"} and held
    single_train, single_held = split_by_phrasing(["x", "x"], ["only", "only"], 0.5, seed=1)
    assert single_held == [] and single_train == [0, 1]


def test_typos_keep_entity_values_exact():
    rng = random.Random(3)
    text = "please cancel my order 12345 immediately because reasons"
    gold = [entity(text, "12345")]
    for _ in range(50):
        noisy, moved = add_typos(text, gold, rng)
        assert noisy[moved[0]["start"] : moved[0]["end"]] == "12345"


def test_masked_digits_keep_length_and_letters_so_offsets_still_fit():
    text = "where is order C581142, invoice INV-581142? £20"
    masked = mask_digits(text)
    assert masked == "where is order C000000, invoice INV-000000? £00"
    assert mask_digits("where is order 900003") == mask_digits("where is order 536365")
    assert mask_digits("٣ no ascii digits") == "٣ no ascii digits"


def test_temperature_scaling_softens_overconfident_logits():
    torch.manual_seed(0)
    labels = torch.randint(0, 4, (400,))
    logits = torch.randn(400, 4)
    logits[torch.arange(400), labels] += 1.0
    overconfident = logits * 10
    temperature = fit_temperature(overconfident, labels)
    assert temperature > 3
    nll = torch.nn.functional.cross_entropy
    assert nll(overconfident / temperature, labels) < nll(overconfident, labels)
    assert fit_temperature(torch.empty(0, 3), torch.empty(0, dtype=torch.long)) == 1.0
