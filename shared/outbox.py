"""The one outbox publisher. What a service stored (a report, a ticket's history, an alert) is
its own outbox entry; this loop publishes the entries to Kafka, the same way for every
service:

- one replica publishes at a time: it holds a lease (shared.lease) and renews it right before
  each send, so a round slower than the lease never overlaps with the next holder's;
- a batch at a time (`batch_size` entries per source and round);
- send and wait for the broker's acknowledgement of every message (shared.kafka.send_and_wait);
- only then mark the entries published (the source's `mark_published`).

A crash or an outage can publish an entry twice, never lose one (event ids are deterministic,
consumers recognise a repeat). A retryable error (the spec's, by default shared.retry.TRANSIENT)
closes the producer and waits with the shared backoff; `stop` ends the loop after its round and
releases the lease. What differs between services is data: the OutboxSpec and its sources.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kafka import KafkaProducer
from prometheus_client import Counter
from pymongo.errors import PyMongoError

from shared.kafka import Outgoing, ensure_topics, make_producer, send_and_wait
from shared.lease import Lease
from shared.retry import TRANSIENT, Backoff, Outage
from shared.settings import Settings

log = logging.getLogger(__name__)
PUBLISHED = Counter("outbox_published_total", "Messages an outbox publisher had acknowledged",
                    ["outbox", "topic"])


class LeaseLost(Exception):
    """Another replica holds the lease: stand by."""


class OutboxSource(Protocol):
    """One kind of outbox entry: how to find them, turn them into messages, mark them."""

    def pending(self, limit: int) -> Sequence[Any]: ...

    def messages(self, entry: Any) -> list[Outgoing]: ...

    def mark_published(self, entries: Sequence[Any]) -> None: ...

    def connect(self, publisher: OutboxPublisher, created_topics: list[str]) -> None:
        """Called once the producer is up (after every reconnection)."""

    def disconnect(self) -> None:
        """Called when the producer is closed (an error, a lost lease, the end)."""

    def flush(self) -> None:
        """Called on a clean stop: save what acknowledged batches left unsaved."""


class SimpleSource:
    """A source with nothing to do on connect, disconnect and flush."""

    def connect(self, publisher: OutboxPublisher, created_topics: list[str]) -> None:
        return None

    def flush(self) -> None:
        return None

    def disconnect(self) -> None:
        return None


@dataclass(frozen=True)
class OutboxSpec:
    name: str  # the loop's label in logs and metrics, e.g. "tracker-publisher"
    sources: tuple[OutboxSource, ...]
    batch_size: int
    idle_seconds: float  # the wait after a round that found less than a full batch
    retryable: tuple[type[BaseException], ...] = TRANSIENT
    max_backoff_s: float = 5.0


class OutboxPublisher:
    def __init__(self, spec: OutboxSpec, *, settings: Settings, lease: Lease) -> None:
        self.spec = spec
        self.settings = settings
        self.lease = lease
        self.producer: KafkaProducer | None = None

    def publish(self, source: OutboxSource, entries: Sequence[Any]) -> int:
        """Send the entries' messages, wait for every acknowledgement, then mark them
        published. Raises LeaseLost if another replica has the lease. The lease is renewed
        with a write only when its last renewal is a third of its duration old (`held`): a
        busy publisher sent several batches a second, each with a write of the lease before
        it, while the sources' saves renew it as well."""
        if not entries:
            return 0
        assert self.producer is not None, "publish() runs inside run() or after connect()"
        if not self.lease.held():
            raise LeaseLost()
        messages = [m for entry in entries for m in source.messages(entry)]
        send_and_wait(self.producer, messages)
        source.mark_published(entries)
        for message in messages:
            PUBLISHED.labels(self.spec.name, message.topic).inc()
        return len(entries)

    def publish_once(self) -> tuple[int, bool]:
        """One round over every source: (entries published, whether a source had a full
        batch, so that more may be waiting)."""
        done, full = 0, False
        for source in self.spec.sources:
            entries = source.pending(self.spec.batch_size)
            done += self.publish(source, entries)
            full = full or len(entries) >= self.spec.batch_size
        return done, full

    def connect(self) -> None:
        created = ensure_topics(self.settings)
        self.producer = make_producer(self.settings)
        for source in self.spec.sources:
            source.connect(self, created)

    def flush(self) -> None:
        """Save what the sources' acknowledged batches left unsaved (a clean stop); a lost
        lease or an unavailable store leaves it to the next holder to send again."""
        for source in self.spec.sources:
            try:
                source.flush()
            except (LeaseLost, PyMongoError) as exc:
                log.info("%s: progress not saved on stop (%r): sent again after the restart",
                         self.spec.name, exc)

    def disconnect(self) -> None:
        for source in self.spec.sources:
            try:
                source.disconnect()
            except Exception:  # noqa: BLE001 - closing a broken source must not raise
                log.debug("%s: source disconnect failed", self.spec.name, exc_info=True)
        if self.producer is not None:
            try:
                self.producer.close(timeout=5)
            except Exception:  # noqa: BLE001 - closing a broken producer must not raise
                log.debug("%s: producer close failed", self.spec.name, exc_info=True)
            self.producer = None

    def run(self, stop: threading.Event) -> None:
        """Runs until `stop`: store and broker outages are waited out with the shared backoff
        (what was not acknowledged stays unmarked and is sent again), never a reason to exit."""
        outage = Outage(self.spec.name, logger=log,
                        backoff=Backoff(first=0.2, cap=self.spec.max_backoff_s))
        standby = self.lease.duration.total_seconds() / 3
        try:
            while not stop.is_set():
                try:
                    if not self.lease.held():
                        self.disconnect()
                        outage.recovered()
                        stop.wait(standby)
                        continue
                    if self.producer is None:
                        self.connect()
                    _, full = self.publish_once()
                except LeaseLost:
                    log.info("%s: another replica took the lease; standing by", self.spec.name)
                    self.disconnect()
                    continue
                except self.spec.retryable as exc:
                    self.disconnect()
                    stop.wait(outage.failed(exc))
                    continue
                outage.recovered()
                if not full:
                    stop.wait(self.spec.idle_seconds)
            if self.producer is not None:
                self.flush()
        finally:
            self.disconnect()
            try:
                self.lease.release()
            except PyMongoError:
                log.info("%s: lease not released (store unavailable); it expires by itself",
                         self.spec.name)
