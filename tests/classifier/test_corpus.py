"""The corpus the classifier learns from: labels, sizes, and no leaks across splits."""

from __future__ import annotations

import re
from collections import Counter

import pytest

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
    assert min(counts[c] for c in CATEGORY_CODES) >= 150, counts
    assert counts["not_a_report"] >= 100, counts


def test_no_near_duplicates_across_splits():
    train = [shingles(r.text) for r in load_split("train")]
    index: dict[tuple[str, ...], list[int]] = {}
    for i, sh in enumerate(train):
        for gram in sh:
            index.setdefault(gram, []).append(i)
    worst = 0.0
    for row in load_split("validation"):
        mine = shingles(row.text)
        if mine == {()}:
            continue  # no words at all (emoji only): nothing to leak
        overlap = Counter(i for gram in mine for i in index.get(gram, ()))
        for i, shared in overlap.most_common(3):
            worst = max(worst, shared / len(mine | train[i]))
    assert worst < 0.5, f"a validation report shares {worst:.0%} of its word triples with train"


@pytest.mark.parametrize("directory", ["heldout", "independent"])
def test_heldout_slices_are_independent(directory):
    """The held-out slices (issue 15) are read by nothing that trains or tunes: their writers
    wrote nothing in train/ or validation/ (nor, for independent/, in heldout/), and no report
    is a near copy of a training one."""
    import json

    from services.classifier.corpus import CORPUS_DIR
    from services.classifier.heldout import load_heldout

    def writers(split: str) -> set[str]:
        return {json.loads(line).get("writer") for path in (CORPUS_DIR / split).glob("*.jsonl")
                for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}

    slices = load_heldout(CORPUS_DIR / directory)
    assert {"urgent", "ordinary", "out_of_scope", "english"} <= set(slices)
    assert sum(e.urgent for e in slices["urgent"]) >= 40
    assert all(e.category == "not_a_report" for e in slices["out_of_scope"])
    held = writers(directory) - {None}
    others = {"train", "validation", "heldout", "independent"} - {directory}
    assert held and not held & set().union(*(writers(split) for split in others))
    train = [shingles(r.text) for r in load_split("train")]
    for rows in slices.values():
        for row in rows:
            mine = shingles(row.text)
            if len(mine) < 4:
                continue  # "test test 123" is everywhere by nature
            worst = max(len(mine & t) / len(mine | t) for t in train)
            assert worst < 0.5, row.id
