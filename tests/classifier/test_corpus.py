"""The corpus the classifier learns from: labels, sizes, and no leaks across splits."""

from __future__ import annotations

import re
from collections import Counter

from services.classifier.corpus import load_split
from services.classifier.text import fold
from shared.taxonomy import CATEGORY_CODES, DISTRICT_CODES

STYLES = {"diacritics", "no_diacritics", "teencode", "formal", "transcript", "english", "short"}


def shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", fold(text.lower()))
    return {tuple(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def test_labels_are_the_contract():
    for split in ("train", "validation"):
        rows = load_split(split)
        assert rows, split
        for row in rows:
            assert row.category in CATEGORY_CODES or row.category == "not_a_report"
            assert row.district is None or row.district in DISTRICT_CODES
            assert row.style in STYLES
        assert len({r.id for r in rows}) == len(rows)


def test_every_category_has_150_training_examples():
    counts = Counter(r.category for r in load_split("train"))
    assert set(counts) == {*CATEGORY_CODES, "not_a_report"}
    assert min(counts.values()) >= 150, counts


def test_no_near_duplicates_across_splits():
    train = [shingles(r.text) for r in load_split("train")]
    index: dict[tuple[str, ...], list[int]] = {}
    for i, sh in enumerate(train):
        for gram in sh:
            index.setdefault(gram, []).append(i)
    worst = 0.0
    for row in load_split("validation"):
        mine = shingles(row.text)
        overlap = Counter(i for gram in mine for i in index.get(gram, ()))
        for i, shared in overlap.most_common(3):
            worst = max(worst, shared / len(mine | train[i]))
    assert worst < 0.5, f"a validation report shares {worst:.0%} of its word triples with train"
