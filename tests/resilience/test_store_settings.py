"""Every store client is bounded in time and journals its writes; the embedded store runs
durable."""

from __future__ import annotations

from shared.devstack import Store
from shared.mongo import connect
from shared.settings import Settings


def test_clients_time_out_and_journal(tmp_path):
    settings = Settings.from_env({"MONGO_TIMEOUT_MS": "2500", "MONGO_SERVER_SELECTION_MS": "900"})
    client = connect(settings)
    try:
        assert client.options.timeout == 2.5
        assert client.options.server_selection_timeout == 0.9
        concern = client.write_concern.document
        assert concern["w"] == "majority" and concern["j"] is True
    finally:
        client.close()


def test_default_timeout_is_a_few_seconds():
    assert 1000 <= Settings.from_env({}).mongo_timeout_ms <= 5000


def test_embedded_store_fsyncs_every_commit(tmp_path):
    assert "--sync-on-commit" in Store(27999, workdir=tmp_path).argv
