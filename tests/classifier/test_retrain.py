"""`retrain` refuses a worse candidate, promotes a better one, and running processes take the
promoted model without a restart (real embedded store and broker)."""

from __future__ import annotations

import dataclasses
import random
import uuid
from datetime import UTC, datetime

from services.classifier import registry
from services.classifier.app import create_app
from services.classifier.corpus import load_split
from services.classifier.corrections import store_correction
from services.classifier.retrain import guarded_sets, regressions, retrain
from shared.events import ReportSubmittedV1, TicketCorrectedV1, encode_event
from shared.kafka import make_producer
from shared.settings import DEV_MODEL_SIGNING_KEY
from shared.topics import REPORTS_CLASSIFIED, REPORTS_SUBMITTED
from tests.classifier.conftest import new_worker
from tests.helpers import collect, running, wait_until

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
# The promotion and refusal tests check the decision, not the thresholds: two folds fit each
# head twice instead of five times. The CLI test below runs the CronJob's real 5-fold path.
FAST_FOLDS = 2

# A confusion of the shipped model: English reports about a "light pole" or a "lamppost"
# land in traffic (issue 15's own example, "the street light in front of my house...", went to
# commerce, then to traffic; the fourth session's English slices made it trees_lighting, so
# the probe moved to a wording the model still gets wrong). Written here as handlers'
# corrections, not copied from any evaluation set.
FIXES = [
    "the light pole at the end of our alley does not turn on at night anymore",
    "light pole near the bus stop has been off for a week, the bulb must be dead",
    "the lamppost by the bus stop on le van sy is out, passengers wait in the dark",
    "two light poles on our road no longer turn on, please replace the bulbs",
    "the bulb on the pole in front of the market is out again",
    "please fix the lamppost outside number 40, it has not lit up since last month",
]
PROBE = "light pole at the alley mouth does not turn on anymore"


def correction(text: str, category: str, old: str = "land_housing",
               urgent: bool = False) -> TicketCorrectedV1:
    return TicketCorrectedV1(event_id=uuid.uuid4().hex, occurred_at=NOW,
                             report_id=uuid.uuid4().hex, text=text, old_category=old,
                             new_category=category, urgent=urgent)


def submitted(text: str) -> ReportSubmittedV1:
    rid = uuid.uuid4().hex[:24]
    return ReportSubmittedV1(event_id=f"{rid}:submitted", occurred_at=NOW, report_id=rid,
                             tracking_code=f"HCM-2026-{rid[:6]}", channel="web",
                             description=text, submitted_at=NOW)


def test_guarded_sets_hold_validation_golden_and_any_heldout_slice(tmp_path):
    sets = guarded_sets()
    assert {"validation", "golden"} <= set(sets) and not {"train", "independent"} & set(sets)
    for name in ("train", "validation", "urgent_heldout", "independent"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.jsonl").write_text(
            '{"id": "1", "text": "x", "category": "noise"}\n')
    assert set(guarded_sets(tmp_path)) == {"validation", "urgent_heldout"}


def test_regressions_flag_each_worse_figure_beyond_tolerance():
    base = {"v": {"accuracy": 0.95, "macro_f1": 0.94, "urgent_recall": 0.9,
                  "auto_route_precision": 0.98, "urgent_n": 100, "auto_n": 900, "n": 1000}}
    same = {"v": dict(base["v"], accuracy=0.948, urgent_recall=0.88)}  # within the noise
    assert regressions(same, base) == []
    assert regressions({"v": dict(base["v"], accuracy=0.944)}, base) == [
        "v.accuracy: 0.9500 -> 0.9440"]
    golden = {"golden": dict(base["v"], n=34)}
    assert regressions({"golden": dict(golden["golden"], accuracy=0.95 - 1 / 34)}, golden)
    worse = {"v": dict(base["v"], urgent_recall=0.8, auto_route_precision=None)}
    assert [w.split(":")[0] for w in regressions(worse, base)] == [
        "v.urgent_recall", "v.auto_route_precision"]
    no_urgent = {"v": dict(base["v"], urgent_n=0)}
    assert regressions({"v": dict(no_urgent["v"], urgent_recall=0.0)}, no_urgent) == []


def test_corrupted_corrections_are_refused(db, classifier):
    rows = load_split("train")
    labels = sorted({r.category for r in rows})
    shuffled = random.Random(15).sample(rows, 900)
    for row in shuffled:  # a handler's mass re-routing into the wrong departments
        wrong = labels[(labels.index(row.category) + 1) % len(labels)]
        store_correction(db=db, event=correction(row.text, wrong, old=row.category))

    decision = retrain(db=db, baseline=classifier, now=NOW, key=DEV_MODEL_SIGNING_KEY,
                       folds=FAST_FOLDS)

    assert decision.outcome == "refused" and decision.corrections_n == 900
    assert any(r.startswith("validation.accuracy") for r in decision.regressions)
    assert registry.current_version(db=db) is None  # nothing promoted
    recorded = db[registry.DECISIONS].find_one({"candidate_version": decision.candidate_version})
    assert recorded["outcome"] == "refused" and recorded["regressions"] == decision.regressions
    assert recorded["folds"] == FAST_FOLDS


