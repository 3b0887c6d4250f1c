"""Job queue: the ``Queue`` protocol and the embedded implementation (worker threads in the
leader process of the server: the job process of ``serve``, ``app.job_process``, or an HTTP process).

Each worker thread owns a ``ModelCache``, so a model is loaded once per worker, on its first job,
and reused for every later one. The queue holds only job ids; the store is the truth, so a
Celery implementation (issue 8) can take its place by sending the same ids to ``run_job``.

``EmbeddedQueue`` serves one or several HTTP processes over one SQLite store: every process
stores a job with its outbox mark; the leader (``app.leader``) runs the jobs on its
``LocalQueue`` threads, takes the marked ones from the store every ``OUTBOX_POLL_S``, recovers a
dead leader's jobs when it takes over, reaps lapsed leases and resumes pending webhooks.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from app.jobs import Job
from app.leader import LOCK_FILE, LeaderLock, Leadership
from app.lifecycle import SERVER_STOPPED, JobLifecycle, Upkeep
from app.model_cache import ModelCache
from app.settings import Settings
from app.storage import Storage
from app.store import JobStore, Lease
from app.worker import WorkerContext, hand_back_running, run_job

log = logging.getLogger(__name__)

OUTBOX_POLL_S = 0.2  # how soon the leader runs a job another process stored (one indexed read)
ELECTION_POLL_S = 0.5  # how often a follower tries the leader lock


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


def lower_priority(nice: int) -> None:
    """Run the calling thread at niceness ``nice`` (never higher priority than it has).

    Linux keeps a niceness per thread, and a thread or program started from this one inherits
    it: Whisper's and ONNX Runtime's pools (their models load in the job thread), the stage
    threads and ffmpeg. So the HTTP threads of the same process win the cores whenever they
    have work, and a burst of submits is not answered at the pace of a running job.
    """
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, max(nice, os.getpriority(os.PRIO_PROCESS, tid)))
    except OSError as e:  # a sandbox that refuses it: the jobs run as before
        log.warning("job thread priority not lowered (LESSONLENS_JOB_NICE=%d): %s", nice, e)


class LocalQueue:
    """``Queue`` of worker threads in this process."""

    def __init__(self, settings: Settings, store: JobStore, storage: Storage,
                 on_finished: Callable[[Job], None] = lambda job: None) -> None:
        self._settings = settings
        self._store = store
        self._storage = storage
        self._on_finished = on_finished
        self._ids: queue.Queue[str] = queue.Queue()
        self._waiting: set[str] = set()  # ids in ``_ids``: one given twice (local and outbox) waits once
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._running: dict[str, Lease] = {}  # the workers' jobs now (``WorkerContext.running``)
        self._busy = 0
        self._busy_lock = threading.Lock()

    def start(self) -> None:
        for index in range(self._settings.workers):
            thread = threading.Thread(target=self._work, name=f"worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("started %d in-process worker(s)", len(self._threads))

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop taking jobs; a running job hands itself back at its next progress report. One
        still running ``timeout_s`` later (a Whisper window decoding at the job threads' low
        priority on a busy machine reports nothing for that long) is handed back from here, with
        its lease, before the process goes: a graceful stop never costs a job an attempt."""
        self._stopping.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self._threads):
            hand_back_running(self._running, self._store, timeout_s)

    def enqueue(self, job_id: str) -> None:
        with self._busy_lock:
            if job_id in self._waiting:
                return
            self._waiting.add(job_id)
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
        lower_priority(self._settings.job_nice)
        ctx = WorkerContext(store=self._store, storage=self._storage, settings=self._settings,
                            models=ModelCache(self._settings), on_finished=self._on_finished,
                            stopping=self._stopping, running=self._running)
        while not self._stopping.is_set():
            try:
                job_id = self._ids.get(timeout=0.5)
            except queue.Empty:
                continue
            with self._busy_lock:
                self._waiting.discard(job_id)
                self._busy += 1
            try:
                run_job(job_id, ctx)
            except Exception:  # a store outage must not kill the worker thread
                log.exception("worker: job %s could not be run", job_id)
            finally:
                with self._busy_lock:
                    self._busy -= 1


