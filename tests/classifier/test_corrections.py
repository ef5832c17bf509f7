"""A handler's re-routing becomes a labelled example that `train --with-corrections` uses."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from services.classifier.corrections import CORRECTIONS, load_corrections
from shared.events import TicketCorrectedV1, encode_event
from shared.kafka import make_producer
from shared.topics import TICKETS_CORRECTIONS
from tests.classifier.conftest import new_worker
from tests.helpers import running, wait_until

REPO = Path(__file__).resolve().parents[2]


def test_correction_events_are_stored_and_trained_on(settings, env, db, classifier, tmp_path):
    event = TicketCorrectedV1(
        event_id=uuid.uuid4().hex, occurred_at=datetime.now(UTC), report_id=uuid.uuid4().hex,
        text="Nắp cống trước nhà bị vỡ, xe máy sụp bánh liên tục", old_category="traffic",
        new_category="flooding", district=None, urgent=True)
    producer = make_producer(settings)
    with running(new_worker(settings, classifier, db).run):
        for _ in range(2):  # a replayed event changes nothing
            producer.send(TICKETS_CORRECTIONS, value=encode_event(event))
        producer.flush()
        wait_until(lambda: db[CORRECTIONS].count_documents({}) > 0, 30, 0.2)
    producer.close()
    examples = load_corrections(db=db)
    assert [(e.category, e.text, e.urgent) for e in examples] == [
        ("flooding", event.text, True)]

    model = tmp_path / "model.joblib"
    done = subprocess.run(
        # two folds: what is tested is that the corrections are trained on, not the thresholds
        [sys.executable, "-m", "services.classifier", "train", "--with-corrections",
         "--folds", "2"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**os.environ, **env, "CLASSIFIER_MODEL": str(model)})
    assert done.returncode == 0, done.stderr
    assert "adding 1 corrections" in done.stdout
    assert model.exists() and (tmp_path / "metrics.json").exists()
    assert (tmp_path / "confusion.png").stat().st_size > 10_000
