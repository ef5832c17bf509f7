"""Test helpers: a live HTTP server in a thread and a Kafka collector."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import make_server

from shared.devstack import free_port
from shared.kafka import make_consumer
from shared.settings import Settings


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(5)


def collect(bootstrap: str, topic: str, *, until: set[str], key: str = "report_id",
            timeout: float = 60.0) -> list[dict]:
    """Read the topic from the start with a fresh group until every id in `until` is seen.
    Returns every matching message, duplicates included, as decoded JSON (raw bytes kept
    under "_raw")."""
    consumer = make_consumer(Settings(kafka_bootstrap=bootstrap), topic,
                             group_id=f"test-{uuid.uuid4().hex[:8]}",
                             max_poll_interval_ms=30000)
    seen: list[dict] = []
    missing = set(until)

    def read(timeout_ms: int) -> None:
        for records in consumer.poll(timeout_ms=timeout_ms).values():
            for record in records:
                try:
                    data = json.loads(record.value)
                except (ValueError, TypeError):
                    continue
                if data.get(key) in until:
                    data["_raw"] = record.value
                    seen.append(data)
                    missing.discard(data[key])

    deadline = time.monotonic() + timeout
    try:
        while missing and time.monotonic() < deadline:
            read(500)
        # a short extra read so duplicates right behind the last id are counted too
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            read(200)
    finally:
        consumer.close()
    return seen


@contextmanager
def running(*loops: Callable[[threading.Event], None]) -> Iterator[list[threading.Thread]]:
    """Run stop-flag loops (relay, worker, projector) in threads; stop and join them after."""
    stop = threading.Event()
    threads = [threading.Thread(target=loop, args=(stop,), daemon=True) for loop in loops]
    for thread in threads:
        thread.start()
    try:
        yield threads
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def group_at_end(bootstrap: str, *topics: str, prefix: str = "test") -> str:
    """A consumer group whose committed offsets are the topics' current ends. Every test's
    events share the topics of the session's broker: a pipeline started with this group reads
    only what comes after, not the backlog of the tests before it."""
    from kafka import TopicPartition

    group = f"{prefix}-{uuid.uuid4().hex[:8]}"
    consumer = make_consumer(Settings(kafka_bootstrap=bootstrap), group_id=group)
    try:
        partitions = [TopicPartition(topic, p) for topic in topics
                      for p in sorted(consumer.partitions_for_topic(topic) or ())]
        ends = consumer.end_offsets(partitions)
        from kafka.structs import OffsetAndMetadata

        consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in ends.items()})
    finally:
        consumer.close()
    return group


def image_bytes(fmt: str = "JPEG", *, size: tuple[int, int] = (8, 6), exif_gps: bool = False
                ) -> bytes:
    """A real, tiny image made with Pillow; with exif_gps, a JPEG carrying a GPS position."""
    import io

    from PIL import Image

    image = Image.new("RGB", size, (200, 30, 30))
    options = {}
    if exif_gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        gps = exif.get_ifd(0x8825)
        gps.update({1: "N", 2: (10.0, 46.0, 36.84), 3: "E", 4: (106.0, 42.0, 3.24)})
        options["exif"] = exif
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def create_from_classified(*, db, config, event, now):
    """One ticket from one classified event, as the tracker's worker makes them in batches:
    (ticket, created)."""
    from services.tracker.tickets.service import create_many

    return create_many(db=db, config=config, events=[event], now=now)[0]


def intake_app(settings, **kwargs) -> Flask:
    """Intake's app on a database that `init-db` prepared, as deployed."""
    from services.intake.app import create_app
    from services.intake.store import init_db
    from shared.mongo import connect, database

    client = connect(settings)
    try:
        init_db(database(client, settings))
    finally:
        client.close()
    return create_app(settings, **kwargs)
