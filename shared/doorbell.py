"""Wait for a change to a collection instead of asking it again and again.

A loop that finds nothing to do would otherwise query the store a few times a second for as
long as it lives. It can ring a Doorbell instead: a change stream on the collection, opened
before the loop reads it (so that a change landing after the read rings), on which the store
holds one `getMore` for up to `await_s` and answers as soon as a matching change is written.
Idle, that is one request per `await_s`; a change is seen at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from pymongo.change_stream import CollectionChangeStream
from pymongo.collection import Collection

INSERTS: tuple[dict[str, Any], ...] = ({"$match": {"operationType": "insert"}},)


class Doorbell:
    def __init__(self, collection: Collection, *,
                 pipeline: Sequence[dict[str, Any]] = INSERTS, await_s: float = 1.0,
                 min_interval_s: float = 0.2) -> None:
        self.collection = collection
        self.pipeline = list(pipeline)
        self.await_ms = max(1, int(await_s * 1000))
        # the embedded store ends a held getMore on a write to ANY collection: without a
        # floor, a busy store made the doorbell ask once per write (9,764 getMores in a
        # 1,500-report run); with it, at most once per `min_interval_s`
        self.min_interval_s = min_interval_s
        self._stream: CollectionChangeStream | None = None

    def arm(self) -> None:
        """Open the change stream if it is not open: call before reading the collection."""
        if self._stream is None:
            self._stream = self.collection.watch(self.pipeline,
                                                 max_await_time_ms=self.await_ms)

    def wait(self, timeout_s: float, stop: threading.Event | None = None) -> bool:
        """Wait until a matching change (True) or until `timeout_s` has passed, or `stop` is
        set (False). It may return up to `await_s` after `timeout_s`. Store errors raise and
        close the stream (the next `arm` opens it again)."""
        self.arm()
        assert self._stream is not None
        deadline = time.monotonic() + timeout_s
        try:
            while not (stop is not None and stop.is_set()):
                asked = time.monotonic()
                if self._stream.try_next() is not None:
                    return True
                now = time.monotonic()
                if now >= deadline:
                    return False
                pause = min(self.min_interval_s - (now - asked), deadline - now)
                if pause > 0:
                    if stop is not None:
                        stop.wait(pause)
                    else:
                        time.sleep(pause)
            return False
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.close()
            finally:
                self._stream = None
