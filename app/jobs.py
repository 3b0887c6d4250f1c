"""The job model: what was submitted, where it stands, what it produced, who was told.

Jobs are plain dataclasses; ``to_dict``/``from_dict`` give the JSON form the store keeps and the
API returns. Status is a ``str`` Enum so it compares equal to its JSON value.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
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
    webhook_state: str | None = None  # pending | delivered | failed (None: no webhook)
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

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (also what the API returns, see ``app.api.jobs.job_view``)."""
        return {
            "id": self.id, "owner": self.owner, "source": dict(vars(self.source)),
            "stages": list(self.stages), "options": self.options, "status": self.status.value,
            "progress": self.progress,
            "stage_states": {k: v.to_dict() for k, v in self.stage_states.items()},
            "attempts": self.attempts, "error": self.error,
            "webhook_url": self.webhook_url, "webhook_state": self.webhook_state,
            "deliveries": [dict(vars(d)) for d in self.deliveries],
            "idempotency_key": self.idempotency_key, "metadata": self.metadata,
            "cancel_requested": self.cancel_requested,
            "created_at": self.created_at, "updated_at": self.updated_at,
            "started_at": self.started_at, "finished_at": self.finished_at,
        }