class EmbeddedQueue:
    """``Queue`` of the embedded setup, in each process of one server (``serve --workers N``: the
    HTTP processes and the job process).

    A job's row carries its outbox mark (``store.create``). In the leader, ``enqueue`` hands the
    id to the worker threads at once; in the others it does nothing, and the leader's relay thread
    takes the marked jobs from the store every ``OUTBOX_POLL_S`` (a claim or the relay clears
    the mark; a dead leader's successor queues every ``queued`` job anyway). The leader's
    ``Upkeep`` reaps lapsed leases every ``LESSONLENS_UPKEEP_EVERY_S``. ``resume`` runs when this
    process becomes the leader, after recovery (webhook events left pending).
    """

    def __init__(self, settings: Settings, store: JobStore, storage: Storage, lifecycle: JobLifecycle,
                 resume: Callable[[], None] = lambda: None, lock: LeaderLock | None = None) -> None:
        self._store = store
        self._lifecycle = lifecycle
        self._resume = resume
        self._local = LocalQueue(settings, store, storage, lifecycle.finished)
        # Reaps lapsed leases and queues the jobs it reaped (marked for the outbox).
        self._upkeep = Upkeep(store, lifecycle, lambda job: self._local.enqueue(job.id),
                              every_s=settings.upkeep_every_s)
        self._relaying = threading.Event()
        self._relay = threading.Thread(target=self._run_relay, name="outbox-relay", daemon=True)
        # ``lock``: taken already (the job process of ``serve`` takes it before it builds this).
        self._leadership = Leadership(lock or LeaderLock(settings.data_dir / LOCK_FILE), self._take_over,
                                      self._hand_back, poll_s=ELECTION_POLL_S, grace_s=settings.leader_grace_s)

    @property
    def leading(self) -> bool:
        """Whether this process runs the jobs."""
        return self._leadership.leading

    def _take_over(self) -> None:
        self._lifecycle.recover(SERVER_STOPPED)  # the lock was free: whoever ran these jobs is gone
        for job_id in self._store.queued_ids():  # a dead leader's waiting ones are marked sent already
            self._local.enqueue(job_id)
        self._local.start()
        self._relay.start()
        self._upkeep.start()
        self._resume()

    def _run_relay(self) -> None:
        """Hands the jobs other processes stored (their outbox marks) to the worker threads."""
        while not self._relaying.wait(OUTBOX_POLL_S):
            try:
                for job_id in self._store.take_unpublished():
                    self._local.enqueue(job_id)
            except Exception:  # the store is busy or briefly unreachable: the next round tries again
                log.warning("reading the outbox failed", exc_info=True)

    def _hand_back(self) -> None:
        self._relaying.set()
        self._relay.join(timeout=10)
        self._upkeep.stop()
        self._local.stop()

    def start(self) -> None:
        self._leadership.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._leadership.stop()

    def enqueue(self, job_id: str) -> None:
        if self.leading:
            self._local.enqueue(job_id)

    def depth(self) -> int:
        return self._local.depth()

    def alive(self) -> bool:
        return self._local.alive() if self.leading else self._leadership.leader_seen

    def unready(self) -> str | None:
        if self.leading:
            return self._local.unready()
        return None if self._leadership.leader_seen else "no process of this server runs the jobs yet"

    def busy(self) -> int:
        return self._local.busy()


def make_queue(settings: Settings, store: JobStore, storage: Storage, lifecycle: JobLifecycle,
               resume: Callable[[], None] = lambda: None, lock: LeaderLock | None = None) -> Queue:
    """The queue chosen by ``LESSONLENS_QUEUE``; ``resume`` runs in the process that runs the
    embedded queue's jobs, once it does (webhook events left pending); ``lock``, the leader lock
    this process holds already (``app.job_process``)."""
    if settings.queue == "celery":
        from app.celery.producer import CeleryQueue  # Celery is imported only when chosen

        return CeleryQueue(settings, store, lifecycle)
    return EmbeddedQueue(settings, store, storage, lifecycle, resume, lock)
