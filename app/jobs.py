"""The models of the service: jobs (what was submitted, where it stands, what it produced, who was
told) and batches (a folder's jobs, and what they add up to).

They are plain dataclasses at the bottom of ``app``: the store, the queues, the lifecycle and the
API all depend down on this module, which imports none of them. ``Job.to_record``/``from_record``
are the one mapping to the JSON form the store keeps; ``to_dict`` adds what the API shows. Statuses
are ``str`` Enums, so they compare equal to their JSON values.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    """Lifecycle of a job. ``queued -> running -> succeeded | failed | cancelled``."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
ACTIVE = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})


class StageStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"


class WebhookState(StrEnum):
    """Where a job's end event stands (a job without a webhook has none)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def now_iso() -> str:
    """The current UTC time as fixed-width ISO-8601 (sorts as text, in SQLite and Postgres alike)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_job_id() -> str:
    return "job_" + secrets.token_hex(10)


@dataclass(frozen=True)
class Source:
    """Where the media came from: ``upload`` (a stored file), ``path`` (under an allowed root) or ``url``.

    ``location`` is the stored/original path or the URL; ``media`` the probe result once known.
    """

    kind: str
    location: str
    filename: str | None = None
    size_bytes: int | None = None
    media: dict[str, Any] | None = None
    identity: str | None = None  # a path source: the file checked at submit (app.sources.identity)


@dataclass(frozen=True)
class StageState:
    """One stage of one job: its status, progress 0..1, timings, result summary, files, error."""

    status: StageStatus = StageStatus.PENDING
    progress: float = 0.0
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = None
    summary: dict[str, Any] | None = None
    files: tuple[str, ...] = ()
    reason: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = dict(vars(self))  # shallow: asdict's deep copy cost more than the rest of a status read
        out["status"] = self.status.value
        out["files"] = list(self.files)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageState:
        return cls(**{**data, "status": StageStatus(data.get("status", "pending")),
                      "files": tuple(data.get("files") or ())})


def not_run(states: Mapping[str, StageState], why: str) -> dict[str, StageState]:
    """The stage states of a job that ended (failed, cancelled) before some of its stages ran:
    each one still ``pending`` becomes ``skipped`` with the reason ``"not run: " + why``, so no
    ended job shows a stage waiting; the others are kept as they are."""
    return {name: StageState(StageStatus.SKIPPED, reason=f"not run: {why}") if state.status == StageStatus.PENDING
            else state for name, state in states.items()}


