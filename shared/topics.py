"""Every Kafka topic the system uses, named in one place."""

REPORTS_SUBMITTED = "reports.submitted.v1"
REPORTS_SUBMITTED_DLQ = "reports.submitted.v1.dlq"
REPORTS_CLASSIFIED = "reports.classified.v1"
REPORTS_CLASSIFIED_DLQ = "reports.classified.v1.dlq"
TICKETS_STATUS = "tickets.status.v1"
TICKETS_CORRECTIONS = "tickets.corrections.v1"
SLA_ALERTS = "sla.alerts"

# name -> partitions (the embedded broker has one node, so replication is always 1 there).
TOPICS: dict[str, int] = {
    REPORTS_SUBMITTED: 6,
    REPORTS_SUBMITTED_DLQ: 1,
    REPORTS_CLASSIFIED: 6,
    REPORTS_CLASSIFIED_DLQ: 1,
    TICKETS_STATUS: 6,
    TICKETS_CORRECTIONS: 1,
    SLA_ALERTS: 3,
}
