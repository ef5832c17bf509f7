"""A store of the test's own, that a test may pause (SIGSTOP), kill and start again."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from shared.devstack import Store, free_port


@pytest.fixture
def own_store(tmp_path) -> Iterator[Store]:
    store = Store(free_port(), workdir=tmp_path)
    store.start()
    store.wait_ready()
    yield store
    if store.proc is not None and store.proc.poll() is None:
        store.proc.send_signal(signal.SIGCONT)
    store.stop()


@pytest.fixture
def own_env(env: dict[str, str], own_store: Store) -> dict[str, str]:
    return {**env, "MONGO_URI": own_store.uri, "MONGO_TIMEOUT_MS": "1500",
            "MONGO_SERVER_SELECTION_MS": "1000"}
