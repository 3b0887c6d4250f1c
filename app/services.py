"""The services of a lessonlens process: the job store, storage, webhooks, job lifecycle and
queue, built and stopped in one place for the HTTP processes (``app.main``) and the job process
of ``serve`` (``app.job_process``)."""

from __future__ import annotations

import os

from app.api import Services
from app.leader import LeaderLock
from app.lifecycle import JobLifecycle, LocalWebhooks, WebhookPolicy
from app.metrics import Metrics
from app.migrations import ensure_schema
from app.model_cache import ModelCache
from app.queue import make_queue
from app.settings import Settings
from app.storage import LocalStorage
from app.store import SqlJobStore


def build_services(settings: Settings, metrics: Metrics, leader_lock: LeaderLock | None = None) -> Services:
    """Open the store and storage, recover interrupted jobs, start workers and webhooks.

    ``leader_lock``: the embedded queue's leader lock, held already by this process (the job
    process of ``serve``, ``app.job_process``), which then runs the jobs from the start."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url()
    ensure_schema(url)  # one query when the schema is up to date; Alembic only when it is not
    store = SqlJobStore(url, create=False)
    # An upload as durable as the job row that points at it: SQLite (WAL, synchronous=NORMAL)
    # commits survive a crashed process, not a power loss; the fsync cost 11 % of an HTTP
    # process's busy time under 50 clients submitting in step (py-spy).
    storage = LocalStorage(settings.data_dir, durable=not url.startswith("sqlite"))
    storage.cleanup_incoming()
    webhooks = LocalWebhooks(store, WebhookPolicy.from_settings(store, metrics, settings))
    # Ends the jobs this process ends: its local workers' and queued ones cancelled through the API
    # (Celery workers end theirs with their own JobLifecycle, app.celery.worker).
    lifecycle = JobLifecycle(store, metrics, webhooks, settings.max_attempts)
    # Embedded: the leader process (this one, unless another process of the server holds the
    # lock) recovers interrupted jobs, runs the queued ones and resumes pending webhooks before
    # this returns. Celery: workers are other processes; the reaper recovers their jobs.
    webhooks.start(resume=settings.queue == "celery")
    queue = make_queue(settings, store, storage, lifecycle, resume=webhooks.resume, lock=leader_lock)
    queue.start()
    # Receiving and probing media: a few at a time per core is plenty; status reads keep their threads.
    media_slots = max(2, 2 * (os.cpu_count() or 1))
    return Services(settings=settings, store=store, storage=storage, queue=queue, webhooks=webhooks,
                    metrics=metrics, key_ids=settings.api_key_ids(), models=ModelCache(settings),
                    lifecycle=lifecycle, on_finished=lifecycle.finished, media_slots=media_slots)


def stop_services(services: Services) -> None:
    """Stop taking jobs (running ones handed back to the queue), then webhooks, then the store."""
    services.queue.stop()
    services.webhooks.stop()
    services.store.close()
