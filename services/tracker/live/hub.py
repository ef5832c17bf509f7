"""One hub per tracker worker process: a thread reads the store's change stream (tickets,
notifications, viewers) and hands each event to the open pages that may hear it.

Chosen on measurement (README, Live pages): the embedded store and MongoDB both serve change
streams; on the embedded store a change reached a reader in 2 ms (p50, max 20 ms), with
`fullDocument: updateLookup`, `$match`/`$project`, resume tokens and transactions working. The
status topic would add the publisher's outbox delay, carries neither owners' names nor
notifications, and every worker would need a consumer group of its own.

The threads (one per collection) start with the first page (after gunicorn's fork: no
client crosses it). A lost connection is resumed from the last resume token; when that is
impossible, every page is told to read itself again (`resync`), so nothing is missed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from pymongo.database import Database
from pymongo.errors import OperationFailure, PyMongoError

from services.tracker.live.events import RESYNC, LiveEvent, Subscription, delivers, from_change
from services.tracker.store import NOTIFICATIONS, TICKETS, VIEWERS
from shared.retry import Backoff

log = logging.getLogger(__name__)
CLOSED = object()  # put in an inbox when the hub stops: the page's stream ends
WATCHED = (TICKETS, NOTIFICATIONS, VIEWERS)
# one stream per collection: the tracker's MongoDB role grants `changeStream` on its own
# collections only, never on the database (deploy/docker/mongo_users.py)
PIPELINE = [
    {"$match": {"operationType": {"$in": ["insert", "update", "replace", "delete"]}}},
    {"$project": {"operationType": 1, "ns": 1, "documentKey": 1,
                  "updateDescription.updatedFields": 1, "fullDocument.department": 1,
                  "fullDocument.user": 1, "fullDocument.ticket_id": 1}},
]


@dataclass(frozen=True)
class LiveConfig:
    max_streams: int = 200        # open pages per worker; gunicorn gets as many more threads
    keepalive_s: float = 15.0     # a comment line when nothing happened (proxies, dead peers)
    stream_max_s: float = 600.0   # then the browser reconnects (and the session is re-read)
    presence_beat_s: float = 15.0
    idle_stop_s: float = 30.0     # the change streams close when no page was open this long


class Inbox:
    """A page's queue of events. Bounded: a page that cannot keep up is told to resync."""

    def __init__(self, subscription: Subscription, size: int = 256) -> None:
        self.subscription = subscription
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=size)
        self.overflowed = False

    def put(self, item: Any) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.overflowed = True

    def take(self, timeout: float) -> list[Any]:
        """Everything waiting (after waiting up to `timeout` for the first)."""
        try:
            items = [self._queue.get(timeout=timeout)]
        except queue.Empty:
            items = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if self.overflowed:
            self.overflowed = False
            items.append(RESYNC)
        return items


class Hub:
    def __init__(self, db: Database, *, config: LiveConfig | None = None) -> None:
        self.db = db
        self.config = config or LiveConfig()
        self._inboxes: set[Inbox] = set()
        self._lock = threading.Lock()
        self._followers: list[_Follower] = []
        self._generation = 0
        self._idle_since = time.monotonic()
        self._stop = threading.Event()

    # -- pages --------------------------------------------------------------------------
    def subscribe(self, subscription: Subscription, *, wait_s: float = 5.0) -> Inbox | None:
        """None when the worker holds its maximum of open pages (or the streams cannot be
        opened): the page keeps its periodic refresh."""
        with self._lock:
            if len(self._inboxes) >= self.config.max_streams or self._stop.is_set():
                return None
            inbox = Inbox(subscription)
            self._inboxes.add(inbox)
        self.start()
        if not self._ready(wait_s):
            self.unsubscribe(inbox)
            return None
        return inbox

    def unsubscribe(self, inbox: Inbox) -> None:
        with self._lock:
            self._inboxes.discard(inbox)
            if not self._inboxes:
                self._idle_since = time.monotonic()

    @property
    def open_pages(self) -> int:
        return len(self._inboxes)

    def publish(self, event: LiveEvent) -> int:
        """Hand the event to every page that may hear it; returns how many."""
        with self._lock:
            inboxes = list(self._inboxes)
        told = 0
        for inbox in inboxes:
            if delivers(inbox.subscription, event):
                inbox.put(event)
                told += 1
        return told

    # -- the change stream ---------------------------------------------------------------
    def start(self) -> None:
        """Followers for every watched collection, unless a current set is running."""
        with self._lock:
            if self._stop.is_set() or (self._followers
                                       and not any(f.done for f in self._followers)):
                return
            self._generation += 1  # an older set still winding down stops publishing
            self._followers = [_Follower(self, name, self._generation) for name in WATCHED]
            for follower in self._followers:
                threading.Thread(target=follower.run, name=f"live-{follower.collection}",
                                 daemon=True).start()

    def idle(self, follower: _Follower) -> bool:
        """Whether the follower should end: superseded, or no page open for a while (no
        stream is held open for nobody; the next page starts them again)."""
        with self._lock:
            if follower.generation != self._generation or (
                    not self._inboxes
                    and time.monotonic() - self._idle_since > self.config.idle_stop_s):
                follower.done = True
            return follower.done

    def _ready(self, wait_s: float) -> bool:
        deadline = time.monotonic() + wait_s
        return all(f.open.wait(max(0.0, deadline - time.monotonic()))
                   for f in list(self._followers))

    def close(self) -> None:
        """The worker is stopping: end every page's stream now, not at the grace timeout."""
        self._stop.set()
        with self._lock:
            inboxes = list(self._inboxes)
        for inbox in inboxes:
            inbox.put(CLOSED)


class _Follower:
    """Follows one collection's change stream for the hub."""

    def __init__(self, hub: Hub, collection: str, generation: int) -> None:
        self.hub = hub
        self.collection = collection
        self.generation = generation
        self.done = False
        self.open = threading.Event()
        self.token: Any = None
        self.opened_once = False

    def run(self) -> None:
        backoff = Backoff(first=0.2, cap=5.0)
        while not self.hub._stop.is_set() and not self.hub.idle(self):
            try:
                self._follow(backoff)
            except OperationFailure as exc:  # the resume point is gone (history lost)
                log.warning("live: %s stream could not resume (%s); pages resync",
                            self.collection, exc)
                self.token = None
                self.open.clear()
                self.hub._stop.wait(backoff.next())
            except PyMongoError as exc:
                self.open.clear()
                log.warning("live: %s stream lost (%r); reconnecting", self.collection, exc)
                self.hub._stop.wait(backoff.next())

    def _follow(self, backoff: Backoff) -> None:
        resumed = self.token is not None
        with self.hub.db[self.collection].watch(
                PIPELINE, full_document="updateLookup", max_await_time_ms=500,
                resume_after=self.token) as stream:
            if self.opened_once and not resumed:
                self.hub.publish(RESYNC)  # opened afresh after a loss: what happened between
            self.opened_once = True
            self.open.set()
            backoff.reset()
            while not self.hub._stop.is_set():
                change = stream.try_next()
                if self.hub.idle(self):
                    return
                if change is None:
                    continue
                self.token = stream.resume_token
                event = from_change(change)
                if event is not None:
                    self.hub.publish(event)
