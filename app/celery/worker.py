"""The Celery worker side: the tasks ``lessonlens worker`` processes run, over ``app.lifecycle``.

The store stays the truth and a message carries only a job id, so running a message twice is
harmless: ``store.claim`` lets one worker take a queued job, under a lease (``app.worker``). A
worker killed mid-job stops renewing the lease; within ``LESSONLENS_LEASE_S`` the reaper of any
process (``app.lifecycle.Upkeep``, in every worker and API process) counts the lost attempt and
queues the job again with a new message, or fails it once ``LESSONLENS_MAX_ATTEMPTS`` is used up.
A worker that was only slow finds its writes refused (fencing by the lease token) and stops, so
the job finishes once; the broker's redelivery (visibility timeout) no longer recovers anything.
Its webhook event id (``evt_<job>_<status>``) is the same whichever worker sends it.

Webhooks are Celery tasks too (one attempt each, by ``WebhookPolicy``; the next is scheduled with
a countdown, and a message that comes before its attempt is due, redelivered or sent again, is
queued again for then), so a delivery survives the worker that finished the job. The worker that ends a
batch's last job marks the batch finished (once, whichever worker gets there) and queues its one
``batch.finished`` webhook, ``evt_<batch>_finished``, delivered the same way.

``celery -A app.celery.worker worker`` loads the app from the environment, as ``lessonlens worker``
does (which also serves metrics and picks the pool).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from celery import Celery, Task
from celery import signals as celery_signals

from app.celery.config import (
    BATCH_WEBHOOK_TASK,
    RUN_JOB_TASK,
    WEBHOOK_TASK,
    CelerySettings,
    make_celery,
    send_job,
)
from app.jobs import Batch, BatchSummary, Job, JobStatus, aggregate
from app.lifecycle import JobLifecycle, Upkeep, WebhookPolicy
from app.metrics import WorkerMetrics, process_exited
from app.model_cache import ModelCache
from app.settings import Settings
from app.storage import LocalStorage
from app.store import SqlJobStore
from app.worker import WorkerContext, hand_back_running, run_job

log = logging.getLogger(__name__)


class TaskWebhooks:
    """``Notifier`` of a worker: each webhook attempt is a task on the default queue."""

    def __init__(self, app: Celery, options: CelerySettings) -> None:
        self._app = app
        self._queue = options.default_queue

    def job_ended(self, job: Job) -> None:
        self._app.send_task(WEBHOOK_TASK, args=[job.id], queue=self._queue)

    def batch_ended(self, batch: Batch, summary: BatchSummary) -> None:
        self._app.send_task(BATCH_WEBHOOK_TASK, args=[batch.id], queue=self._queue)


class _Process:
    """What one worker process builds once: store, storage, models, lifecycle, webhook policy."""

    def __init__(self, app: Celery, settings: Settings, options: CelerySettings, metrics: WorkerMetrics) -> None:
        store = SqlJobStore(settings.resolved_database_url(), create=False)
        models = ModelCache(settings)
        if options.preload_models:
            from pipelines.asr import AsrOptions  # the ASR stack loads only where jobs run

            try:
                models.whisper(AsrOptions().resolved_model())
            except Exception as e:  # a job will report it properly; the worker still serves others
                log.warning("could not preload the default ASR model: %s", e)
        self.lifecycle = JobLifecycle(store, metrics, TaskWebhooks(app, options), settings.max_attempts)
        self.webhooks = WebhookPolicy.from_settings(store, metrics, settings)
        # Every worker process reaps lapsed leases and sends the outbox too: jobs recover with no API up.
        self.upkeep = Upkeep(store, self.lifecycle, lambda job: send_job(app, options, job),
                             every_s=settings.upkeep_every_s)
        self.upkeep.start()
        self.ctx = WorkerContext(store=store, storage=LocalStorage(settings.data_dir), settings=settings,
                                 models=models, on_finished=self.lifecycle.finished)
        log.info("worker process ready: store %s, storage %s, models %s",
                 store.url.split("@")[-1], settings.data_dir, ",".join(models.loaded()) or "none")


# A stopping worker's job whose run has not handed it back by then is handed back for it: within a
# supervisor's usual grace period (Kubernetes 30 s, systemd 90 s) and the test cluster's 20 s.
HAND_BACK_AFTER_S = 10.0


class Worker:
    """The tasks of a worker process; what they need is built once per process, on first use."""

    def __init__(self, app: Celery, settings: Settings, options: CelerySettings,
                 metrics: WorkerMetrics | None = None) -> None:
        self.app = app
        self.settings = settings
        self.options = options
        self.metrics = metrics or WorkerMetrics()
        self._process: _Process | None = None
        self._lock = threading.Lock()
        self.hand_back_after_s = HAND_BACK_AFTER_S
        self._handed_back: set[str] = set()  # by ``_hand_back_late``, message sent

    def process(self) -> _Process:
        with self._lock:
            if self._process is None:
                self._process = _Process(self.app, self.settings, self.options, self.metrics)
            return self._process

    def migrate(self) -> None:
        """Bring the store's schema up to date (once per worker, before any process forks)."""
        from app.migrations import ensure_schema  # Alembic loads only here, once

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        ensure_schema(self.settings.resolved_database_url())

    def stop(self) -> None:
        """Celery's warm shutdown began: a running job hands itself back at its next progress
        report; one that has not ``hand_back_after_s`` later is handed back for it, and its message
        sent, by a thread of its own (``_hand_back_late``), since a supervisor may kill the process
        soon after the stop signal (Kubernetes 30 s after it by default)."""
        proc = self._process
        if proc is None:
            return
        proc.ctx.stopping.set()
        proc.upkeep.stop()
        threading.Thread(target=self._hand_back_late, args=(proc,), name="hand-back", daemon=True).start()

    def _hand_back_late(self, proc: _Process) -> None:
        deadline = time.monotonic() + self.hand_back_after_s
        while proc.ctx.running and time.monotonic() < deadline:
            time.sleep(0.05)
        for job_id in hand_back_running(proc.ctx.running, proc.ctx.store, self.hand_back_after_s):
            self._handed_back.add(job_id)
            job = proc.ctx.store.get(job_id)
            if job is None or job.status != JobStatus.QUEUED:
                continue
            try:
                send_job(self.app, self.options, job)
                proc.ctx.store.mark_published(job_id)
            except Exception as e:  # the outbox of any process sends it
                log.warning("%s: handed back, its message not sent (%s): the outbox sends it", job_id, e)

    def run(self, task: Task, job_id: str) -> str:
        """Run a job. A redelivered message of a job still ``running`` is not taken over: whether
        its worker is alive is the lease's to say, and the reaper queues the job again once the
        lease lapses (with a new message), so this one is simply not runnable."""
        proc = self.process()
        ctx = proc.ctx
        with self.metrics.running.track_inprogress():
            finished = run_job(job_id, ctx)
        if finished is not None:
            return finished.status.value
        job = ctx.store.get(job_id)
        if job is not None and job.status == JobStatus.QUEUED and ctx.stopping.is_set():
            if job_id not in self._handed_back:  # else ``_hand_back_late`` handed it back and sent it
                # Handed back by a stopping worker: queue a fresh message before this one is acked.
                send_job(self.app, self.options, job)  # else the outbox (any process's Upkeep) sends it
                ctx.store.mark_published(job_id)
            return "handed back"
        return "not runnable" if job is None else f"not runnable ({job.status.value})"

    def deliver(self, job_id: str) -> str:
        """One webhook attempt for a finished job; queues the next after a failure.

        An attempt not due yet (a message delivered again, or sent by a resumed process, before
        the backoff after the last attempt in the job's delivery log ran out) is not made: the
        task is queued again for when it is due (``WebhookPolicy.due``'s ``not_before``)."""
        proc = self.process()
        job = proc.ctx.store.get(job_id)
        pending = None if job is None else proc.webhooks.due(job)
        if pending is None:
            return "nothing to send"
        wait = pending.not_before - time.time()
        if wait > 0:
            log.info("webhook %s attempt %d is due in %.1f s (the backoff after attempt %d): queued again",
                     pending.event.id, pending.attempt, wait, pending.attempt - 1)
            self.app.send_task(WEBHOOK_TASK, args=[job_id], queue=self.options.default_queue, countdown=wait)
            return f"not due: attempt {pending.attempt} queued again in {wait:.1f} s"
        result = proc.webhooks.attempt(pending)
        if result.retry_in is not None:
            self.app.send_task(WEBHOOK_TASK, args=[job_id], queue=self.options.default_queue,
                               countdown=result.retry_in)
        return result.outcome

    def deliver_batch(self, batch_id: str, attempt: int) -> str:
        """Attempt ``attempt`` of a finished batch's webhook; queues the next after a failure.

        A batch has no delivery log in the store, so the attempt number travels with the task."""
        proc = self.process()
        store = proc.ctx.store
        batch = store.get_batch(batch_id)
        if batch is None or not batch.finished_at:
            return "nothing to send"
        # evt_<batch>_finished, with the same body on every try: the batch and its jobs have ended
        pending = proc.webhooks.batch_due(batch, aggregate(store.get_many(batch.job_ids), made_jobs=bool(batch.job_ids)), attempt)
        if pending is None:
            return "nothing to send"
        result = proc.webhooks.attempt(pending)
        if result.retry_in is not None:
            self.app.send_task(BATCH_WEBHOOK_TASK, args=[batch_id, attempt + 1], queue=self.options.default_queue,
                               countdown=result.retry_in)
        return result.outcome


