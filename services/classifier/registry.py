"""Promoted models in the store, where every worker and every API process sees them.

A promoted model is a joblib artifact in GridFS (bucket `classifier_models`) and one document
in `classifier_model_versions` (version, metrics, promoted_at, the GridFS file id). The newest
promotion wins. Every retrain decision, promotion or refusal, is one document in
`classifier_retrain_decisions`; the classifier's HTTP service exports them at scrape time, so
a CronJob that exits after its run still shows on /metrics.

A promotion is signed: HMAC-SHA256 under MODEL_SIGNING_KEY of its version and artifact bytes,
kept in the version document. A process unpickles an artifact from the store only after the
signature checks, so write access to the store alone cannot run code in the classifier.

`ModelHolder` gives a process its current model and looks for a newer promotion at most every
`interval` seconds: workers and the API load a promoted model without a restart. When the store
holds no promotion yet, the artifact the image was built with serves.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import gridfs
import joblib
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from pymongo import DESCENDING
from pymongo.database import Database

from services.classifier.model import ReportClassifier

log = logging.getLogger(__name__)

BUCKET = "classifier_models"
VERSIONS = "classifier_model_versions"
DECISIONS = "classifier_retrain_decisions"
KEEP_VERSIONS = 10  # promotions kept in the store, the current one first, for a rollback

UNTRUSTED = Counter("classifier_untrusted_models_total",
                    "Promotions in the store refused because their signature did not check")


class UntrustedModel(Exception):
    """A model in the store whose signature does not match its bytes under our key."""


def signature(*, key: str, version: str, data: bytes) -> str:
    return hmac.new(key.encode(), version.encode() + b"\0" + data, hashlib.sha256).hexdigest()


def publish(*, db: Database, classifier: ReportClassifier, metrics: dict[str, Any],
            now: datetime, key: str) -> str:
    """Store `classifier` as the promoted model, signed with `key`; returns its version."""
    buffer = io.BytesIO()
    joblib.dump(classifier, buffer, compress=3)
    data = buffer.getvalue()
    file_id = gridfs.GridFS(db, collection=BUCKET).put(
        data, filename=f"{classifier.version}.joblib")
    db[VERSIONS].insert_one({
        "version": classifier.version, "file_id": file_id, "metrics": metrics,
        "promoted_at": now,
        "signature": signature(key=key, version=classifier.version, data=data)})
    return classifier.version


def prune(*, db: Database, keep: int = KEEP_VERSIONS) -> list[str]:
    """Delete every promotion but the newest `keep` (artifact and version document); returns
    the versions deleted. A daily retrain would otherwise add an artifact a day for good."""
    old = list(db[VERSIONS].find({}, {"version": 1, "file_id": 1},
                                 sort=[("promoted_at", DESCENDING), ("_id", DESCENDING)])
               .skip(max(1, keep)))
    bucket = gridfs.GridFS(db, collection=BUCKET)
    for entry in old:
        db[VERSIONS].delete_one({"_id": entry["_id"]})
        bucket.delete(entry["file_id"])
    return [str(entry["version"]) for entry in old]


def init_db(db: Database) -> None:
    """The classifier's indexes, run by `python -m services.classifier init-db` (make run,
    the deploy Job) and by the tests' fixtures."""
    db[VERSIONS].create_index([("promoted_at", DESCENDING)])


def current_version(*, db: Database) -> dict[str, Any] | None:
    return db[VERSIONS].find_one({}, {"metrics": 0}, sort=[("promoted_at", DESCENDING),
                                                            ("_id", DESCENDING)])


def load_version(*, db: Database, entry: dict[str, Any], key: str) -> ReportClassifier:
    """The promoted model of `entry`; raises UntrustedModel, without unpickling anything, when
    the signature is missing or does not match."""
    version = str(entry.get("version", ""))
    data = gridfs.GridFS(db, collection=BUCKET).get(entry["file_id"]).read()
    expected = signature(key=key, version=version, data=data)
    if not hmac.compare_digest(str(entry.get("signature", "")), expected):
        UNTRUSTED.inc()
        raise UntrustedModel(f"promoted model {version!r}: signature does not check")
    model = joblib.load(io.BytesIO(data))
    if getattr(model, "version", None) != version:
        UNTRUSTED.inc()
        raise UntrustedModel(f"promoted model {version!r}: the artifact is another version")
    return model


