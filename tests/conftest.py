"""Fixtures: a real embedded broker and store for the session, a fresh database per test."""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pymongo import MongoClient

from services.classifier.corpus import load_split
from services.classifier.model import ReportClassifier
from services.classifier.train import save, train
from shared.clock import ManualClock
from shared.devstack import Broker, EmbeddedStack, free_port
from shared.settings import Settings


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    # no TTL sweeps: the tests' clock (2026-11-23) is behind the wall clock, so every session
    # and login count would look expired to the store's sweeper and vanish mid-test
    embedded = EmbeddedStack(tmp_path_factory.mktemp("stack"), ttl_sweep=False)
    embedded.start()
    yield embedded
    embedded.stop()


@pytest.fixture(scope="session")
def mongo(stack: EmbeddedStack) -> Iterator[MongoClient]:
    client = MongoClient(stack.store.uri, tz_aware=True)
    yield client
    client.close()


@pytest.fixture
def env(stack: EmbeddedStack) -> dict[str, str]:
    """Environment for a test: its own database on the shared stack."""
    return {
        "APP_ENV": "test",
        "MONGO_URI": stack.store.uri,
        "KAFKA_BOOTSTRAP": stack.broker.bootstrap,
        "MONGO_DB": f"t_{uuid.uuid4().hex[:12]}",
        "RATE_LIMIT_PER_MINUTE": "100000",
        "RELAY_IDLE_SECONDS": "0.05",
        # every test's reports travel on the same topics: a prefix of its own keeps tracking
        # codes unique across tests, as they are in one city's store
        "TRACKING_PREFIX": "".join(random.choice(string.ascii_uppercase) for _ in range(5)),
    }


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return Settings.from_env(env)


@pytest.fixture
def db(mongo: MongoClient, settings: Settings):
    database = mongo[settings.mongo_db]
    yield database
    mongo.drop_database(settings.mongo_db)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))


@pytest.fixture
def artifacts() -> Path:
    path = Path(__file__).parent / "artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained from the repo's corpus, saved where only the tests look."""
    result = train(load_split("train"), load_split("validation"), progress=False)
    return save(result, tmp_path_factory.mktemp("model") / "model.joblib")


@pytest.fixture(scope="session")
def classifier(model_path: Path) -> ReportClassifier:
    from services.classifier.train import load

    return load(model_path)


@pytest.fixture
def live_pipeline(env: dict[str, str], db, classifier: ReportClassifier):
    """Every service and loop of the system running on the real embedded broker and store,
    on the test's database (tests/pipeline.py)."""
    from tests.pipeline import started

    with started(env, db, classifier) as pipeline:
        yield pipeline


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker of the test's own, to stop and start again (it forgets its topics)."""
    broker = Broker(free_port(), workdir=tmp_path)
    broker.start()
    broker.wait_ready()
    yield broker
    broker.stop()
