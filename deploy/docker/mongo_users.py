"""Each service's own MongoDB user, with exactly the privileges its code needs.

One role per service (`hotline-intake`, `hotline-classifier`, `hotline-tracker`) granting
actions on the collections that service owns, nothing database-wide: intake cannot read
tickets, the tracker cannot read reports or their encrypted personal fields, the classifier
sees only its model registry and corrections. One user per role, of the same name. The
bootstrap (deploy/docker/bootstrap.py, run with MONGO_ROOT_USER: the cluster's user
administrator) creates or updates them; running it again with new passwords rotates them.

Index changes (dropIndex, for a migration) are left to the bootstrap, which runs as the
administrator before the services start; the services only create missing indexes.
"""

from __future__ import annotations

from collections.abc import Mapping

from pymongo import MongoClient

from services.classifier.corrections import CORRECTIONS
from services.classifier.registry import BUCKET, DECISIONS, VERSIONS
from services.intake.notify.outbox import NOTIFICATIONS
from services.intake.ratelimit import COUNTS
from services.intake.store import COUNTERS, OUTBOX_STATE, PHOTOS, REPORTS
from services.tracker.store import (
    ALERT_PREFS,
    ALERTS,
    FIGURE_COUNTERS,
    LEASES,
    LOGIN_FAILURES,
    OWNER_SETTINGS,
    PRESENCE,
    STAFF_SESSIONS,
    TEMPLATES,
    TICKETS,
    VIEWERS,
)
from services.tracker.store import NOTIFICATIONS as STAFF_NOTIFICATIONS

INDEXES = ("createIndex", "listIndexes")  # each service ensures its indexes at start
READ_WRITE = ("find", "insert", "update", *INDEXES)

# service -> collection -> actions. The services' code is the reference: a new collection or
# operation needs its line here (tests/security/test_mongo_users.py runs the code as the user).
ROLES: dict[str, dict[str, tuple[str, ...]]] = {
    "intake": {
        REPORTS: (*READ_WRITE, "changeStream"),  # the outbox relay follows new reports
        PHOTOS: (*READ_WRITE, "remove"),  # photos of a refused report are removed
        COUNTERS: READ_WRITE,
        OUTBOX_STATE: READ_WRITE,
        COUNTS: READ_WRITE,
        NOTIFICATIONS: READ_WRITE,  # the citizens' notification outbox (issue 18)
    },
    "classifier": {
        CORRECTIONS: READ_WRITE,
        VERSIONS: READ_WRITE,
        DECISIONS: READ_WRITE,
        f"{BUCKET}.files": READ_WRITE,  # GridFS: the promoted models
        f"{BUCKET}.chunks": READ_WRITE,
    },
    "tracker": {
        # the live pages follow these three (services/tracker/live/hub.py)
        TICKETS: (*READ_WRITE, "changeStream"),
        ALERTS: READ_WRITE,
        LEASES: READ_WRITE,
        LOGIN_FAILURES: (*READ_WRITE, "remove"),
        STAFF_SESSIONS: (*READ_WRITE, "remove"),
        FIGURE_COUNTERS: (*READ_WRITE, "remove"),  # rebuild-figures removes stale documents
        PRESENCE: READ_WRITE,
        OWNER_SETTINGS: READ_WRITE,
        TEMPLATES: (*READ_WRITE, "remove"),  # an admin deletes a template
        STAFF_NOTIFICATIONS: (*READ_WRITE, "changeStream"),
        ALERT_PREFS: READ_WRITE,
        VIEWERS: (*READ_WRITE, "remove", "changeStream"),  # who has a ticket open
    },
}


def user_name(service: str) -> str:
    return f"hotline-{service}"


def privileges(service: str, app_db: str) -> list[dict]:
    return [{"resource": {"db": app_db, "collection": collection}, "actions": sorted(actions)}
            for collection, actions in sorted(ROLES[service].items())]


def ensure_users(client: MongoClient, *, app_db: str, passwords: Mapping[str, str]
                 ) -> list[str]:
    """Create or update each service's role and user in `admin`; returns what was done."""
    admin = client["admin"]
    done = []
    for service in ROLES:
        if not passwords.get(service):
            raise ValueError(f"no MongoDB password for {service}")
        name = user_name(service)
        exists = admin.command("rolesInfo", name)["roles"]
        admin.command("updateRole" if exists else "createRole", name,
                      privileges=privileges(service, app_db), roles=[])
        roles = [{"role": name, "db": "admin"}]
        if admin.command("usersInfo", name)["users"]:
            admin.command("updateUser", name, pwd=passwords[service], roles=roles)
            done.append(f"updated {name}")
        else:
            admin.command("createUser", name, pwd=passwords[service], roles=roles)
            done.append(f"created {name}")
    return done
