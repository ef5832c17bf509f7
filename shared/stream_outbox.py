"""An outbox source over a collection's change stream, for the shared outbox publisher
(shared/outbox.py). The stored documents are their own outbox: the stream says what changed,
so a change costs its writer no outbox write, and the source adds one state write per
acknowledged batch (not one per document).

- `pending` reads up to a batch of changes and turns them into outbox entries (`entries`);
- `mark_published`, called once the broker acknowledged the batch, saves the stream's resume
  point together with the batch's progress (`progress`, e.g. the last id or time published),
  in the lease's document and on the condition that this replica still holds the lease; at
  most once every SAVE_EVERY_S (a busy publisher acknowledged several batches a second, each
  a store write), the later batches' point kept until then and saved by the next save, by
  the first round that finds nothing new (caught up) or by `flush` (a clean stop);
- `connect` resumes after the saved point. If there is none (a first start) or the store no
  longer has it (its oplog rolled past it), it opens a new stream first and then calls
  `recover`, which republishes from the store what the stream may have missed since the saved
  progress: a change landing in between is published twice rather than missed.

A crash between the broker's acknowledgement and the save sends the batches acknowledged since
the last save again (at most SAVE_EVERY_S of them): consumers drop repeats by event id (the
intake projector and notifier by the ticket's seq, the classifier's corrections by report,
the latest winning: the stream replays in order).

What a subclass supplies is data: the collection, the stream's filter, the entries and
messages of a batch, its progress and its recovery query.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from pymongo.change_stream import CollectionChangeStream
from pymongo.collection import Collection
from pymongo.errors import OperationFailure

from shared.clock import Clock
from shared.kafka import Outgoing
from shared.lease import Lease
from shared.outbox import LeaseLost, OutboxPublisher

log = logging.getLogger(__name__)

# how many changes a round reads at most for one batch of entries (changes that produce no
# entry are skipped: a round stays bounded however many of them come in a row)
READ_AHEAD = 10
# the resume point of acknowledged batches is saved at most this often (wall seconds)
SAVE_EVERY_S = 1.0


class ChangeStreamSource:
    def __init__(self, *, collection: Collection, pipeline: list[dict[str, Any]],
                 state: Collection, state_id: str, lease: Lease, clock: Clock,
                 stream_batch: int = 1000) -> None:
        self.collection = collection
        self.pipeline = pipeline
        self.state = state
        self.state_id = state_id
        self.lease = lease
        self.clock = clock
        self.stream_batch = stream_batch
        self.publisher: OutboxPublisher | None = None
        self._stream: CollectionChangeStream | None = None
        self._token: dict[str, Any] | None = None  # saved with the stream batch being marked
        self._last_save = 0.0
        # acknowledged, not saved yet: the resume point after them and their progress
        self._unsaved_token: dict[str, Any] | None = None
        self._unsaved_progress: dict[str, Any] = {}

    # -- what a subclass supplies --------------------------------------------------------
    def entries(self, changes: list[dict[str, Any]]) -> list[Any]:
        """The outbox entries of a batch of changes (none for a change with nothing to
        publish)."""
        raise NotImplementedError

    def messages(self, entry: Any) -> list[Outgoing]:
        raise NotImplementedError

    def progress(self, entries: Sequence[Any]) -> dict[str, Any]:
        """Fields saved with `$max` once the entries are acknowledged: what `recover` reads."""
        return {}

    def recover(self, state: dict[str, Any]) -> int:
        """Republish from the store what changed after the saved progress (`state`, empty on
        a first start); the number of entries published."""
        raise NotImplementedError

    def topics_lost(self, created_topics: list[str]) -> None:
        """Called on each connection before the stream opens, with the topics the publisher
        had to create: republish what a broker that lost them no longer holds."""

    # -- the outbox source ---------------------------------------------------------------
    def pending(self, limit: int) -> list[Any]:
        assert self._stream is not None, "pending() runs after connect()"
        batch: list[Any] = []
        read = 0
        while len(batch) < limit and read < READ_AHEAD * limit:
            changes = []
            while len(changes) < limit - len(batch):
                change = self._stream.try_next()
                if change is None:
                    break
                changes.append(change)
            if not changes:
                break
            read += len(changes)
            batch.extend(self.entries(changes))
        if batch:
            self._token = self._stream.resume_token
        elif (self._unsaved_token is not None or self._unsaved_progress
              or time.monotonic() - self._last_save > self.lease.duration.total_seconds() / 3):
            # nothing to publish up to here: save what was acknowledged (caught up), and keep
            # the resume point (and the lease) fresh
            self.save(self._stream.resume_token, {})
        return batch

    def mark_published(self, entries: Sequence[Any]) -> None:
        self._keep(self._token, self.progress(entries))
        self._token = None
        if time.monotonic() - self._last_save >= SAVE_EVERY_S:
            self.flush()

    def flush(self) -> None:
        """Save the resume point and progress of the batches acknowledged since the last
        save, if any."""
        if self._unsaved_token is not None or self._unsaved_progress:
            self.save(None, {})

    def connect(self, publisher: OutboxPublisher, created_topics: list[str]) -> None:
        self.publisher = publisher
        self.topics_lost(created_topics)
        self._stream = self._open_stream()
        self._last_save = time.monotonic()  # the resume point just read or saved

    def disconnect(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        self._token = None
        # not saved: the next connection resumes from the saved point and sends them again
        self._unsaved_token, self._unsaved_progress = None, {}

    # -- helpers for subclasses ------------------------------------------------------------
    def saved_state(self) -> dict[str, Any]:
        return self.state.find_one({"_id": self.state_id}) or {}

    def _keep(self, token: dict[str, Any] | None, progress: dict[str, Any]) -> None:
        if token is not None:
            self._unsaved_token = token
        for name, value in progress.items():
            kept = self._unsaved_progress.get(name)
            self._unsaved_progress[name] = value if kept is None else max(kept, value)

    def save(self, token: dict[str, Any] | None, progress: dict[str, Any]) -> None:
        """The resume point and progress (with those acknowledged and not saved yet), if
        this replica still holds the lease (renewed by the same write)."""
        self._keep(token, progress)
        token, progress = self._unsaved_token, dict(self._unsaved_progress)
        started = self.lease.monotonic()
        update: dict[str, Any] = {"$set": {"lease_until": self.clock() + self.lease.duration}}
        if token is not None:
            update["$set"]["resume_token"] = token
        if progress:
            update["$max"] = progress
        result = self.state.update_one({"_id": self.state_id, "owner": self.lease.owner},
                                       update)
        if result.matched_count == 0:
            raise LeaseLost()
        self.lease.renewed(started)  # `held` needs no write of its own for a while
        self._last_save = time.monotonic()
        self._unsaved_token, self._unsaved_progress = None, {}

    def republish(self, entries: Iterable[Any], *, batch_size: int) -> int:
        """Publish entries read from the store, a batch at a time (each batch acknowledged,
        then its progress saved)."""
        assert self.publisher is not None
        count = 0
        batch: list[Any] = []
        for entry in entries:
            batch.append(entry)
            if len(batch) >= batch_size:
                count += self.publisher.publish(self, batch)
                batch = []
        if batch:
            count += self.publisher.publish(self, batch)
        return count

    def _watch(self, **kwargs: Any) -> CollectionChangeStream:
        return self.collection.watch(self.pipeline, max_await_time_ms=10,
                                     batch_size=self.stream_batch, **kwargs)

    def _open_stream(self) -> CollectionChangeStream:
        state = self.saved_state()
        token = state.get("resume_token")
        if token is not None:
            try:
                return self._watch(resume_after=token)
            except OperationFailure as exc:
                log.warning("%s: resume point lost (%s): republishing from the store",
                            self.state_id, exc.code)
        stream = self._watch()
        try:
            self.recover(state)
            self.save(stream.resume_token, {})
        except BaseException:
            stream.close()
            raise
        return stream
