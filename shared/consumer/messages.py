"""What the consumer loop hands a handler, and what a handler gives back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from shared.events import Event, encode_event
from shared.kafka import Outgoing

W = TypeVar("W")


@dataclass(frozen=True)
class Message:
    """A record of the batch, decoded into an event its topic accepts."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    event: Event

    @property
    def source(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


@dataclass(frozen=True)
class Batch:
    """The handler's whole input: the batch's messages and the instant it is handled at."""

    messages: list[Message]
    now: datetime


@dataclass(frozen=True)
class Output(Generic[W]):
    """What the handler made of one message: messages to produce, a write for the service's
    side-effect step, or the reason it can never be processed (to the dead-letter topic)."""

    produce: tuple[Outgoing, ...] = ()
    write: W | None = None
    reject: str | None = None

    @classmethod
    def rejected(cls, reason: str) -> Output[W]:
        return cls(reject=reason)


def event_message(topic: str, event: Event, *, key: str) -> Outgoing:
    """An event to produce, keyed (so ordered) by `key`."""
    return Outgoing(topic=topic, key=key.encode(), value=encode_event(event))
