"""The distributed ``Queue``: job ids go to Celery; ``lessonlens worker`` processes run them.

The store stays the truth and a message carries only a job id, so running a message twice is
harmless: ``store.claim`` lets one worker take a queued job. A worker killed mid-job leaves the
job ``running`` and its message unacknowledged; the broker delivers it again (Redis: after the
visibility timeout; RabbitMQ: when the connection drops) with ``redelivered`` set, and the task
takes the job over: it counts the lost attempt, requeues it in the store and runs it, or fails it
once ``LESSONLENS_MAX_ATTEMPTS`` is used up. The job finishes once, and its webhook event id
(``evt_<job>_<status>``) is the same whichever worker sends it.

Webhooks are Celery tasks too (one attempt each, retried with backoff by scheduling the next),
so a delivery survives the worker that finished the job. The worker that ends a batch's last job
marks the batch finished (``app.batches.finish_if_done``: once, whichever worker gets there) and
queues its one ``batch.finished`` webhook, ``evt_<batch>_finished``, delivered the same way.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from celery import Celery, Task
from celery import signals as celery_signals
from kombu.exceptions import ChannelError

from app.batches import Batch, BatchSummary, aggregate, batch_jobs, batch_of, finish_if_done
from app.celery_app import RUN_JOB_TASK, WEBHOOK_TASK, CelerySettings, make_celery
from app.exceptions import UrlNotAllowed
from app.jobs import Job, JobStatus, WebhookDeliveryRecord
from app.metrics import WorkerMetrics, process_exited
from app.model_cache import ModelCache
from app.settings import Settings
from app.storage import LocalStorage, Storage
from app.store import JobStore, SqlJobStore
from app.webhooks import WebhookDelivery, WebhookEvent, batch_event, job_event
from app.worker import WorkerContext, run_job

log = logging.getLogger(__name__)

_CACHE_S = 2.0
BATCH_WEBHOOK_TASK = "lessonlens.deliver_batch_webhook"


class CeleryQueue:
    """``Queue`` that sends job ids to Celery. The API process runs no workers."""

    def __init__(self, settings: Settings, store: JobStore, storage: Storage,
                 on_finished: Callable[[Job], None] = lambda job: None,
                 options: CelerySettings | None = None, app: Celery | None = None) -> None:
        self._settings = settings
        self._store = store
        self._options = options or CelerySettings()
        self._app = app or make_celery(settings, self._options)
        # Sending blocks on the broker; callers include async routes, so one thread sends, in order.
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="celery-send")
        self._cached: dict[str, tuple[float, Any]] = {}

    def start(self) -> None:
        log.info("jobs go to Celery at %s, queues %s", _redact(self._settings.broker_url),
                 ",".join(self._options.all_queues()))

    def stop(self, timeout_s: float = 10.0) -> None:
        self._sender.shutdown(wait=True)
        self._app.close()

    def enqueue(self, job_id: str) -> None:
        self._sender.submit(self._send, job_id)

    def _send(self, job_id: str) -> None:
        try:
            job = self._store.get(job_id)
            if job is None:
                return
            queue = self._options.queue_for(job.stages)
            self._app.send_task(RUN_JOB_TASK, args=[job_id], queue=queue)
            log.debug("%s: sent to queue %s", job_id, queue)
        except Exception:  # the job stays queued in the store; the error must be seen
            log.exception("%s: could not be sent to the broker; it stays queued", job_id)

    def _cached_value(self, key: str, compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        hit = self._cached.get(key)
        if hit is not None and now - hit[0] < _CACHE_S:
            return hit[1]
        value = compute()
        self._cached[key] = (now, value)
        return value

    def depth(self) -> int:
        def count() -> int:
            total = 0
            try:
                with self._app.connection_for_read() as conn:
                    # RabbitMQ: passive, or it would declare the queue with other flags than Celery's.
                    # Redis: a declare only records a binding, and kombu's passive check misses prefixed keys.
                    passive = conn.transport.driver_type != "redis"
                    for name in self._options.all_queues():
                        with conn.channel() as channel:  # a failed declare closes its channel
                            try:
                                total += int(channel.queue_declare(queue=name, passive=passive).message_count)
                            except ChannelError:  # not declared yet by any worker: nothing waits
                                continue
            except Exception as e:
                log.warning("queue depth unknown: %s: %s", type(e).__name__, e)
                return -1
            return total

        return int(self._cached_value("depth", count))

    def alive(self) -> bool:
        """Whether the broker answers (workers are separate processes, scaled on their own)."""
        def ping() -> bool:
            try:
                with self._app.connection_for_write() as conn:
                    conn.ensure_connection(max_retries=1, timeout=2)
                return True
            except Exception as e:
                log.warning("broker unreachable: %s: %s", type(e).__name__, e)
                return False

        return bool(self._cached_value("alive", ping))

    def busy(self) -> int:
        """Jobs running on any worker (from the store, the one place all workers report to)."""
        return int(self._store.count_by_status().get(JobStatus.RUNNING.value, 0))


def _redact(url: str) -> str:
    head, at, tail = url.rpartition("@")
    return f"{head.split('://')[0]}://***@{tail}" if at else url


# ---------------------------------------------------------------- the worker side


class _Worker:
    """Per worker process: the store, storage, models and the task app, built once."""

    def __init__(self, app: Celery, settings: Settings, options: CelerySettings,
                 metrics: WorkerMetrics | None = None) -> None:
        self.app = app
        self.settings = settings
        self.options = options
        self.metrics = metrics or WorkerMetrics()
        self._ctx: WorkerContext | None = None
        self._lock = threading.Lock()

    def context(self) -> WorkerContext:
        with self._lock:
            if self._ctx is None:
                self._ctx = self._build()
            return self._ctx

    def migrate(self) -> None:
        """Bring the store's schema up to date (once per worker, before any process forks)."""
        from app.migrations import ensure_schema

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        ensure_schema(self.settings.resolved_database_url())

    def _build(self) -> WorkerContext:
        s = self.settings
        url = s.resolved_database_url()
        store = SqlJobStore(url, create=False)
        models = ModelCache(s)
        if self.options.preload_models:
            from pipelines.asr import AsrOptions

            try:
                models.whisper(AsrOptions().resolved_model())
            except Exception as e:  # a job will report it properly; the worker still serves others
                log.warning("could not preload the default ASR model: %s", e)
        log.info("worker process ready: store %s, storage %s, models %s",
                 store.url.split("@")[-1], s.data_dir, ",".join(models.loaded()) or "none")
        return WorkerContext(store=store, storage=LocalStorage(s.data_dir), settings=s, models=models,
                             on_finished=self._on_finished)

    def _on_finished(self, job: Job) -> None:
        """After a job ended: count it, queue its webhook, and finish its batch if it was the last.

        Never raises into the caller: the job's end is already stored and stands."""
        self.metrics.job_finished(job)
        if job.webhook_url:
            try:
                self.app.send_task(WEBHOOK_TASK, args=[job.id], queue=self.options.default_queue)
            except Exception:  # the broker is down: the batch bookkeeping below must still run
                log.exception("%s: could not queue its webhook", job.id)
        batch_id = batch_of(job)
        if batch_id:
            finish_if_done(self.context().store, batch_id, self._announce_batch)

    def _announce_batch(self, batch: Batch, summary: BatchSummary) -> None:
        if batch.webhook_url:
            self.app.send_task(BATCH_WEBHOOK_TASK, args=[batch.id], queue=self.options.default_queue)

    def stop(self) -> None:
        if self._ctx is not None:
            self._ctx.stopping.set()

    def run(self, task: Task, job_id: str) -> str:
        ctx = self.context()
        if task.request.delivery_info.get("redelivered"):
            self._take_over(ctx, job_id)
        with self.metrics.running.track_inprogress():
            finished = run_job(job_id, ctx)
        if finished is not None:
            return finished.status.value
        job = ctx.store.get(job_id)
        if job is not None and job.status == JobStatus.QUEUED and ctx.stopping.is_set():
            # Handed back by a stopping worker: queue a fresh message before this one is acked.
            queue = task.request.delivery_info.get("routing_key") or self.options.default_queue
            self.app.send_task(RUN_JOB_TASK, args=[job_id], queue=queue)
            return "handed back"
        return "not runnable" if job is None else f"not runnable ({job.status.value})"

    def _take_over(self, ctx: WorkerContext, job_id: str) -> None:
        """A redelivered job still ``running`` lost its worker: retry it, or end it (cancelled if
        that was asked for, failed once out of attempts)."""
        job = ctx.store.get(job_id)
        if job is None or job.status != JobStatus.RUNNING:
            return
        limit = self.settings.max_attempts
        if job.cancel_requested:
            status, error = JobStatus.CANCELLED, "cancelled by request (its worker was lost)"
        elif job.attempts < limit:
            log.warning("%s: its worker was lost during attempt %d; running it again", job_id, job.attempts)
            ctx.store.requeue(job_id, count_attempt=True)
            return
        else:
            status = JobStatus.FAILED
            error = (f"interrupted {job.attempts} time(s) by a lost worker (limit LESSONLENS_MAX_ATTEMPTS="
                     f"{limit}); submit it again")
        log.warning("%s: %s", job_id, error)
        finished = ctx.store.finish(job_id, status, error)
        if finished is not None:
            self._on_finished(finished)

    def _attempt(self, url: str, event: WebhookEvent, attempt: int, what: str) -> WebhookDeliveryRecord | None:
        """One signed POST of ``event`` to ``url``, counted; None when the URL is not allowed."""
        s = self.settings
        try:
            delivery = WebhookDelivery(url, s.webhook_secret.get_secret_value(), allow_private=s.allow_private_urls,
                                       timeout_s=s.webhook_timeout_s, resolve=False)
        except UrlNotAllowed as e:
            log.warning("%swebhook %s not sent: %s", what, event.id, e.message)
            return None
        record = delivery.attempt(event, attempt)
        self.metrics.webhook_attempt(record)
        return record

    def _retry(self, task: str, args: list[Any], event: WebhookEvent, attempt: int, error: str | None,
               what: str) -> None:
        """Schedule the next attempt after the backoff (doubling from ``webhook_backoff_s``)."""
        delay = self.settings.webhook_backoff_s * 2 ** (attempt - 1)
        log.info("%swebhook %s attempt %d failed (%s); retry in %.1f s", what, event.id, attempt, error, delay)
        self.app.send_task(task, args=args, queue=self.options.default_queue, countdown=delay)

    def deliver(self, task: Task, job_id: str) -> str:
        """One webhook attempt for a finished job; schedules the next after a failure."""
        ctx = self.context()
        job = ctx.store.get(job_id)
        if job is None or not job.webhook_url or not job.status.terminal:
            return "nothing to send"
        event = job_event(job)
        tried = [d for d in job.deliveries if d.event_id == event.id]
        if any(d.ok for d in tried) or len(tried) >= self.settings.webhook_tries:
            return "already done"
        attempt = len(tried) + 1
        record = self._attempt(job.webhook_url, event, attempt, "")
        if record is None:
            return "not allowed"
        final = record.ok or attempt >= self.settings.webhook_tries
        ctx.store.add_delivery(job_id, record, "delivered" if record.ok else ("failed" if final else "pending"))
        if not final:
            self._retry(WEBHOOK_TASK, [job_id], event, attempt, record.error, "")
        return "delivered" if record.ok else record.error or "failed"

    def deliver_batch(self, batch_id: str, attempt: int) -> str:
        """Attempt ``attempt`` of a finished batch's webhook; schedules the next after a failure.

        A batch has no delivery log in the store, so the attempt number travels with the task."""
        store = self.context().store
        batch = store.get_batch(batch_id)
        if batch is None or not batch.webhook_url or not batch.finished_at:
            return "nothing to send"
        what = f"batch {batch_id}: "
        event = batch_event(batch, aggregate(batch_jobs(store, batch)))  # evt_<batch>_finished on every try
        record = self._attempt(batch.webhook_url, event, attempt, what)
        if record is None:
            return "not allowed"
        if record.ok:
            log.info("%swebhook %s delivered (attempt %d, HTTP %s)", what, event.id, attempt, record.status_code)
            return "delivered"
        if attempt >= self.settings.webhook_tries:
            log.warning("%swebhook %s failed for good after %d attempts: %s", what, event.id, attempt, record.error)
        else:
            self._retry(BATCH_WEBHOOK_TASK, [batch_id, attempt + 1], event, attempt, record.error, what)
        return record.error or "failed"

