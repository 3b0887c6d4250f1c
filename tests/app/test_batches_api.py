"""Batches: aggregation of job states (unit). The API and e2e tests are still to come."""

from __future__ import annotations

import pytest

from app.batches import BatchStatus, aggregate
from app.jobs import Job, JobStatus, Source, StageState, StageStatus


def _job(status: JobStatus, progress: float = 0.0) -> Job:
    return Job(id=f"j{id(object())}", owner="k", source=Source(kind="path", location="/x/a.mp4"),
               stages=("media",), options={}, status=status,
               stage_states={"media": StageState(status=StageStatus.RUNNING, progress=progress)})


@pytest.mark.parametrize(("statuses", "expected"), [
    ([JobStatus.SUCCEEDED, JobStatus.SUCCEEDED], BatchStatus.SUCCEEDED),
    ([JobStatus.SUCCEEDED, JobStatus.FAILED], BatchStatus.PARTIALLY_FAILED),
    ([JobStatus.FAILED, JobStatus.CANCELLED], BatchStatus.FAILED),
    ([JobStatus.CANCELLED, JobStatus.CANCELLED], BatchStatus.CANCELLED),
    ([JobStatus.SUCCEEDED, JobStatus.RUNNING], BatchStatus.RUNNING),
    ([JobStatus.QUEUED], BatchStatus.RUNNING),
])
def test_status(statuses: list[JobStatus], expected: BatchStatus) -> None:
    assert aggregate([_job(s) for s in statuses]).status == expected


def test_counts_and_progress() -> None:
    summary = aggregate([_job(JobStatus.SUCCEEDED), _job(JobStatus.RUNNING, 0.5), _job(JobStatus.FAILED)])
    assert summary.counts["succeeded"] == 1
    assert summary.counts["running"] == 1
    assert summary.counts["failed"] == 1
    assert summary.counts["queued"] == 0
    assert summary.progress == pytest.approx((1 + 0.5 + 1) / 3, abs=1e-3)
