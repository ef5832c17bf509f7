"""Every Kafka topic the system uses, named in one place."""

REPORTS_SUBMITTED = "reports.submitted.v1"
REPORTS_SUBMITTED_DLQ = "reports.submitted.v1.dlq"
REPORTS_CLASSIFIED = "reports.classified.v1"
REPORTS_CLASSIFIED_DLQ = "reports.classified.v1.dlq"
TICKETS_STATUS = "tickets.status.v1"
TICKETS_STATUS_DLQ = "tickets.status.v1.dlq"
TICKETS_CORRECTIONS = "tickets.corrections.v1"
TICKETS_CORRECTIONS_DLQ = "tickets.corrections.v1.dlq"
# Versioned like the others since issue 17. Migration from the unversioned "sla.alerts": the
# publisher sends to sla.alerts.v1 only; a consumer reads both until "sla.alerts" holds
# nothing within its retention, then the old topic is deleted (docs/runbook.md).
SLA_ALERTS = "sla.alerts.v1"
SLA_ALERTS_DLQ = "sla.alerts.v1.dlq"  # the tracker's alerts consumer (issue 20)
# MIGRATION STEP (issue 17), the old name: publishers of a release before issue 17 still write
# here during a rolling upgrade, so the tracker's alerts consumer reads it too (an alert seen
# on both topics notifies once: by event_id). Drop it, its dead-letter topic and the read
# (services/tracker/alerts/consumer.py) once every tracker runs issue 17's publisher and the
# topic has received nothing for a whole retention period (7 days): not before 2027-01-06.
SLA_ALERTS_LEGACY = "sla.alerts"
SLA_ALERTS_LEGACY_DLQ = "sla.alerts.dlq"

# name -> partitions (the embedded broker has one node, so replication is always 1 there).
TOPICS: dict[str, int] = {
    REPORTS_SUBMITTED: 6,
    REPORTS_SUBMITTED_DLQ: 1,
    REPORTS_CLASSIFIED: 6,
    REPORTS_CLASSIFIED_DLQ: 1,
    TICKETS_STATUS: 6,
    TICKETS_STATUS_DLQ: 1,
    TICKETS_CORRECTIONS: 1,
    TICKETS_CORRECTIONS_DLQ: 1,
    SLA_ALERTS: 3,
    SLA_ALERTS_DLQ: 1,
    SLA_ALERTS_LEGACY: 3,  # the migration step above
    SLA_ALERTS_LEGACY_DLQ: 1,
}

# A consumer sets aside what it cannot process on `<topic>.dlq` (shared/consumer): every topic
# read has its dead-letter topic, written by the services that read it.
# What each service reads and writes, and its consumer groups: the Kafka ACLs of its KafkaUser
# (k8s/base/generated/kafka-users.yaml, written by deploy/generate.py) are exactly these, and
# tests/deploy checks them against the topics each service's code consumes and sends to.
READS: dict[str, tuple[str, ...]] = {
    "intake": (REPORTS_CLASSIFIED, TICKETS_STATUS),
    "classifier": (REPORTS_SUBMITTED, TICKETS_CORRECTIONS),
    "tracker": (REPORTS_CLASSIFIED, SLA_ALERTS, SLA_ALERTS_LEGACY),
}
WRITES: dict[str, tuple[str, ...]] = {
    "intake": (REPORTS_SUBMITTED, REPORTS_CLASSIFIED_DLQ, TICKETS_STATUS_DLQ),
    "classifier": (REPORTS_CLASSIFIED, REPORTS_SUBMITTED_DLQ, TICKETS_CORRECTIONS_DLQ),
    "tracker": (REPORTS_CLASSIFIED_DLQ, TICKETS_STATUS, TICKETS_CORRECTIONS, SLA_ALERTS,
                SLA_ALERTS_DLQ, SLA_ALERTS_LEGACY_DLQ),
}
GROUPS: dict[str, tuple[str, ...]] = {
    "intake": ("intake-projector", "intake-notifier"),
    "classifier": ("classifier",),
    "tracker": ("tracker", "tracker-alerts"),
}
