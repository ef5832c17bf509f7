"""One-shot setup run at deploy time (the Kubernetes Job, the Compose one-shot): create the
Kafka topics, every service's MongoDB indexes (each service's own `init_db`, the function
its `python -m services.X init-db` runs) and, with MONGO_ROOT_USER and
MONGO_ROOT_PASSWORD (the cluster's user administrator, logging in at MONGO_URI's hosts) set,
each service's own MongoDB role and user (mongo_users.py beside it;
passwords from MONGO_PASSWORD_INTAKE, MONGO_PASSWORD_CLASSIFIER, MONGO_PASSWORD_TRACKER).
Idempotent: running it again changes nothing (new passwords rotate them).

    python /app/deploy/docker/bootstrap.py [--replication-factor 3]

It lives here, beside the other deploy scripts, because it is the one place that knows every
service: shared/ stays below the services and imports nothing from them.
"""

from __future__ import annotations

import argparse
import os

from pymongo import MongoClient

from services.classifier.registry import init_db as classifier_init_db
from services.intake.store import init_db as intake_init_db
from services.tracker.store import init_db as tracker_init_db
from shared.kafka import ensure_topics
from shared.mongo import connect, database
from shared.service_main import configure_logging
from shared.settings import Settings

try:  # run as a script: mongo_users.py sits beside it
    from mongo_users import ROLES, ensure_users
except ModuleNotFoundError:  # imported as deploy.docker.bootstrap
    from deploy.docker.mongo_users import ROLES, ensure_users

PASSWORDS = {"intake": "MONGO_PASSWORD_INTAKE", "classifier": "MONGO_PASSWORD_CLASSIFIER",
             "tracker": "MONGO_PASSWORD_TRACKER"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bootstrap.py")
    parser.add_argument("--replication-factor", type=int, default=1)
    args = parser.parse_args(argv)
    configure_logging()
    settings = Settings.from_env()
    created = ensure_topics(settings, replication_factor=args.replication_factor)
    root = os.environ.get("MONGO_ROOT_USER")
    client = (MongoClient(settings.mongo_uri, username=root, tz_aware=True,
                          password=os.environ.get("MONGO_ROOT_PASSWORD", ""))
              if root else connect(settings))
    if root:
        passwords = {s: os.environ.get(PASSWORDS[s], "") for s in ROLES}
        print("; ".join(ensure_users(client, app_db=settings.mongo_db, passwords=passwords)))
    db = database(client, settings)
    for init_db in (intake_init_db, classifier_init_db, tracker_init_db):
        init_db(db)
    print(f"topics created: {', '.join(created) or 'none (all existed)'}; indexes ensured")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
