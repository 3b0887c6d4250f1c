"""Job queue: the ``Queue`` protocol and the in-process implementation (a pool of worker threads).

Each worker thread owns a ``ModelCache``, so a model is loaded once per worker, on its first job,
and reused for every later one. The queue holds only job ids; the store is the truth, so a
Celery implementation (issue 8) can take its place by sending the same ids to ``run_job``.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Protocol

from app.jobs import Job
from app.lifecycle import JobLifecycle
from app.model_cache import ModelCache
from app.settings import Settings
from app.storage import Storage
from app.store import JobStore
from app.worker import WorkerContext, run_job

log = logging.getLogger(__name__)


class Queue(Protocol):
    """Hands job ids to workers. Implementations: ``LocalQueue`` (threads), ``CeleryQueue``
    (``app.celery.producer``)."""

    def start(self) -> None: ...

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop taking jobs; running ones are handed back to the queue (not counted as attempts)."""
        ...

    def enqueue(self, job_id: str) -> None: ...

    def depth(self) -> int:
        """Job ids waiting for a worker."""
        ...

    def alive(self) -> bool:
        """Whether workers are running."""
        ...

    def unready(self) -> str | None:
        """Why jobs cannot run now (naming what is wrong: the worker threads, the broker), or None."""
        ...

    def busy(self) -> int:
        """Workers running a job now."""
        ...


class LocalQueue:
    """``Queue`` of worker threads in this process."""

    def __init__(self, settings: Settings, store: JobStore, storage: Storage,
                 on_finished: Callable[[Job], None] = lambda job: None) -> None:
        self._settings = settings
        self._store = store
        self._storage = storage
        self._on_finished = on_finished
        self._ids: queue.Queue[str] = queue.Queue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._busy_lock = threading.Lock()

    def start(self) -> None:
        for index in range(self._settings.workers):
            thread = threading.Thread(target=self._work, name=f"worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("started %d in-process worker(s)", len(self._threads))

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=timeout_s)

    def enqueue(self, job_id: str) -> None:
        self._ids.put(job_id)

    def depth(self) -> int:
        return self._ids.qsize()

    def alive(self) -> bool:
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def unready(self) -> str | None:
        return None if self.alive() else "worker threads are not running"

    def busy(self) -> int:
        return self._busy

    def _work(self) -> None:
        ctx = WorkerContext(store=self._store, storage=self._storage, settings=self._settings,
                            models=ModelCache(self._settings), on_finished=self._on_finished,
                            stopping=self._stopping)
        while not self._stopping.is_set():
            try:
                job_id = self._ids.get(timeout=0.5)
            except queue.Empty:
                continue
            with self._busy_lock:
                self._busy += 1
            try:
                run_job(job_id, ctx)
            except Exception:  # a store outage must not kill the worker thread
                log.exception("worker: job %s could not be run", job_id)
            finally:
                with self._busy_lock:
                    self._busy -= 1


def make_queue(settings: Settings, store: JobStore, storage: Storage, lifecycle: JobLifecycle) -> Queue:
    """The queue chosen by ``LESSONLENS_QUEUE``."""
    if settings.queue == "celery":
        from app.celery.producer import CeleryQueue  # Celery is imported only when chosen

        return CeleryQueue(settings, store, lifecycle)
    return LocalQueue(settings, store, storage, lifecycle.finished)
