"""Inputs that must not crash the classifier, and leave it unsure where it should be."""

from __future__ import annotations

from shared.taxonomy import CATEGORY_CODES

ODD = {
    "emoji": "🙂🙂🙂😡😡",
    "huge": "Rác thải chất đống đầu hẻm bốc mùi. " * 1500,
    "english": "The street lights on my road have been broken for a week, please fix them.",
    "html": "<script>alert(1)</script><p>Cống <b>nghẹt</b> nước tràn vào nhà</p>",
    "mixed scripts": "Привет 你好 đường ngập nước الماء",
    "digits": "0909 123 456 45/12 p.7",
    "punctuation": "!!!???...,,,",
}


def test_odd_inputs_do_not_crash(classifier):
    predictions = classifier.predict(list(ODD.values()))
    assert len(predictions) == len(ODD)
    for p in predictions:
        assert p.category in CATEGORY_CODES
        assert 0.0 <= p.confidence <= 1.0
    by_name = dict(zip(ODD, predictions, strict=True))
    for name in ("emoji", "digits", "punctuation"):
        assert by_name[name].needs_triage, name


def test_empty_batch(classifier):
    assert classifier.predict([]) == []
