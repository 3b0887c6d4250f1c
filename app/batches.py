"""Batches: one job per media file of a folder, and their aggregate state.

A batch only points at its jobs; its status and progress are derived from them on read, so
nothing has to be kept in step when a job moves.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.jobs import TERMINAL, Job, JobStatus, now_iso


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