def register_tasks(app: Celery, worker: Worker) -> None:
    """Register the job and webhook tasks on ``app`` and the worker-process start-up hooks."""

    @app.task(name=RUN_JOB_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
    def run_job_task(self: Task, job_id: str) -> str:
        return worker.run(self, job_id)

    @app.task(name=WEBHOOK_TASK, acks_late=True)  # type: ignore[untyped-decorator]
    def deliver_webhook_task(job_id: str) -> str:
        return worker.deliver(job_id)

    @app.task(name=BATCH_WEBHOOK_TASK, acks_late=True)  # type: ignore[untyped-decorator]
    def deliver_batch_webhook_task(batch_id: str, attempt: int = 1) -> str:
        return worker.deliver_batch(batch_id, attempt)

    def on_process_init(**_: Any) -> None:  # a prefork child: its own store connections and models
        worker.process()

    def on_worker_init(sender: Any = None, **_: Any) -> None:
        worker.migrate()
        if any(kind in str(getattr(sender, "pool_cls", "")).lower() for kind in ("solo", "thread")):
            worker.process()  # the tasks run in this very process

    def on_shutting_down(**_: Any) -> None:
        worker.stop()

    def on_process_shutdown(pid: int = 0, **_: Any) -> None:  # in the prefork child, as it exits
        process_exited(pid or os.getpid())

    celery_signals.worker_process_init.connect(on_process_init, weak=False)
    celery_signals.worker_init.connect(on_worker_init, weak=False)
    celery_signals.worker_shutting_down.connect(on_shutting_down, weak=False)
    celery_signals.worker_process_shutdown.connect(on_process_shutdown, weak=False)


def make_worker_app(settings: Settings | None = None, options: CelerySettings | None = None,
                    metrics: WorkerMetrics | None = None) -> Celery:
    """A Celery app with the lessonlens tasks registered; the tasks record what they do in
    ``metrics`` (``lessonlens worker --metrics-port`` serves them)."""
    settings = settings or Settings()
    options = options or CelerySettings()
    app = make_celery(settings, options)
    register_tasks(app, Worker(app, settings, options, metrics))
    return app


_app: Celery | None = None


def __getattr__(name: str) -> Any:
    # `celery -A app.celery.worker worker` looks up the module attribute `app`/`celery` lazily, so
    # importing this module never reads settings or touches the broker.
    global _app
    if name in ("app", "celery"):
        if _app is None:
            _app = make_worker_app()
        return _app
    raise AttributeError(name)
