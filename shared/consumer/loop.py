"""The one consumer loop (after getsentry/arroyo). A service declares a ConsumerSpec, data
only: the topics it reads and the events each may carry, its group, a pure handler from a
batch of decoded events to outputs, the side-effect step that applies the outputs' writes,
and the errors it waits out. The loop does the rest, the same way for every consumer:

1. poll a batch (`consumer_batch_size` records, or the spec's; `consumer_poll_ms`);
2. decode: a record that is not a valid event, or not one its topic carries, is set aside;
3. call the handler; then the side-effect step (store writes) with the writes it returned;
   if either fails with an error that is not retryable, they run message by message and the
   messages they fail on are set aside (one poison message never holds the batch back);
4. produce the outputs and the set-aside messages (to `<topic>.dlq`, reason in a header) and
   wait for the broker's acknowledgements;
5. only then commit the batch's offsets.

A retryable error (`spec.retryable`, by default shared.retry.TRANSIENT: store and broker
errors) anywhere in 1-5 rewinds the consumer to the batch (shared.kafka.rewind_or_close) and
waits with the shared backoff (shared.retry.Outage); the batch is handled again, so handlers
and writes must be idempotent. `stop` (set by SIGTERM, shared.service_main.stop_on_signals)
is checked between batches: the batch in hand is finished and committed, then the loop exits.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar, get_args

from kafka import KafkaConsumer, KafkaProducer

from shared.clock import Clock, system_clock
from shared.consumer.dead_letters import DeadLetter, Kind
from shared.consumer.messages import Batch, Message, Output, W
from shared.consumer.metrics import BATCH_SECONDS, DEAD_LETTERS, MESSAGES
from shared.events import Event, UndecodableEvent, decode_event
from shared.kafka import (
    Outgoing,
    ensure_topics,
    make_consumer,
    make_producer,
    rewind_or_close,
    send_and_wait,
    set_fetch_wait,
)
from shared.retry import TRANSIENT, Backoff, Outage
from shared.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

Handler = Callable[[Batch], Sequence[Output[W]]]
Apply = Callable[[list[W], datetime], None]


@dataclass(frozen=True)
class ConsumerSpec(Generic[W]):
    """Everything that makes one consumer differ from another."""

    name: str  # the loop's label in logs and metrics, e.g. "tracker-worker"
    group_id: str
    reads: Mapping[str, tuple[type[Event], ...]]  # topic -> the events it may carry
    handler: Handler[W]  # pure: one Output per message, in order
    apply: Apply[W] | None = None  # the side effects of the writes (idempotent)
    retryable: tuple[type[BaseException], ...] = TRANSIENT
    batch_size: int | None = None  # None: settings.consumer_batch_size
    max_backoff_s: float = 5.0

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(self.reads)


@dataclass
class Settled:
    """A batch handled and applied: what to produce, and what was set aside."""

    produce: list[Outgoing] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    processed: int = 0


class Consumer(Generic[W]):
    def __init__(self, spec: ConsumerSpec[W], *, settings: Settings,
                 clock: Clock = system_clock) -> None:
        self.spec = spec
        self.settings = settings
        self.clock = clock
        self.batch_size = spec.batch_size or settings.consumer_batch_size
        # every series exists from the start at 0, so that the first dead letter is an
        # increase that alerts see
        MESSAGES.labels(spec.name)
        BATCH_SECONDS.labels(spec.name)
        for kind in get_args(Kind):
            DEAD_LETTERS.labels(spec.name, kind)

    # -- one batch -----------------------------------------------------------------------
    def settle(self, records: Sequence[Any], *, now: datetime) -> Settled:
        """Decode, handle and apply a batch; return what must be produced before its offsets
        are committed. Raises only retryable errors (and bugs)."""
        settled = Settled()
        messages: list[Message] = []
        for record in records:
            try:
                event = decode_event(record.value)
            except UndecodableEvent as exc:
                settled.dead.append(DeadLetter.of(record, str(exc), "undecodable"))
                continue
            if not isinstance(event, self.spec.reads.get(record.topic, ())):
                settled.dead.append(DeadLetter.of(
                    record, f"unexpected {event.event_type} on {record.topic}", "unexpected"))
                continue
            messages.append(Message(record.topic, record.partition, record.offset,
                                    record.key, record.value, event))
        if not messages:
            return settled

        def handle(part: list[Message]) -> list[tuple[Message, Output[W]]]:
            outputs = list(self.spec.handler(Batch(part, now)))
            if len(outputs) != len(part):
                raise TypeError(f"{self.spec.name}: the handler gave {len(outputs)} outputs "
                                f"for {len(part)} messages")
            return list(zip(part, outputs, strict=True))

        handled = [pair for _, pairs in self._isolated(messages, handle, lambda m: m,
                                                       "cannot be handled", settled.dead)
                   for pair in pairs]
        kept: list[tuple[Message, Output[W]]] = []
        for message, output in handled:
            if output.reject is not None:
                settled.dead.append(DeadLetter.of(message, output.reject, "rejected"))
            else:
                kept.append((message, output))
        writes = [(m, o) for m, o in kept if o.write is not None]
        if writes and self.spec.apply is not None:
            apply = self.spec.apply

            def run_apply(part: list[tuple[Message, Output[W]]]) -> None:
                apply([o.write for _, o in part if o.write is not None], now)

            applied = {id(m) for part, _ in self._isolated(writes, run_apply, lambda p: p[0],
                                                          "cannot be applied", settled.dead)
                       for m, _ in part}
            kept = [(m, o) for m, o in kept if o.write is None or id(m) in applied]
        settled.produce = [p for _, o in kept for p in o.produce]
        settled.processed = len(kept)
        return settled

    def _isolated(self, items: list[T], step: Callable[[list[T]], R],
                  message_of: Callable[[T], Message], what: str,
                  dead: list[DeadLetter]) -> list[tuple[list[T], R]]:
        """`step` on all items at once; if it fails with an error that is not retryable, on
        each item alone, and the items it fails on are set aside with the error."""
        try:
            return [(items, step(items))]
        except self.spec.retryable:
            raise
        except Exception as exc:  # noqa: BLE001 - one poison message must not block the rest
            if len(items) == 1:
                self._poison(message_of(items[0]), what, exc, dead)
                return []
            log.warning("%s: a batch of %d failed (%r); trying its messages one by one",
                        self.spec.name, len(items), exc)
        done: list[tuple[list[T], R]] = []
        for item in items:
            try:
                done.append(([item], step([item])))
            except self.spec.retryable:
                raise
            except Exception as exc:  # noqa: BLE001
                self._poison(message_of(item), what, exc, dead)
        return done

    def _poison(self, message: Message, what: str, exc: Exception,
                dead: list[DeadLetter]) -> None:
        log.warning("%s: %s %s", self.spec.name, message.source, what, exc_info=exc)
        dead.append(DeadLetter.of(message, f"{what}: {exc!r}"[:500], "failed"))

    def process(self, records: Sequence[Any], *, consumer: KafkaConsumer,
                producer: KafkaProducer) -> Settled:
        """Settle the batch, produce its outputs and dead letters, wait for the broker's
        acknowledgements, then commit its offsets."""
        started = time.perf_counter()
        settled = self.settle(records, now=self.clock())
        send_and_wait(producer, [*settled.produce,
                                 *(d.message(group=self.spec.group_id) for d in settled.dead)])
        consumer.commit()
        MESSAGES.labels(self.spec.name).inc(settled.processed)
        for dead in settled.dead:
            DEAD_LETTERS.labels(self.spec.name, dead.kind).inc()
            log.warning("%s: %s set aside to the dead-letter topic: %s", self.spec.name,
                        dead.source, dead.reason)
        BATCH_SECONDS.labels(self.spec.name).observe(time.perf_counter() - started)
        return settled

    # -- the loop --------------------------------------------------------------------------
    def _pace_fetches(self, consumer: KafkaConsumer, read: bool, idle: bool,
                      last_read: float) -> tuple[bool, float]:
        """Short fetch waits while records come (a hop's latency on the embedded broker),
        long ones once nothing came for `consumer_idle_after_seconds` (what an idle consumer
        costs the broker and itself). Returns the new (idle, last_read)."""
        now = time.monotonic()
        if read:
            if idle:
                set_fetch_wait(consumer, self.settings.consumer_fetch_max_wait_ms)
            return False, now
        if not idle and now - last_read >= self.settings.consumer_idle_after_seconds:
            set_fetch_wait(consumer, self.settings.consumer_idle_fetch_max_wait_ms)
            return True, last_read
        return idle, last_read

    def run(self, stop: threading.Event) -> None:
        """Runs until `stop`: an outage of the store or the broker is waited out with the
        shared backoff (the batch is read again once it is back), never a reason to exit."""
        outage = Outage(self.spec.name, logger=log,
                        backoff=Backoff(first=0.2, cap=self.spec.max_backoff_s))
        consumer: KafkaConsumer | None = None
        producer: KafkaProducer | None = None
        idle = False
        last_read = time.monotonic()
        try:
            while not stop.is_set():
                records: list[Any] = []
                try:
                    if consumer is None:
                        ensure_topics(self.settings)
                        consumer = make_consumer(
                            self.settings, *self.spec.topics, group_id=self.spec.group_id,
                            client_id=f"{self.spec.name}-{uuid.uuid4().hex[:6]}")
                        idle, last_read = False, time.monotonic()
                    if producer is None:
                        producer = make_producer(self.settings)
                    polled = consumer.poll(timeout_ms=self.settings.consumer_poll_ms,
                                           max_records=self.batch_size)
                    records = [r for part in polled.values() for r in part]
                    idle, last_read = self._pace_fetches(consumer, bool(records), idle,
                                                         last_read)
                    if records:
                        self.process(records, consumer=consumer, producer=producer)
                except self.spec.retryable as exc:
                    consumer = rewind_or_close(consumer, records)
                    stop.wait(outage.failed(exc))
                    continue
                outage.recovered()
        finally:
            if consumer is not None:
                consumer.close(autocommit=False)
            if producer is not None:
                producer.close(timeout=10)


def run_consumer(spec: ConsumerSpec[Any], stop: threading.Event, *, settings: Settings,
                 clock: Clock = system_clock) -> None:
    Consumer(spec, settings=settings, clock=clock).run(stop)
