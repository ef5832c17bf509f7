"""How long the broker may hold an empty fetch is a setting (CONSUMER_FETCH_MAX_WAIT_MS):
kafka-python's default of 500 ms made every hop of the pipeline wait about 120 ms on the
embedded broker (measured for `make simulate`)."""

from __future__ import annotations

from shared.kafka import make_consumer
from shared.settings import Settings


def test_consumers_hold_empty_fetches_as_long_as_the_setting_says(env):
    assert Settings.from_env({}).consumer_fetch_max_wait_ms == 100
    settings = Settings.from_env({**env, "CONSUMER_FETCH_MAX_WAIT_MS": "40"})
    consumer = make_consumer(settings, group_id="fetch-wait")
    try:
        assert consumer.config["fetch_max_wait_ms"] == 40
    finally:
        consumer.close()
