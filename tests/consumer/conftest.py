"""A lane of fresh topics on the session's broker (input, output, the input's dead letters),
and the events the loop's tests send down it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import NewTopic

from shared.consumer import dead_letter_topic
from shared.events import ReportSubmittedV1, encode_event
from shared.kafka import make_consumer, make_producer
from shared.settings import Settings


@dataclass(frozen=True)
class Lane:
    bootstrap: str
    source: str
    output: str
    sent: dict[int, int] = field(default_factory=lambda: {0: 0, 1: 0})  # partition -> count

    @property
    def dead(self) -> str:
        return dead_letter_topic(self.source)

    def send(self, *values: bytes) -> None:
        producer = make_producer(Settings(kafka_bootstrap=self.bootstrap))
        for i, value in enumerate(values):
            producer.send(self.source, key=f"k{i}".encode(), value=value, partition=i % 2)
            self.sent[i % 2] += 1
        producer.flush()
        producer.close()

    def read(self, topic: str, count: int, timeout: float = 30.0,
             where: Callable[[Any], bool] = lambda record: True) -> list:
        """The first `count` records of a topic that match `where` (fewer if they do not come
        in time)."""
        consumer = make_consumer(Settings(kafka_bootstrap=self.bootstrap), group_id=None)
        partitions = [TopicPartition(topic, p)
                      for p in sorted(consumer.partitions_for_topic(topic) or {0})]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        seen: list = []
        deadline = time.monotonic() + timeout
        while len(seen) < count and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=300).values():
                seen += [r for r in records if where(r)]
        consumer.close()
        return seen

    def committed_everything(self, group: str) -> bool:
        """The group committed every message sent (end_offsets under-reports on the embedded
        broker: the lane counts what it sent)."""
        consumer = make_consumer(Settings(kafka_bootstrap=self.bootstrap), group_id=group)
        try:
            return all((consumer.committed(TopicPartition(self.source, p)) or 0) == n
                       for p, n in self.sent.items())
        finally:
            consumer.close()


@pytest.fixture
def lane(settings) -> Iterator[Lane]:
    name = f"test.loop.{uuid.uuid4().hex[:8]}"
    result = Lane(settings.kafka_bootstrap, name, f"{name}.out")
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    admin.create_topics([NewTopic(result.source, 2, 1), NewTopic(result.dead, 1, 1),
                         NewTopic(result.output, 1, 1)])
    admin.close()
    yield result


def report(text: str) -> ReportSubmittedV1:
    now = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    rid = uuid.uuid4().hex[:24]
    return ReportSubmittedV1(event_id=f"{rid}:submitted", occurred_at=now, report_id=rid,
                             tracking_code=f"HCM-2026-{rid[:6]}", channel="web",
                             description=text, submitted_at=now)


def raw(text: str) -> bytes:
    return encode_event(report(text))
