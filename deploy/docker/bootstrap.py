"""One-shot setup run at deploy time (the Kubernetes Job, the Compose one-shot): create the
Kafka topics and every service's MongoDB indexes (each service's own `init_db`, the function
its `python -m services.X init-db` runs). Idempotent: running it again changes nothing.

    python /app/deploy/docker/bootstrap.py [--replication-factor 3]

It lives here, beside the other deploy scripts, because it is the one place that knows every
service: shared/ stays below the services and imports nothing from them.
"""

from __future__ import annotations

import argparse

from services.classifier.registry import init_db as classifier_init_db
from services.intake.store import init_db as intake_init_db
from services.tracker.store import init_db as tracker_init_db
from shared.kafka import ensure_topics
from shared.mongo import connect, database
from shared.service_main import configure_logging
from shared.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bootstrap.py")
    parser.add_argument("--replication-factor", type=int, default=1)
    args = parser.parse_args(argv)
    configure_logging()
    settings = Settings.from_env()
    created = ensure_topics(settings, replication_factor=args.replication_factor)
    db = database(connect(settings), settings)
    for init_db in (intake_init_db, classifier_init_db, tracker_init_db):
        init_db(db)
    print(f"topics created: {', '.join(created) or 'none (all existed)'}; indexes ensured")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