@dataclass(frozen=True)
class WebhookDeliveryRecord:
    """One delivery attempt of one event."""

    event_id: str
    event: str
    attempt: int
    at: str
    ok: bool
    status_code: int | None = None
    error: str | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class Job:
    """A submitted job. Timestamps are ISO-8601 UTC strings."""

    id: str
    owner: str
    source: Source
    stages: tuple[str, ...]
    options: dict[str, dict[str, Any]]
    status: JobStatus = JobStatus.QUEUED
    stage_states: dict[str, StageState] = field(default_factory=dict)
    attempts: int = 0
    error: str | None = None
    webhook_url: str | None = None
    webhook_state: WebhookState | None = None  # None: no webhook
    deliveries: tuple[WebhookDeliveryRecord, ...] = ()
    idempotency_key: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    cancel_requested: bool = False
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    started_at: str | None = None
    finished_at: str | None = None

    def with_changes(self, **changes: Any) -> Job:
        return replace(self, **changes)

    @property
    def progress(self) -> float:
        """Whole-job progress: the mean of the stages' progress (finished stages count 1)."""
        if not self.stage_states:
            return 1.0 if self.status == JobStatus.SUCCEEDED else 0.0
        done = {StageStatus.SUCCEEDED, StageStatus.SKIPPED}
        parts = [1.0 if s.status in done else s.progress for s in self.stage_states.values()]
        return round(sum(parts) / len(parts), 3)

    @property
    def batch_id(self) -> str | None:
        """The id of the batch this job was made for (``metadata["batch_id"]``), or None."""
        batch_id = self.metadata.get("batch_id") if isinstance(self.metadata, dict) else None
        return str(batch_id) if batch_id else None

    def to_record(self) -> dict[str, Any]:
        """The JSON form the store keeps, one key per field (``from_record`` reads it back)."""
        return {
            "id": self.id, "owner": self.owner, "source": dict(vars(self.source)), "stages": list(self.stages),
            "options": self.options, "status": self.status.value,
            "stage_states": {k: v.to_dict() for k, v in self.stage_states.items()},
            "attempts": self.attempts, "error": self.error, "webhook_url": self.webhook_url,
            "webhook_state": None if self.webhook_state is None else self.webhook_state.value,
            "deliveries": [dict(vars(d)) for d in self.deliveries],  # shallow: see StageState
            "idempotency_key": self.idempotency_key, "metadata": self.metadata,
            "cancel_requested": self.cancel_requested,
            "created_at": self.created_at, "updated_at": self.updated_at,
            "started_at": self.started_at, "finished_at": self.finished_at,
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Job:
        """The job of a ``to_record`` form (a store row's mapping)."""
        state = data["webhook_state"]
        return cls(
            id=data["id"], owner=data["owner"], source=Source(**data["source"]), stages=tuple(data["stages"]),
            options=data["options"], status=JobStatus(data["status"]),
            stage_states={k: StageState.from_dict(v) for k, v in data["stage_states"].items()},
            attempts=data["attempts"], error=data["error"], webhook_url=data["webhook_url"],
            webhook_state=None if state is None else WebhookState(state),
            deliveries=tuple(WebhookDeliveryRecord(**d) for d in data["deliveries"]),
            idempotency_key=data["idempotency_key"], metadata=data["metadata"],
            cancel_requested=bool(data["cancel_requested"]), created_at=data["created_at"],
            updated_at=data["updated_at"], started_at=data["started_at"], finished_at=data["finished_at"],
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the API shows (see ``app.api.jobs.job_view``): the record plus ``progress``."""
        return {**self.to_record(), "progress": self.progress}


# ---------------------------------------------------------------- batches


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
    """A folder submitted as one unit: its request and the ids of the jobs made from it.

    It only points at its jobs; its status and progress are derived from them on read
    (``aggregate``), so nothing has to be kept in step when a job moves. The one thing written
    back is its end, ``finished_at`` (``app.lifecycle``).
    """

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

    def to_record(self) -> dict[str, Any]:
        """The JSON form the store keeps (``from_record`` reads it back)."""
        return asdict(self)

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Batch:
        """The batch of a ``to_record`` form (a store row's mapping)."""
        return cls(**{**data, "rejected": [Rejected(**r) for r in data["rejected"]]})


@dataclass(frozen=True)
class BatchSummary:
    """What a batch's jobs add up to."""

    status: BatchStatus
    progress: float
    counts: dict[str, int]


def aggregate(jobs: Sequence[Job], made_jobs: bool = True) -> BatchSummary:
    """Counts by job status, progress (mean of the jobs'), and the batch status.

    The batch runs until every job has ended; then it succeeded if all jobs did, failed if none
    did and at least one failed, cancelled if every job was cancelled, else partially failed.
    A batch that made no job (every file of its folder was rejected: ``made_jobs`` False) has
    ended, failed: nothing ran; one whose jobs were all deleted since counts as succeeded.
    Rejected files do not change the status of a batch that has jobs; they are listed with it.
    """
    counts = Counter(str(j.status) for j in jobs)
    by_status = {s.value: counts.get(s.value, 0) for s in JobStatus}
    progress = sum(1.0 if j.status in TERMINAL else j.progress for j in jobs) / len(jobs) if jobs else 1.0
    total = len(jobs)
    if not jobs:
        status = BatchStatus.SUCCEEDED if made_jobs else BatchStatus.FAILED
    elif any(j.status not in TERMINAL for j in jobs):
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
