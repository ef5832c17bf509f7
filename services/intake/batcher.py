"""Group commit: concurrent report inserts of one process leave as one `insert_many`.

Request threads hand their document to `insert` and wait; a writer thread takes what has
queued (up to `max_batch`, waiting at most `max_wait_s` for company) and writes it with one
unordered `insert_many`, then tells each request its own outcome. A report is still stored
before its 201; the store sees one command instead of many.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError


class InsertBatcher:
    def __init__(self, collection: Collection, *, max_batch: int = 64,
                 max_wait_s: float = 0.002, timeout_s: float = 30.0) -> None:
        self._collection = collection
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._timeout_s = timeout_s
        self._queue: queue.Queue[tuple[dict[str, Any], Future[None]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def insert(self, doc: dict[str, Any]) -> None:
        """Insert one document; raises what insert_one would (DuplicateKeyError included)."""
        self._ensure_thread()
        future: Future[None] = Future()
        self._queue.put((doc, future))
        future.result(timeout=self._timeout_s)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="insert-batcher",
                                                    daemon=True)
                    self._thread.start()

    def _take(self) -> list[tuple[dict[str, Any], Future[None]]]:
        batch = [self._queue.get()]
        while len(batch) < self._max_batch:
            try:
                batch.append(self._queue.get(timeout=self._max_wait_s))
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            docs = [doc for doc, _ in batch]
            try:
                self._collection.insert_many(docs, ordered=False)
            except BulkWriteError as exc:
                failed = {err["index"]: err for err in exc.details.get("writeErrors", [])}
                for index, (_, future) in enumerate(batch):
                    err = failed.get(index)
                    if err is None:
                        future.set_result(None)
                    elif err.get("code") == 11000:
                        future.set_exception(DuplicateKeyError(err.get("errmsg", "duplicate"),
                                                               11000, err))
                    else:
                        future.set_exception(PyMongoError(err.get("errmsg", "write failed")))
                continue
            except Exception as exc:  # noqa: BLE001 - every waiting request must hear of it
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for _, future in batch:
                future.set_result(None)
