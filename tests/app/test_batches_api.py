"""Batches: aggregation of job states (unit). The API and e2e tests are still to come."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.batches import Batch, BatchStatus, Rejected, aggregate, new_batch_id
from app.jobs import Job, JobStatus, Source, StageState, StageStatus
from app.store import SqlJobStore


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


def test_store_round_trip_and_finish_once(tmp_path: Path) -> None:
    store = SqlJobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    batch = Batch(id=new_batch_id(), owner="k", folder="/in", stages=["subtitles"], options={},
                  job_ids=["j1", "j2"], rejected=[Rejected(path="notes.txt", reason="not media")])
    store.create_batch(batch)
    assert store.get_batch(batch.id) == batch
    assert [b.id for b in store.list_batches("k", 10)] == [batch.id]
    assert store.list_batches("other", 10) == []
    assert store.finish_batch(batch.id) is True
    assert store.finish_batch(batch.id) is False
    finished = store.get_batch(batch.id)
    assert finished is not None and finished.finished_at is not None
    store.close()