def register_tasks(app: Celery, settings: Settings, options: CelerySettings,
                   metrics: WorkerMetrics | None = None) -> None:
    """Register the job and webhook tasks on ``app`` and the worker-process start-up hooks; the
    tasks record what they do in ``metrics`` (``lessonlens worker --metrics-port`` serves them)."""
    worker = _Worker(app, settings, options, metrics)

    @app.task(name=RUN_JOB_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
    def run_job_task(self: Task, job_id: str) -> str:
        return worker.run(self, job_id)

    @app.task(name=WEBHOOK_TASK, bind=True, acks_late=True)
    def deliver_webhook_task(self: Task, job_id: str) -> str:
        return worker.deliver(self, job_id)

    @app.task(name=BATCH_WEBHOOK_TASK, acks_late=True)
    def deliver_batch_webhook_task(batch_id: str, attempt: int = 1) -> str:
        return worker.deliver_batch(batch_id, attempt)

    def on_process_init(**_: Any) -> None:  # a prefork child: its own store connections and models
        worker.context()

    def on_worker_init(sender: Any = None, **_: Any) -> None:
        worker.migrate()
        if any(kind in str(getattr(sender, "pool_cls", "")).lower() for kind in ("solo", "thread")):
            worker.context()  # the tasks run in this very process

    def on_shutting_down(**_: Any) -> None:
        worker.stop()

    def on_process_shutdown(pid: int = 0, **_: Any) -> None:  # in the prefork child, as it exits
        process_exited(pid or os.getpid())

    celery_signals.worker_process_init.connect(on_process_init, weak=False)
    celery_signals.worker_init.connect(on_worker_init, weak=False)
    celery_signals.worker_shutting_down.connect(on_shutting_down, weak=False)
    celery_signals.worker_process_shutdown.connect(on_process_shutdown, weak=False)
