"""The dead-letter policy: a message that cannot be processed goes, unchanged, to its topic's
dead-letter topic (`<topic>.dlq`) with the reason, where it came from and which consumer
group set it aside in its headers; the rest of the batch goes on. `deploy/docker/replay_dlq.py`
sends them back to `<topic>` once the cause is fixed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from shared.kafka import Outgoing

SUFFIX = ".dlq"
# why a message was set aside (a bounded label of consumer_dead_letters_total)
Kind = Literal["undecodable", "unexpected", "rejected", "failed"]


def dead_letter_topic(topic: str) -> str:
    return f"{topic}{SUFFIX}"


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str
    kind: Kind

    @classmethod
    def of(cls, record: Any, reason: str, kind: Kind) -> DeadLetter:
        """`record`: a Kafka record or a consumer Message (same fields)."""
        return cls(record.topic, record.partition, record.offset, record.key, record.value,
                   reason, kind)

    @property
    def source(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    def message(self, *, group: str) -> Outgoing:
        return Outgoing(topic=dead_letter_topic(self.topic), key=self.key,
                        value=self.value or b"",
                        headers=(("error", self.reason.encode()[:500]),
                                 ("source", self.source.encode()),
                                 ("group", group.encode())))
