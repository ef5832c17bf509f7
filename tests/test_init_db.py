"""`python -m services.X init-db` creates the service's indexes, idempotently: the one place
each service's indexes are created (make run, the deploy Job and the fixtures call it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXPECTED = {
    "services.intake": {"reports": {"tracking_code_1", "idempotency_key_1"},
                        "photos": {"report_id_1"}},
    "services.classifier": {"classifier_model_versions": {"promoted_at_-1"}},
    "services.tracker": {"tickets": {"tracking_code_1", "sla.next_check_at_1",
                                     "breach_at_1"},
                         "sla_alerts": {"pending_1"}},
}


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_init_db_creates_the_services_indexes_and_can_run_again(env, db, module):
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", module, "init-db"], cwd=REPO,
                              env={**os.environ, **env}, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
    for collection, names in EXPECTED[module].items():
        assert names <= set(db[collection].index_information()), (module, collection)


def test_the_app_factories_create_no_index(settings, db, clock):
    """Indexes are init-db's job, not a side effect of starting a web worker."""
    from services.intake.app import create_app as intake_app
    from services.tracker.app import create_app as tracker_app

    intake_app(settings, clock=clock)
    tracker_app(settings, clock=clock)
    assert db.list_collection_names() == [] or all(
        set(db[name].index_information()) == {"_id_"} for name in db.list_collection_names())
