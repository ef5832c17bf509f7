"""Kafka clients with the settings this system relies on (acks=all, fast group joins)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from shared.settings import Settings
from shared.topics import TOPICS

log = logging.getLogger(__name__)

# Measured on the embedded broker: kafka-python's defaults made a first group join take ~23 s.
CONSUMER_SESSION = {
    "session_timeout_ms": 6000,
    "heartbeat_interval_ms": 1000,
    "max_poll_interval_ms": 60000,
}


def security(settings: Settings) -> dict[str, object]:
    """The client's authentication: nothing on PLAINTEXT; SCRAM user, password and the cluster
    CA for SASL_SSL (each service its own Kafka user, with ACLs on its own topics)."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return {}
    config: dict[str, object] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol.startswith("SASL"):
        config.update(sasl_mechanism=settings.kafka_sasl_mechanism,
                      sasl_plain_username=settings.kafka_username,
                      sasl_plain_password=settings.kafka_password)
    if settings.kafka_ca_file:
        config["ssl_cafile"] = settings.kafka_ca_file
    return config


def make_producer(settings: Settings, **overrides: object) -> KafkaProducer:
    config: dict[str, object] = {
        **security(settings),
        "bootstrap_servers": settings.kafka_bootstrap,
        "client_id": f"{settings.kafka_client_id}-producer",
        "acks": "all",
        "linger_ms": 5,
        "retries": 5,
        "max_block_ms": 5000,
        "request_timeout_ms": 5000,
        "delivery_timeout_ms": 15000,
    }
    config.update(overrides)
    return KafkaProducer(**config)


@dataclass(frozen=True)
class Outgoing:
    """A message to produce."""

    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


class NotAcknowledged(KafkaError):
    """Some messages of a send were not acknowledged by the broker (retryable: KafkaError)."""

    retriable = True


def send_and_wait(producer: KafkaProducer, messages: Sequence[Outgoing],
                  timeout_s: float = 15.0) -> None:
    """Send every message and wait for the broker to acknowledge each one (acks=all); raise
    NotAcknowledged if any is missing. What a loop may only do afterwards (commit its offsets,
    mark its outbox published) is then safe: a failure means the messages are sent again."""
    if not messages:
        return
    futures = [producer.send(m.topic, key=m.key, value=m.value, headers=list(m.headers) or None)
               for m in messages]
    producer.flush(timeout=timeout_s)
    failed: list[BaseException] = []
    for future in futures:
        try:
            future.get(timeout=0.1)
        except KafkaError as exc:
            failed.append(exc)
    if failed:
        raise NotAcknowledged(f"{len(failed)} of {len(futures)} messages not acknowledged "
                              f"({type(failed[0]).__name__}: {failed[0]})")


def make_consumer(
    settings: Settings, *topics: str, group_id: str, **overrides: object
) -> KafkaConsumer:
    config: dict[str, object] = {
        **security(settings),
        "bootstrap_servers": settings.kafka_bootstrap,
        "client_id": f"{settings.kafka_client_id}-{group_id}",
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "fetch_max_wait_ms": settings.consumer_fetch_max_wait_ms,
        **CONSUMER_SESSION,
    }
    config.update(overrides)
    return KafkaConsumer(*topics, **config)


def set_fetch_wait(consumer: KafkaConsumer, wait_ms: int) -> bool:
    """Hold the consumer's next fetches `wait_ms` when empty. kafka-python reads the setting
    from its fetcher's config each time it builds a fetch; it has no public setter. False (and
    nothing changed) on a client without that config."""
    config = getattr(getattr(consumer, "_fetcher", None), "config", None)
    if not isinstance(config, dict) or "fetch_max_wait_ms" not in config:
        return False
    config["fetch_max_wait_ms"] = wait_ms
    return True


def ensure_topics(settings: Settings, *, replication_factor: int = 1) -> list[str]:
    """Create the system's topics that do not exist yet; return the ones created. Not where
    topics are managed elsewhere (KAFKA_CREATE_TOPICS=false: Strimzi KafkaTopic resources)."""
    if not settings.kafka_create_topics:
        return []
    admin = KafkaAdminClient(
        **security(settings),
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"{settings.kafka_client_id}-admin",
        request_timeout_ms=10000,
    )
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name, partitions, replication_factor)
            for name, partitions in TOPICS.items()
            if name not in existing
        ]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                log.info("topics were created concurrently")
        return [t.name for t in missing]
    finally:
        admin.close()


def rewind_or_close(consumer: KafkaConsumer | None,
                    records: list[Any]) -> KafkaConsumer | None:
    """After a failed batch: rewind to it, or close a consumer that can no longer seek (its
    group moved on) and return None so that the loop makes a new one."""
    if consumer is None or not records:
        return consumer
    try:
        rewind(consumer, records)
    except (KafkaError, AssertionError, ValueError):
        consumer.close(autocommit=False)
        return None
    return consumer


def rewind(consumer: KafkaConsumer, records: list[Any]) -> None:
    """Seek back to the first of `records` on each partition: a batch that could not be
    processed is read again (offsets are only committed after it was)."""
    first: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        first[tp] = min(first.get(tp, r.offset), r.offset)
    for tp, offset in first.items():
        consumer.seek(tp, offset)
