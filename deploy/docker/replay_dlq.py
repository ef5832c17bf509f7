"""Send the messages of a dead-letter topic back to the topic they came from.

    python /app/deploy/docker/replay_dlq.py reports.submitted.v1.dlq --dry-run   # list them
    python /app/deploy/docker/replay_dlq.py reports.submitted.v1.dlq             # replay

The target is the dead-letter topic's name without ".dlq" unless --to names another. Key and
value are copied byte for byte; the "error" and "source" headers the workers wrote are shown,
and each copy carries a "replayed-from" header (topic:partition:offset). Progress is kept by
the consumer group (--group, default dlq-replay): an offset is committed only after Kafka
acknowledged the copies (acks=all), so an interrupted run resumes where it stopped and a
finished one replays nothing twice. Consumers dedupe by report_id, so a copy that was sent
twice anyway does no harm. Settings (KAFKA_BOOTSTRAP, ...) come from the environment.
"""

from __future__ import annotations

import argparse
import sys
import time

from kafka.structs import OffsetAndMetadata

from shared.kafka import make_consumer, make_producer
from shared.settings import Settings

JOIN_TIMEOUT_S = 90.0


def _header(headers: list[tuple[str, bytes]] | None, name: str) -> str:
    for key, value in headers or []:
        if key == name:
            return value.decode("utf-8", errors="replace")
    return ""


def replay(settings: Settings, source: str, target: str, *, group: str, dry_run: bool,
           limit: int | None, idle_seconds: float, out=sys.stdout) -> int:
    """Copy messages from `source` to `target`; return how many were (or would be) sent."""
    consumer = make_consumer(settings, source, group_id=group, client_id=f"{group}-consumer")
    producer = None if dry_run else make_producer(settings, client_id=f"{group}-producer")
    count = 0
    join_deadline = time.monotonic() + JOIN_TIMEOUT_S
    last_seen = time.monotonic()
    try:
        while limit is None or count < limit:
            polled = consumer.poll(timeout_ms=500, max_records=200)
            now = time.monotonic()
            if not polled:
                if not consumer.assignment():  # still joining the group: not idle yet
                    if now > join_deadline:
                        raise SystemExit(f"no partition of {source} assigned after "
                                         f"{JOIN_TIMEOUT_S:.0f} s: does the topic exist?")
                    last_seen = now
                elif now - last_seen > idle_seconds:
                    break
                continue
            last_seen = now
            futures, copied = [], {}
            for partition, records in polled.items():
                for record in records:
                    if limit is not None and count >= limit:
                        break
                    origin = f"{record.topic}:{record.partition}:{record.offset}"
                    print(f"{origin} error={_header(record.headers, 'error')!r} "
                          f"source={_header(record.headers, 'source')!r}", file=out)
                    count += 1
                    copied[partition] = OffsetAndMetadata(record.offset + 1, "", -1)
                    if producer is not None:
                        futures.append(producer.send(
                            target, key=record.key, value=record.value or b"",
                            headers=[("replayed-from", origin.encode())]))
            if producer is None:
                continue
            producer.flush(timeout=30)
            for future in futures:
                future.get(timeout=1)  # raises if Kafka did not acknowledge: nothing committed
            consumer.commit(copied)
    finally:
        consumer.close(autocommit=False)
        if producer is not None:
            producer.close(timeout=10)
    verb = "would replay" if dry_run else "replayed"
    print(f"{verb} {count} message(s) from {source} to {target}", file=out)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="replay_dlq.py", description=__doc__.splitlines()[0])
    parser.add_argument("dlq", help="dead-letter topic, e.g. reports.submitted.v1.dlq")
    parser.add_argument("--to", help="target topic (default: the DLQ name without .dlq)")
    parser.add_argument("--group", default="dlq-replay")
    parser.add_argument("--dry-run", action="store_true",
                        help="list the messages; send and commit nothing")
    parser.add_argument("--max", type=int, default=None, help="stop after this many")
    parser.add_argument("--idle-seconds", type=float, default=10.0,
                        help="stop when nothing arrived for this long")
    args = parser.parse_args(argv)
    target = args.to or (args.dlq[: -len(".dlq")] if args.dlq.endswith(".dlq") else None)
    if not target:
        parser.error("the DLQ name does not end in .dlq: give --to")
    if target == args.dlq:
        parser.error("source and target are the same topic")
    replay(Settings.from_env(), args.dlq, target, group=args.group, dry_run=args.dry_run,
           limit=args.max, idle_seconds=args.idle_seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
