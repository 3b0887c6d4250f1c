"""Batches: one job per media file of a folder, and their aggregate state.

A batch only points at its jobs; its status and progress are derived from them on read, so
nothing has to be kept in step when a job moves. The one thing written back is the end:
``finish_if_done`` runs after each job of a batch ends, in whichever process ran it (the API's
workers, or Celery workers), and marks the batch finished once, when its last job has ended.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from app.jobs import TERMINAL, Job, JobStatus, now_iso

if TYPE_CHECKING:  # the store module imports this one for ``Batch``
    from app.store import JobStore
    from app.webhooks import WebhookDispatcher

log = logging.getLogger(__name__)


class BatchStatus(StrEnum):
    """Aggregate status of a batch, derived from its jobs."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIALLY_FAILED = "partially_failed"
    FAILED = "failed"
    CANCELLED = "cancelled"


def new_batch_id() -> str:
    """A fresh, unguessable batch id."""
    return "b_" + secrets.token_hex(12)


@dataclass(frozen=True)
class Rejected:
    """A file of the folder that did not become a job, and why."""

    path: str
    reason: str


@dataclass
class Batch:
    """A folder submitted as one unit: its request and the ids of the jobs made from it."""

    id: str
    owner: str
    folder: str
    stages: list[str]
    options: dict[str, dict[str, Any]]
    webhook_url: str | None = None
    per_job_webhooks: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    job_ids: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)
    finished_at: str | None = None


@dataclass(frozen=True)
class BatchSummary:
    """What a batch's jobs add up to."""

    status: BatchStatus
    progress: float
    counts: dict[str, int]


def aggregate(jobs: Sequence[Job]) -> BatchSummary:
    """Counts by job status, progress (mean of the jobs'), and the batch status.

    The batch runs until every job has ended; then it succeeded if all jobs did, failed if none
    did and at least one failed, cancelled if every job was cancelled, else partially failed.
    """
    counts = Counter(str(j.status) for j in jobs)
    by_status = {s.value: counts.get(s.value, 0) for s in JobStatus}
    progress = sum(1.0 if j.status in TERMINAL else j.progress for j in jobs) / len(jobs) if jobs else 1.0
    total = len(jobs)
    if any(j.status not in TERMINAL for j in jobs):
        status = BatchStatus.RUNNING
    elif by_status[JobStatus.SUCCEEDED] == total:
        status = BatchStatus.SUCCEEDED
    elif by_status[JobStatus.CANCELLED] == total:
        status = BatchStatus.CANCELLED
    elif by_status[JobStatus.SUCCEEDED] == 0 and by_status[JobStatus.FAILED] > 0:
        status = BatchStatus.FAILED
    else:
        status = BatchStatus.PARTIALLY_FAILED
    return BatchSummary(status=status, progress=round(progress, 4), counts=by_status)


def batch_jobs(store: JobStore, batch: Batch) -> list[Job]:
    """The batch's jobs that still exist, in its order (deleted ones are left out)."""
    return [j for j in (store.get(i) for i in batch.job_ids) if j is not None]


def batch_of(job: Job) -> str | None:
    """The id of the batch ``job`` was made for (``metadata["batch_id"]``), or None."""
    batch_id = job.metadata.get("batch_id") if isinstance(job.metadata, dict) else None
    return str(batch_id) if batch_id else None


def finish_if_done(store: JobStore, batch_id: str, announce: Callable[[Batch, BatchSummary], None]) -> bool:
    """After a job of the batch ended: mark the batch finished if every job of it has ended.

    ``store.finish_batch`` succeeds for one caller only, so ``announce(batch, summary)`` runs
    once per batch, even when two workers end its last jobs at the same moment (each reads the
    jobs after its own job's end is stored, so the later one sees both ended). ``announce`` sends
    or queues the ``batch.finished`` webhook; it is called whether or not the batch has a URL.

    Never raises: the job that triggered it has ended, whatever happens here.

    Returns:
        True for the one call that finished the batch.
    """
    try:
        batch = store.get_batch(batch_id)
        if batch is None or batch.finished_at:
            return False
        summary = aggregate(batch_jobs(store, batch))
        if summary.status == BatchStatus.RUNNING or not store.finish_batch(batch_id):
            return False
    except Exception:
        log.exception("batch %s: finishing bookkeeping failed", batch_id)
        return False
    log.info("batch %s finished: %s %s", batch_id, summary.status.value, summary.counts)
    try:
        announce(batch, summary)
    except Exception:  # the batch stays finished; its webhook is lost, and the log says so
        log.exception("batch %s: finished, but its webhook could not be sent or queued", batch_id)
    return True


def settle_batch(store: JobStore, webhooks: WebhookDispatcher, batch_id: str) -> bool:
    """``finish_if_done`` with the in-process webhook dispatcher, for the API process: after its
    local workers end a job, after it cancels a queued job, and after it saves a batch whose jobs
    may all have ended before the batch was stored. Never raises."""
    from app.webhooks import batch_event

    def announce(batch: Batch, summary: BatchSummary) -> None:
        if batch.webhook_url:
            webhooks.send(batch_event(batch, summary), batch.webhook_url)

    return finish_if_done(store, batch_id, announce)
