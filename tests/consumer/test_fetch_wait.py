"""How long the broker may hold an empty fetch is a setting (CONSUMER_FETCH_MAX_WAIT_MS). The
broker answers a held fetch as soon as a record arrives, so a long hold costs no latency; a
short one made every idle consumer ask ten times a second (README, "The fixed cost of a
running stack")."""

from __future__ import annotations

import time
import uuid

from kafka.admin import KafkaAdminClient, NewTopic

from shared.kafka import make_consumer, make_producer
from shared.settings import Settings


def test_consumers_hold_empty_fetches_as_long_as_the_setting_says(env):
    assert Settings.from_env({}).consumer_fetch_max_wait_ms == 1000
    settings = Settings.from_env({**env, "CONSUMER_FETCH_MAX_WAIT_MS": "40"})
    consumer = make_consumer(settings, group_id="fetch-wait")
    try:
        assert consumer.config["fetch_max_wait_ms"] == 40
    finally:
        consumer.close()


def test_a_record_reaches_a_consumer_whose_empty_fetch_is_held_without_waiting_it_out(env):
    """With the broker holding empty fetches 10 s, each record still arrives at once: the
    wait is how often an idle consumer asks, never how late a record is read."""
    settings = Settings.from_env({**env, "CONSUMER_FETCH_MAX_WAIT_MS": "10000"})
    topic = f"fetch-wait-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    admin.create_topics([NewTopic(topic, 3, 1)])
    admin.close()
    consumer = make_consumer(settings, topic, group_id=f"g-{topic}",
                             auto_offset_reset="latest")
    producer = make_producer(settings)
    late: list[float] = []
    try:
        deadline = time.monotonic() + 30
        while not consumer.assignment() and time.monotonic() < deadline:
            consumer.poll(timeout_ms=200)
        assert consumer.assignment(), "no partitions assigned within 30 s"
        consumer.poll(timeout_ms=1500)  # the consumer is idle: its fetch is held
        for i in range(5):
            time.sleep(0.3)
            sent = time.monotonic()
            producer.send(topic, key=str(i).encode(), value=b"x")
            producer.flush()
            while time.monotonic() - sent < 12:
                if any(consumer.poll(timeout_ms=100).values()):
                    break
            late.append(time.monotonic() - sent)
    finally:
        consumer.close()
        producer.close()
    # held out, a fetch would come back after 10 s; the median of five is far below that
    assert sorted(late)[2] < 3.0, late
