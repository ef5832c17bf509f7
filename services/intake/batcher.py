"""Group commit: concurrent report inserts of one process leave as one `insert_many`.

Request threads hand their document to `insert` and wait; a writer thread takes what has
queued and writes it with one unordered `insert_many`, then tells each request its own
outcome. A report is still stored before its 201; the store sees one command instead of many.

The writer waits for company only when company is on its way: a request announces itself
with `expecting()` when it starts, and the writer holds a batch open (at most `max_wait_s`)
while announced requests have not yet handed over their document. A lone request is written
at once, and a busy worker's batch closes as soon as its last expected document arrives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, NetworkTimeout, PyMongoError

from shared.mongo import DUPLICATE_KEY, insert_unordered

Pending = tuple[dict[str, Any], Future[None]]


class InsertBatcher:
    def __init__(self, collection: Collection, *, max_batch: int = 64,
                 max_wait_s: float = 0.005, timeout_s: float = 30.0) -> None:
        self._collection = collection
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._timeout_s = timeout_s
        self._changed = threading.Condition()
        self._queued: list[Pending] = []
        self._expected = 0  # announced requests that have not handed over a document yet
        self._announced = threading.local()
        self._thread: threading.Thread | None = None

    @contextmanager
    def expecting(self) -> Iterator[None]:
        """Around a request that may insert: the writer waits for its document."""
        if getattr(self._announced, "active", False):  # announced already, further out
            yield
            return
        with self._changed:
            self._expected += 1
        self._announced.active = True
        try:
            yield
        finally:
            if getattr(self._announced, "active", False):
                self._announced.active = False
                with self._changed:
                    self._expected -= 1
                    self._changed.notify()

    def insert(self, doc: dict[str, Any]) -> None:
        """Insert one document; raises what insert_one would (DuplicateKeyError included)."""
        self._ensure_thread()
        future: Future[None] = Future()
        announced = getattr(self._announced, "active", False)
        self._announced.active = False
        with self._changed:
            if announced:
                self._expected -= 1
            self._queued.append((doc, future))
            self._changed.notify()
        try:
            future.result(timeout=self._timeout_s)
        except TimeoutError:
            # the store did not answer in time: a store error for the caller (503); the
            # write may still land, and a retry with the same Idempotency-Key finds it
            raise NetworkTimeout(f"group commit not acknowledged in {self._timeout_s}s"
                                 ) from None

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._changed:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="insert-batcher",
                                                    daemon=True)
                    self._thread.start()

    def _take(self) -> list[Pending]:
        with self._changed:
            while not self._queued:
                self._changed.wait()
            deadline = time.monotonic() + self._max_wait_s
            while self._expected > 0 and len(self._queued) < self._max_batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            batch = self._queued[:self._max_batch]
            del self._queued[:self._max_batch]
        return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            try:
                failed = insert_unordered(self._collection, [doc for doc, _ in batch])
            except Exception as exc:  # noqa: BLE001 - every waiting request must hear of it
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for index, (_, future) in enumerate(batch):
                err = failed.get(index)
                if err is None:
                    future.set_result(None)
                elif err.get("code") == DUPLICATE_KEY:
                    future.set_exception(DuplicateKeyError(err.get("errmsg", "duplicate"),
                                                           DUPLICATE_KEY, err))
                else:
                    future.set_exception(PyMongoError(err.get("errmsg", "write failed")))


class DirectInsert:
    """One `insert_one` per report, for deployments that turn group commit off."""

    def __init__(self, collection: Collection) -> None:
        self._collection = collection

    def expecting(self) -> AbstractContextManager[None]:
        return nullcontext()

    def insert(self, doc: dict[str, Any]) -> None:
        self._collection.insert_one(doc)
