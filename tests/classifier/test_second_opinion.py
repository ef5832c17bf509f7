"""Issue 15, auto-route coverage: a second model's opinion gates routing without a human, and a
worker told to stop while it starts stops cleanly."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from services.classifier.corpus import load_split
from services.classifier.model import NOT_A_REPORT, OPINION_RULES, second_opinion
from shared.settings import REPO_ROOT


def rows_of_probabilities(n_rows: int, n_labels: int):
    return arrays(np.float64, (n_rows, n_labels),
                  elements=st.floats(0.001, 1.0)).map(lambda a: a / a.sum(axis=1, keepdims=True))


@given(st.data())
def test_second_opinion_never_raises_the_score_and_zeroes_disagreement(data):
    n_rows, n_labels = data.draw(st.integers(1, 8)), data.draw(st.integers(2, 6))
    first = data.draw(rows_of_probabilities(n_rows, n_labels))
    second = data.draw(rows_of_probabilities(n_rows, n_labels))
    columns = sorted(data.draw(st.sets(st.integers(0, n_labels - 1), min_size=1)))
    alone = second_opinion(first, None, columns)
    both = second_opinion(first, second, columns)
    best = np.asarray(columns)[first[:, columns].argmax(axis=1)]
    theirs = np.asarray(columns)[second[:, columns].argmax(axis=1)]
    rows = np.arange(n_rows)
    assert np.allclose(alone, first[rows, best])
    assert np.all(both <= alone + 1e-12)
    assert np.all(both <= second[rows, best] + 1e-12)
    assert np.all(both[theirs != best] == 0.0)
    agree = theirs == best
    assert np.allclose(both[agree], np.minimum(first, second)[rows, best][agree])


@given(st.data())
def test_mean_rule_lies_between_the_two_heads_and_zeroes_disagreement(data):
    n_rows, n_labels = data.draw(st.integers(1, 8)), data.draw(st.integers(2, 6))
    first = data.draw(rows_of_probabilities(n_rows, n_labels))
    second = data.draw(rows_of_probabilities(n_rows, n_labels))
    columns = sorted(data.draw(st.sets(st.integers(0, n_labels - 1), min_size=1)))
    lower = second_opinion(first, second, columns, "min")
    mean = second_opinion(first, second, columns, "mean")
    best = np.asarray(columns)[first[:, columns].argmax(axis=1)]
    theirs = np.asarray(columns)[second[:, columns].argmax(axis=1)]
    rows = np.arange(n_rows)
    higher = np.maximum(first, second)[rows, best]
    assert np.all(mean >= lower - 1e-12)
    assert np.all(mean[theirs == best] <= higher[theirs == best] + 1e-12)
    assert np.all(mean[theirs != best] == 0.0)


def test_routed_reports_have_both_models_agreeing(classifier):
    """The shipped model always has the second opinion, under the rule that routes most out
    of fold at the promised precision; every report it routes, both models put in the same
    category."""
    assert classifier.second_head is not None, classifier.metadata.get("tuning_routing")
    tuning = classifier.metadata["tuning_routing"]
    rule = classifier.opinion_rule
    assert rule in OPINION_RULES
    assert tuning[rule]["coverage"] == max(tuning[name]["coverage"] for name in OPINION_RULES)
    assert classifier.threshold == tuning[rule]["threshold"]
    rows = [r for r in load_split("validation") if r.category != NOT_A_REPORT][:400]
    texts = [r.text for r in rows]
    predictions = classifier.predict(texts)
    second = classifier.second_head.predict(classifier.vectorize(texts))
    routed = [i for i, p in enumerate(predictions) if not p.needs_triage]
    assert len(routed) > len(rows) / 2
    assert all(second[i] == predictions[i].category for i in routed)
    disagree = [i for i, p in enumerate(predictions) if second[i] != p.category
                and second[i] != NOT_A_REPORT and p.triage_reason == "low_confidence"]
    assert all(predictions[i].needs_triage for i in disagree)


def test_a_model_saved_before_the_second_opinion_still_predicts(classifier):
    old = copy.copy(classifier)
    del old.__dict__["second_head"]  # as unpickled from a registry entry of last session
    text = "Karaoke hát tới 2 giờ sáng ở hẻm 45 Âu Cơ, Tân Bình"
    p, q = old.predict([text])[0], classifier.predict([text])[0]
    assert p.category == q.category == "noise"
    assert p.confidence == q.confidence


def test_worker_stopped_while_starting_exits_cleanly(env, model_path):
    """SIGTERM while the worker still imports and loads the model: it stops at once and says
    so with status 0 (before, the default action killed it: status -15)."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "services.classifier", "worker"], cwd=REPO_ROOT,
        env={**os.environ, **env, "CLASSIFIER_MODEL": str(model_path), "LOG_LEVEL": "WARNING"})
    try:
        time.sleep(1.0)  # the interpreter is up; scikit-learn and the model are still loading
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(120) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