def record_decision(*, db: Database, decision: dict[str, Any]) -> None:
    db[DECISIONS].insert_one(dict(decision))


class ModelHolder:
    """The model a process uses now; `current()` swaps in a newer promotion when one appears."""

    def __init__(self, *, db: Database | Callable[[], Database] | None,
                 fallback: ReportClassifier, key: str, interval: float = 30.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        """`db` may be a function that opens the store on first use (after a fork)."""
        self._db = db
        self.model = fallback
        self.key = key
        self.refused: set[str] = set()  # versions whose signature failed: not fetched again
        self.interval = interval
        self.monotonic = monotonic
        self.checked_at: float | None = None
        self.lock = threading.Lock()

    def refresh(self) -> bool:
        """Look now; True when a new model was loaded."""
        if self._db is None:
            return False
        try:
            if callable(self._db) and not isinstance(self._db, Database):
                self._db = self._db()
            db = self._db
            entry = current_version(db=db)
            if (entry is None or entry["version"] == self.model.version
                    or entry["version"] in self.refused):
                return False
            model = load_version(db=db, entry=entry, key=self.key)
        except UntrustedModel as refused:
            log.error("%s; keeping %s", refused, self.model.version)
            self.refused.add(str(entry["version"]))
            return False
        except Exception:  # the store being away must not stop classification
            log.warning("could not look for a promoted model", exc_info=True)
            return False
        log.info("loaded promoted model %s (was %s)", model.version, self.model.version)
        self.model = model
        return True

    def current(self, *, wait: bool = True) -> ReportClassifier:
        """With `wait=False` (HTTP requests) the look happens in a background thread and this
        answer uses the model already loaded: a slow store never delays a request."""
        now = self.monotonic()
        if self.checked_at is None or now - self.checked_at >= self.interval:
            with self.lock:
                due = self.checked_at is None or now - self.checked_at >= self.interval
                if due:
                    self.checked_at = now
            if due:
                if wait:
                    self.refresh()
                else:
                    threading.Thread(target=self.refresh, daemon=True,
                                     name="model-refresh").start()
        return self.model


def decision_metrics(store: Callable[[], Database]) -> Callable[[], Iterable[Any]]:
    """Scrape-time gauges from the store: the last retrain decision and the promoted model."""

    def collect() -> Iterable[Any]:
        try:
            db = store()
            yield from _decision_metrics(db)
        except Exception:  # a scrape must answer while the store is away
            log.warning("could not read retrain decisions", exc_info=True)

    return collect


def _decision_metrics(db: Database) -> Iterable[Any]:
    outcomes = GaugeMetricFamily(
        "classifier_retrain_decisions", "Retrain decisions recorded in the store",
        labels=["outcome"])
    last = GaugeMetricFamily(
        "classifier_retrain_last_timestamp_seconds",
        "When the last retrain decision of each outcome was taken", labels=["outcome"])
    for outcome in ("promoted", "refused"):
        outcomes.add_metric([outcome], db[DECISIONS].count_documents({"outcome": outcome}))
        doc = db[DECISIONS].find_one({"outcome": outcome}, sort=[("decided_at", DESCENDING)])
        if doc is not None:
            decided = doc["decided_at"]
            if decided.tzinfo is None:
                decided = decided.replace(tzinfo=UTC)
            last.add_metric([outcome], decided.timestamp())
    yield outcomes
    yield last
    entry = current_version(db=db)
    info = GaugeMetricFamily("classifier_promoted_model_info",
                             "The model version promoted in the store", labels=["version"])
    if entry is not None:
        info.add_metric([entry["version"]], 1)
    yield info
