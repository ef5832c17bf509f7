"""How long the broker may hold an empty fetch: CONSUMER_FETCH_MAX_WAIT_MS while records come
(the embedded broker looks for new records at half the wait, so it is a hop's latency there),
CONSUMER_IDLE_FETCH_MAX_WAIT_MS once a consumer has read nothing for a while (an idle consumer
then asks once a second instead of ten times; README, "The fixed cost of a running stack")."""

from __future__ import annotations

import time
import uuid

from kafka.admin import KafkaAdminClient, NewTopic

from shared.kafka import make_consumer, make_producer
from shared.settings import Settings


def test_consumers_hold_empty_fetches_as_long_as_the_setting_says(env):
    assert Settings.from_env({}).consumer_fetch_max_wait_ms == 100
    assert Settings.from_env({}).consumer_idle_fetch_max_wait_ms == 1000
    settings = Settings.from_env({**env, "CONSUMER_FETCH_MAX_WAIT_MS": "40"})
    consumer = make_consumer(settings, group_id="fetch-wait")
    try:
        assert consumer.config["fetch_max_wait_ms"] == 40
    finally:
        consumer.close()


def test_an_idle_loop_holds_its_fetches_longer_and_a_record_makes_them_short_again(
        env, monkeypatch):
    import threading

    from shared.consumer import loop as consumer_loop
    from shared.consumer.loop import Consumer, ConsumerSpec
    from shared.events import ReportSubmittedV1

    settings = Settings.from_env({**env, "CONSUMER_IDLE_AFTER_SECONDS": "1",
                                  "CONSUMER_IDLE_FETCH_MAX_WAIT_MS": "1000"})
    topic = f"fetch-idle-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
    waits: list[int] = []
    real = consumer_loop.set_fetch_wait

    def spy(consumer, wait_ms):
        waits.append(wait_ms)
        return real(consumer, wait_ms)

    monkeypatch.setattr(consumer_loop, "set_fetch_wait", spy)
    seen = threading.Event()

    def handler(batch):
        seen.set()
        return []

    spec = ConsumerSpec(name="fetch-idle", group_id=f"g-{topic}",
                        reads={topic: (ReportSubmittedV1,)}, handler=handler)
    stop = threading.Event()
    thread = threading.Thread(target=Consumer(spec, settings=settings).run, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while waits != [1000] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert waits == [1000], waits  # idle: fetches held a second
        producer = make_producer(settings)
        producer.send(topic, b"not an event")  # any record counts as traffic
        producer.flush()
        producer.close()
        deadline = time.monotonic() + 10
        while len(waits) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waits[:2] == [1000, 100], waits  # a record: short waits again
    finally:
        stop.set()
        thread.join(20)
