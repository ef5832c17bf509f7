"""The Kafka worker: submitted reports in, classified reports out, on the shared consumer
loop (shared/consumer): the handler (`ClassifierWorker.handle`, around the pure
`classify_batch`) turns a batch into classified events; the side-effect step stores the
tracker's corrections as labelled examples; offsets are committed once the classified events
are acknowledged; what cannot be read goes to `<topic>.dlq` with the reason.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from prometheus_client import Counter, Histogram
from pymongo.database import Database

from services.classifier.corrections import store_correction
from services.classifier.districts import extract_district
from services.classifier.model import ReportClassifier
from services.classifier.registry import ModelHolder
from shared.clock import Clock, clock_from, system_clock
from shared.consumer import Batch, Consumer, ConsumerSpec, Output, event_message
from shared.events import Event, ReportClassifiedV2, ReportSubmittedV1, TicketCorrectedV1
from shared.mongo import connect, database
from shared.settings import Settings
from shared.topics import REPORTS_CLASSIFIED, REPORTS_SUBMITTED, TICKETS_CORRECTIONS

log = logging.getLogger(__name__)

CLASSIFIED = Counter("classifier_reports_total", "Reports classified", ["outcome"])
CONFIDENCE = Histogram("classifier_confidence", "Confidence of the top category",
                       buckets=(0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0))
MODEL_PREDICTIONS = Counter("classifier_model_predictions_total",
                            "Reports classified, by the model version that classified them",
                            ["model_version"])
GROUP = "classifier"


def classify_batch(classifier: ReportClassifier, events: list[ReportSubmittedV1],
                   now: Any) -> list[ReportClassifiedV2]:
    predictions = classifier.predict([e.description for e in events])
    districts = [e.district or p.district or (extract_district(e.address) if e.address else None)
                 for e, p in zip(events, predictions, strict=True)]
    return [
        ReportClassifiedV2(
            event_id=f"{e.report_id}:classified:{classifier.version}", occurred_at=now,
            report_id=e.report_id, tracking_code=e.tracking_code, channel=e.channel,
            description=e.description, category_hint=e.category_hint, address=e.address,
            location=e.location, submitted_at=e.submitted_at, category=p.category,
            confidence=p.confidence, top3=p.top3, urgent=p.urgent,
            district=district, needs_triage=p.needs_triage, model_version=classifier.version,
            outcome=p.outcome, triage_reason=p.triage_reason, danger=list(p.danger),
            contact_index=e.contact_index)
        for e, p, district in zip(events, predictions, districts, strict=True)
    ]


class ClassifierWorker:
    def __init__(self, *, settings: Settings, classifier: ReportClassifier, db: Database,
                 clock: Clock = system_clock, group_id: str = GROUP,
                 model_check_seconds: float | None = None) -> None:
        self.settings = settings
        # `classifier` serves until a promoted model appears in the store (see registry)
        self.models = ModelHolder(
            db=db, fallback=classifier, key=settings.model_signing_key,
            interval=(settings.classifier_model_check_seconds if model_check_seconds is None
                      else model_check_seconds))
        self.db = db
        self.clock = clock
        self.spec: ConsumerSpec[Event] = ConsumerSpec(
            name="classifier-worker", group_id=group_id,
            reads={REPORTS_SUBMITTED: (ReportSubmittedV1,),
                   TICKETS_CORRECTIONS: (TicketCorrectedV1,)},
            handler=self.handle, apply=self.apply,
            batch_size=settings.classifier_batch_size)
        self.consumer = Consumer(self.spec, settings=settings, clock=clock)

    def handle(self, batch: Batch) -> list[Output[Event]]:
        """Classify the batch's reports with the model of the moment; corrections pass on to
        the side-effect step."""
        reports = [m.event for m in batch.messages if isinstance(m.event, ReportSubmittedV1)]
        classified = iter(classify_batch(self.models.current(), reports, batch.now)
                          if reports else [])
        outputs: list[Output[Event]] = []
        for message in batch.messages:
            if isinstance(message.event, ReportSubmittedV1):
                event = next(classified)
                outputs.append(Output(produce=(event_message(REPORTS_CLASSIFIED, event,
                                                             key=event.report_id),),
                                      write=event))
            else:
                outputs.append(Output(write=message.event))
        return outputs

    def apply(self, writes: list[Event], now: Any) -> None:
        for event in writes:
            if isinstance(event, TicketCorrectedV1):
                store_correction(db=self.db, event=event)
            elif isinstance(event, ReportClassifiedV2):
                CLASSIFIED.labels("not_a_report" if event.outcome == "not_a_report" else
                                  "triage" if event.needs_triage else "auto").inc()
                MODEL_PREDICTIONS.labels(event.model_version).inc()
                CONFIDENCE.observe(event.confidence)

    def run(self, stop: threading.Event) -> None:
        """Runs until `stop`: a store or broker outage is waited out with the shared backoff
        (the batch is read again once it is back), never a reason to exit."""
        self.consumer.run(stop)


def run_worker(settings: Settings, stop: threading.Event) -> None:
    """With WORKER_METRICS_PORT set (a worker in its own pod), /metrics is served there;
    under `make run` the worker's samples appear on the classifier service's /metrics."""
    from prometheus_client import start_http_server

    from services.classifier.train import load

    worker = ClassifierWorker(settings=settings, classifier=load(settings.classifier_model_path),
                              db=database(connect(settings), settings),
                              clock=clock_from(settings.clock_file))
    if settings.worker_metrics_port:  # once the worker's series exist
        start_http_server(settings.worker_metrics_port, addr=settings.host)
    log.info("classifier worker consuming %s", REPORTS_SUBMITTED)
    worker.run(stop)
