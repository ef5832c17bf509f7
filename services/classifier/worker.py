"""The Kafka worker: submitted reports in, classified reports out.

The handler (`classify_batch`) is pure. Offsets are committed only after every result of
the batch was acknowledged by the broker; a message that is not a valid event goes to the
dead-letter topic with the reason in its headers; SIGTERM lets the batch finish, commits
and exits. Corrections from the tracker are stored as labelled examples.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from prometheus_client import Counter, Histogram
from pymongo.database import Database

from services.classifier.corrections import store_correction
from services.classifier.districts import extract_district
from services.classifier.model import ReportClassifier
from services.classifier.registry import ModelHolder
from shared.clock import Clock, system_clock
from shared.events import (
    ReportClassifiedV1,
    ReportSubmittedV1,
    TicketCorrectedV1,
    UndecodableEvent,
    decode_event,
    encode_event,
)
from shared.kafka import ensure_topics, make_consumer, make_producer, rewind
from shared.mongo import connect, database
from shared.retry import TRANSIENT, Outage
from shared.settings import Settings
from shared.topics import (
    REPORTS_CLASSIFIED,
    REPORTS_SUBMITTED,
    REPORTS_SUBMITTED_DLQ,
    TICKETS_CORRECTIONS,
)

log = logging.getLogger(__name__)

CLASSIFIED = Counter("classifier_reports_total", "Reports classified", ["outcome"])
DEAD_LETTERS = Counter("classifier_dead_letters_total", "Messages sent to the dead-letter topic")
CONFIDENCE = Histogram("classifier_confidence", "Confidence of the top category",
                       buckets=(0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0))
BATCH_SECONDS = Histogram("classifier_batch_seconds", "Time to classify and publish a batch")
MODEL_PREDICTIONS = Counter("classifier_model_predictions_total",
                            "Reports classified, by the model version that classified them",
                            ["model_version"])
GROUP = "classifier"


@dataclass(frozen=True)
class DeadLetter:
    key: bytes | None
    value: bytes | None
    reason: str
    source: str


def classify_batch(classifier: ReportClassifier, events: list[ReportSubmittedV1],
                   now: Any) -> list[ReportClassifiedV1]:
    predictions = classifier.predict([e.description for e in events])
    districts = [e.district or p.district or (extract_district(e.address) if e.address else None)
                 for e, p in zip(events, predictions, strict=True)]
    return [
        ReportClassifiedV1(
            event_id=f"{e.report_id}:classified:{classifier.version}", occurred_at=now,
            report_id=e.report_id, tracking_code=e.tracking_code, channel=e.channel,
            description=e.description, category_hint=e.category_hint, address=e.address,
            location=e.location, submitted_at=e.submitted_at, category=p.category,
            confidence=p.confidence, top3=p.top3, urgent=p.urgent,
            district=district, needs_triage=p.needs_triage,
            department=classifier.routing.department(p.category, district),
            model_version=classifier.version, outcome=p.outcome,
            triage_reason=p.triage_reason, danger=list(p.danger),
            contact_index=e.contact_index)
        for e, p, district in zip(events, predictions, districts, strict=True)
    ]


def split_records(records: list[Any]) -> tuple[list[ReportSubmittedV1],
                                              list[TicketCorrectedV1], list[DeadLetter]]:
    reports, corrections, dead = [], [], []
    for record in records:
        source = f"{record.topic}:{record.partition}:{record.offset}"
        try:
            event = decode_event(record.value)
        except UndecodableEvent as exc:
            dead.append(DeadLetter(record.key, record.value, str(exc), source))
            continue
        if isinstance(event, ReportSubmittedV1) and record.topic == REPORTS_SUBMITTED:
            reports.append(event)
        elif isinstance(event, TicketCorrectedV1) and record.topic == TICKETS_CORRECTIONS:
            corrections.append(event)
        else:
            dead.append(DeadLetter(record.key, record.value,
                                   f"unexpected {event.event_type} on {record.topic}", source))
    return reports, corrections, dead


class ClassifierWorker:
    def __init__(self, *, settings: Settings, classifier: ReportClassifier, db: Database,
                 clock: Clock = system_clock, group_id: str = GROUP,
                 model_check_seconds: float | None = None) -> None:
        self.settings = settings
        # `classifier` serves until a promoted model appears in the store (see registry)
        self.models = ModelHolder(
            db=db, fallback=classifier,
            interval=(settings.classifier_model_check_seconds if model_check_seconds is None
                      else model_check_seconds))
        self.db = db
        self.clock = clock
        self.group_id = group_id
        self.consumer: KafkaConsumer | None = None
        self.producer: KafkaProducer | None = None

    def _publish(self, classified: list[ReportClassifiedV1], dead: list[DeadLetter]) -> None:
        assert self.producer is not None
        futures = [self.producer.send(REPORTS_CLASSIFIED, key=c.report_id.encode(),
                                      value=encode_event(c)) for c in classified]
        futures += [self.producer.send(REPORTS_SUBMITTED_DLQ, key=d.key, value=d.value or b"",
                                       headers=[("error", d.reason.encode()[:500]),
                                                ("source", d.source.encode())])
                    for d in dead]
        self.producer.flush(timeout=15)
        for future in futures:
            future.get(timeout=0.1)  # raises if the broker did not acknowledge

    def process(self, records: list[Any]) -> None:
        started = time.perf_counter()
        reports, corrections, dead = split_records(records)
        classified = (classify_batch(self.models.current(), reports, self.clock())
                      if reports else [])
        self._publish(classified, dead)
        for correction in corrections:
            store_correction(db=self.db, event=correction)
        for c in classified:
            CLASSIFIED.labels("not_a_report" if c.outcome == "not_a_report" else
                              "triage" if c.needs_triage else "auto").inc()
            MODEL_PREDICTIONS.labels(c.model_version).inc()
            CONFIDENCE.observe(c.confidence)
        DEAD_LETTERS.inc(len(dead))
        BATCH_SECONDS.observe(time.perf_counter() - started)

    def _open(self) -> None:
        ensure_topics(self.settings)
        self.consumer = make_consumer(self.settings, REPORTS_SUBMITTED, TICKETS_CORRECTIONS,
                                      group_id=self.group_id,
                                      client_id=f"classifier-{uuid.uuid4().hex[:6]}")
        self.producer = make_producer(self.settings)

    def _close(self) -> None:
        if self.consumer is not None:
            self.consumer.close(autocommit=False)
            self.consumer = None
        if self.producer is not None:
            self.producer.close(timeout=10)
            self.producer = None

    def run(self, stop: threading.Event) -> None:
        """Runs until `stop`: a store or broker outage is waited out with the shared backoff
        (the batch is read again once it is back), never a reason to exit."""
        outage = Outage("classifier-worker", logger=log)
        try:
            while not stop.is_set():
                records: list[Any] = []
                try:
                    if self.consumer is None:
                        self._open()
                    assert self.consumer is not None
                    polled = self.consumer.poll(timeout_ms=250,
                                                max_records=self.settings.classifier_batch_size)
                    records = [r for batch in polled.values() for r in batch]
                    if records:
                        self.process(records)
                        self.consumer.commit()
                except TRANSIENT as exc:
                    if records and self.consumer is not None:
                        try:
                            rewind(self.consumer, records)
                        except (KafkaError, AssertionError, ValueError):
                            self._close()
                    stop.wait(outage.failed(exc))
                    continue
                outage.recovered()
        finally:
            self._close()


def run_worker(settings: Settings, stop: threading.Event) -> None:
    """With WORKER_METRICS_PORT set (a worker in its own pod), /metrics is served there;
    under `make run` the worker's samples appear on the classifier service's /metrics."""
    from prometheus_client import start_http_server

    from services.classifier.train import load

    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr=settings.host)

    worker = ClassifierWorker(settings=settings, classifier=load(settings.classifier_model_path),
                              db=database(connect(settings), settings))
    log.info("classifier worker consuming %s", REPORTS_SUBMITTED)
    worker.run(stop)
