"""The whole system running for end-to-end tests, started one way: the classifier, tracker
and intake apps on live HTTP servers (each knowing the others' URLs), and every loop of the
pipeline in threads (intake's outbox relay, the classifier's worker, the tracker's worker,
publisher and monitor, intake's projector), on the session's real embedded broker and store
and the test's own database. The `live_pipeline` fixture (tests/conftest.py) yields it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from threading import Event

from flask import Flask
from pymongo.database import Database

from services.classifier.app import create_app as create_classifier
from services.classifier.model import ReportClassifier
from services.intake.app import create_app as create_intake
from services.intake.outbox.relay import OutboxRelay
from services.intake.projector import run_projector
from services.tracker.app import create_app as create_tracker
from services.tracker.config import TrackerConfig, load_config
from services.tracker.monitor import run_monitor
from services.tracker.publisher import Publisher
from services.tracker.worker import run_worker
from shared.clock import system_clock
from shared.settings import Settings
from shared.topics import (
    REPORTS_CLASSIFIED,
    REPORTS_SUBMITTED,
    TICKETS_CORRECTIONS,
    TICKETS_STATUS,
)
from tests.classifier.conftest import new_worker
from tests.helpers import group_at_end, live_server, running


@dataclasses.dataclass(frozen=True)
class Pipeline:
    intake_url: str
    tracker_url: str
    settings: Settings  # as intake's, with the tracker's and the classifier's URLs
    tracker: Flask

    @property
    def config(self) -> TrackerConfig:
        return self.tracker.extensions["tracker"].config


@contextmanager
def services(env: dict[str, str], classifier: ReportClassifier
             ) -> Iterator[tuple[str, str, Settings, Flask]]:
    """Classifier, tracker and intake on live servers, each knowing the others' URLs:
    (intake_url, tracker_url, settings, tracker app)."""
    base = Settings.from_env(env)
    config = load_config(base)
    with ExitStack() as stack:
        classifier_url = stack.enter_context(
            live_server(create_classifier(base, classifier=classifier)))
        tracker = create_tracker(dataclasses.replace(base, classifier_url=classifier_url),
                                 config=config)
        tracker_url = stack.enter_context(live_server(tracker))
        settings = Settings.from_env({**env, "TRACKER_URL": tracker_url,
                                      "CLASSIFIER_URL": classifier_url})
        intake_url = stack.enter_context(live_server(create_intake(settings)))
        deps = tracker.extensions["tracker"]
        tracker.extensions["tracker"] = dataclasses.replace(
            deps, settings=dataclasses.replace(deps.settings, intake_url=intake_url))
        yield intake_url, tracker_url, settings, tracker


def loops(settings: Settings, db: Database, classifier: ReportClassifier,
          config: TrackerConfig) -> tuple[Callable[[Event], None], ...]:
    """Every loop of the pipeline; the consumers in groups of their own that start at the
    topics' ends (the session's broker holds the earlier tests' events)."""
    bootstrap = settings.kafka_bootstrap
    return (
        OutboxRelay(settings=settings, db=db, clock=system_clock).run,
        new_worker(settings, classifier, db, group_id=group_at_end(
            bootstrap, REPORTS_SUBMITTED, TICKETS_CORRECTIONS)).run,
        partial(run_worker, settings=settings, db=db, config=config, clock=system_clock,
                group_id=group_at_end(bootstrap, REPORTS_CLASSIFIED)),
        Publisher(settings=settings, db=db, clock=system_clock).run,
        partial(run_monitor, db=db, config=config, clock=system_clock, interval_s=0.2),
        partial(run_projector, settings, db, group_id=group_at_end(
            bootstrap, REPORTS_CLASSIFIED, TICKETS_STATUS)),
    )


@contextmanager
def started(env: dict[str, str], db: Database, classifier: ReportClassifier
            ) -> Iterator[Pipeline]:
    with services(env, classifier) as (intake_url, tracker_url, settings, tracker):
        pipeline = Pipeline(intake_url, tracker_url, settings, tracker)
        with running(*loops(settings, db, classifier, pipeline.config)):
            yield pipeline
