"""Issue 15, auto-route threshold: chosen on out-of-fold predictions of the training reports,
it holds the precision it was chosen for, ties are routed together, and the model never routes
a report whose score is under it."""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.classifier.corpus import load_split
from services.classifier.model import NOT_A_REPORT, second_opinion
from services.classifier.train import FOLDS, choose_threshold, fold_of, model_version

scores_and_truth = st.integers(1, 60).flatmap(lambda n: st.tuples(
    st.lists(st.sampled_from([-1.0, 0.0, 0.2, 0.5, 0.5, 0.7, 0.9, 1.0])
             | st.floats(0, 1), min_size=n, max_size=n),
    st.lists(st.booleans(), min_size=n, max_size=n)))


@given(scores_and_truth, st.sampled_from([0.5, 0.9, 0.98]))
def test_the_chosen_threshold_holds_its_precision_and_is_the_lowest_that_does(data, precision):
    scores, truth = np.array(data[0]), np.array(data[1])
    threshold = choose_threshold(scores, truth, precision)
    routed = scores >= threshold
    if routed.any():  # every report at the threshold's value is routed with it
        assert truth[routed].mean() >= precision
    for lower in set(scores[scores < threshold]):
        assert truth[scores >= lower].mean() < precision


def test_tied_scores_are_routed_together():
    """Two reports with the same score, one right and one wrong: a threshold cannot route the
    right one alone (before, it returned their score and routed both at precision 0.5)."""
    assert choose_threshold(np.array([0.5, 0.5]), np.array([True, False]), 0.98) > 0.5


def test_folds_cover_every_training_report_once():
    rows = load_split("train")
    folds = [fold_of(r.id) for r in rows]
    assert set(folds) == set(range(FOLDS))
    assert folds == [fold_of(r.id) for r in rows]  # the same on every run
    sizes = np.bincount(folds)
    assert sizes.min() > len(rows) / FOLDS * 0.8


TEXTS = [r.text for r in load_split("validation") if r.category != NOT_A_REPORT][::9]


@settings(max_examples=25, deadline=None)
@given(st.floats(0.0, 1.0))
def test_no_report_under_the_threshold_is_routed(classifier, threshold):
    model = copy.copy(classifier)
    model.threshold = threshold
    predictions = model.predict(TEXTS)
    matrix = model.vectorize(TEXTS)
    first = model.category_head.predict_proba(matrix)
    real = [i for i, label in enumerate(model.labels) if label != NOT_A_REPORT]
    score = second_opinion(first, model.second_opinion_proba(matrix), real, model.opinion_rule)
    for p, s in zip(predictions, score, strict=True):
        if s < threshold:
            assert p.needs_triage and p.outcome != "routed"
        elif p.triage_reason is None:
            assert p.outcome == "routed"
    low = copy.copy(model)
    low.threshold = threshold / 2
    routed_high = {i for i, p in enumerate(predictions) if not p.needs_triage}
    routed_low = {i for i, p in enumerate(low.predict(TEXTS)) if not p.needs_triage}
    assert routed_high <= routed_low  # a lower threshold only adds reports


def test_thresholds_were_chosen_out_of_fold(classifier):
    meta = classifier.metadata
    assert meta["folds"] == FOLDS and meta["tuning_n"] == meta["train_n"]
    chosen = meta["tuning_routing"][meta["opinion_rule"]]
    assert chosen["precision"] >= 0.98
    assert classifier.threshold == chosen["threshold"]


weighted_data = st.integers(1, 60).flatmap(lambda n: st.tuples(
    st.lists(st.sampled_from([0.0, 0.5, 0.7, 0.9]) | st.floats(0, 1), min_size=n, max_size=n),
    st.lists(st.booleans(), min_size=n, max_size=n),
    st.lists(st.floats(0.01, 20), min_size=n, max_size=n)))


@given(weighted_data, st.sampled_from([0.5, 0.9, 0.98]))
def test_a_weighted_threshold_holds_its_weighted_precision_and_is_the_lowest(data, precision):
    scores, truth, weights = (np.array(x) for x in data)
    threshold = choose_threshold(scores, truth, precision, weights)
    routed = scores >= threshold

    def weighted(mask: np.ndarray) -> float:
        return (weights * truth)[mask].sum() / weights[mask].sum()

    if routed.any():
        assert weighted(routed) >= precision - 1e-9
    for lower in set(scores[scores < threshold]):
        assert weighted(scores >= lower) < precision + 1e-9
    # weights of one are no weights
    assert choose_threshold(scores, truth, precision, np.ones(len(scores))) == \
        choose_threshold(scores, truth, precision)


TRAIN_SAMPLE = load_split("train")[:50]
CHOICES = {"second_opinion": "logreg", "opinion_rule": "mean", "threshold": 0.664,
           "urgent_threshold": 0.31, "folds": 5, "scikit-learn": "1.5.2"}


@settings(max_examples=60)
@given(st.sampled_from(sorted(CHOICES)), st.sampled_from([None, "min", 0.665, 0.3, 2, "x"]))
def test_a_model_that_training_chose_differently_has_another_version(key, value):
    """Two models once shared m-df4337d3b3-svm (same corpus and head, one with the second
    opinion and one without): the version names every choice training made."""
    rows = TRAIN_SAMPLE
    base = model_version(rows, head="svm", choices=CHOICES)
    assert model_version(rows, head="svm", choices=dict(CHOICES)) == base
    changed = {**CHOICES, key: value}
    assert (model_version(rows, head="svm", choices=changed) == base) == (changed == CHOICES)
    assert model_version(rows, head="logreg", choices=CHOICES) != base
    assert model_version(rows[1:], head="svm", choices=CHOICES) != base