def test_better_candidate_is_promoted_and_running_worker_and_api_use_it(settings, db,
                                                                        classifier):
    fast = dataclasses.replace(settings, classifier_model_check_seconds=0.2)
    api = create_app(fast, classifier=classifier).test_client()
    probe = PROBE
    before = api.post("/api/v1/classify", json={"text": probe}).get_json()
    assert before["model_version"] == classifier.version

    producer = make_producer(settings)
    first, second = submitted(probe), submitted(probe)
    with running(new_worker(fast, classifier, db).run):
        producer.send(REPORTS_SUBMITTED, key=first.report_id.encode(), value=encode_event(first))
        producer.flush()
        old = collect(settings.kafka_bootstrap, REPORTS_CLASSIFIED, until={first.report_id})
        assert old[0]["model_version"] == classifier.version

        for text in FIXES:
            store_correction(db=db, event=correction(text, "trees_lighting", old="traffic"))
        decision = retrain(db=db, baseline=classifier, now=NOW, key=DEV_MODEL_SIGNING_KEY,
                           folds=FAST_FOLDS)
        assert decision.outcome == "promoted", decision.regressions
        assert decision.candidate_version != classifier.version

        producer.send(REPORTS_SUBMITTED, key=second.report_id.encode(),
                      value=encode_event(second))
        producer.flush()
        new = collect(settings.kafka_bootstrap, REPORTS_CLASSIFIED, until={second.report_id})
    producer.close()
    assert new[0]["model_version"] == decision.candidate_version  # no restart

    def answer() -> dict:
        return api.post("/api/v1/classify", json={"text": probe}).get_json()

    # the API looks in the background and answers with the model it has meanwhile
    assert wait_until(lambda: answer()["model_version"] == decision.candidate_version, 30)
    after = answer()
    assert before["category"] != "trees_lighting" and after["category"] == "trees_lighting"
    assert new[0]["category"] == "trees_lighting"
    assert registry.current_version(db=db)["version"] == decision.candidate_version

    metrics = api.get("/metrics").get_data(as_text=True)
    assert 'classifier_retrain_decisions{outcome="promoted"} 1.0' in metrics
    assert f'classifier_promoted_model_info{{version="{decision.candidate_version}"}} 1.0' \
        in metrics



GOLDEN_V1_SHA256 = "31573fb0faa82b3ea84644e6bbf50a814483c47c47fd2be63f8ccdde8bce0df0"


def test_golden_set_is_frozen_labelled_and_not_in_training():
    import hashlib
    from pathlib import Path

    from services.classifier.corpus import CORPUS_DIR
    from shared.taxonomy import CATEGORY_CODES, DISTRICT_CODES
    from tests.classifier.test_corpus import STYLES, shingles

    path = Path(CORPUS_DIR) / "golden" / "golden.v1.jsonl"
    # a version is never edited: a new golden set is a new file (golden.v2.jsonl)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == GOLDEN_V1_SHA256
    golden = load_split("golden")
    assert {r.category for r in golden} == set(CATEGORY_CODES)
    assert all(r.district is None or r.district in DISTRICT_CODES for r in golden)
    assert all(r.style in STYLES for r in golden) and len({r.id for r in golden}) == len(golden)
    train = [shingles(r.text) for r in load_split("train")]
    for row in golden:
        mine = shingles(row.text)
        assert max(len(mine & t) / len(mine | t) for t in train) < 0.5, row.id


def test_cli_with_no_new_corrections_refuses_and_records(env, db, model_path):
    """What the CronJob runs: with nothing new the candidate is the model in service."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run(
        [sys.executable, "-m", "services.classifier", "retrain"],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=300,
        env={**os.environ, **env, "CLASSIFIER_MODEL": str(model_path)})
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["outcome"] == "refused" and summary["corrections"] == 0
    assert summary["regressions"] == ["candidate is the model in service"]
    assert db[registry.DECISIONS].count_documents({"outcome": "refused"}) == 1
    assert db[registry.DECISIONS].find_one({})["folds"] == 5  # the real path, not the tests'
    assert registry.current_version(db=db) is None


def test_model_holder_looks_at_most_once_per_interval_and_survives_a_missing_store(classifier):
    opened = []

    def store():
        opened.append(1)
        raise ConnectionError("store away")

    now = [0.0]
    holder = registry.ModelHolder(db=store, fallback=classifier, key=DEV_MODEL_SIGNING_KEY,
                                  interval=30,
                                  monotonic=lambda: now[0])
    assert holder.current() is classifier and len(opened) == 1
    now[0] = 29.0
    assert holder.current() is classifier and len(opened) == 1
    now[0] = 30.0
    assert holder.current() is classifier and len(opened) == 2
