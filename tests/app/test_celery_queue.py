"""What a worker does with a redelivered job whose worker was lost (real SQLite store; the full
path over Redis and PostgreSQL with a real SIGKILL is in test_distributed.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from celery import Task

from app.celery_app import CelerySettings
from app.celery_queue import _Worker
from app.jobs import Job, JobStatus, Source, new_job_id
from app.settings import Settings
from app.store import SqlJobStore


@pytest.fixture
def worker(tmp_path: Path) -> _Worker:
    from celery import Celery

    settings = Settings(data_dir=tmp_path, max_attempts=2, broker_url="memory://")
    worker = _Worker(Celery("t", broker="memory://", set_as_current=False), settings,
                     CelerySettings(preload_models=False))
    worker.migrate()
    return worker


def _task(redelivered: bool) -> Task:
    return cast(Task, SimpleNamespace(request=SimpleNamespace(delivery_info={"redelivered": redelivered,
                                                                             "routing_key": "lessonlens"})))


def _running_job(store: SqlJobStore, **changes: Any) -> str:
    job = Job(id=new_job_id(), owner="o", source=Source("path", "/nowhere.mp4"), stages=("subtitles",),
              options={})
    store.create(job)
    assert store.claim(job.id) is not None  # a worker took it, then died
    for _ in range(changes.pop("extra_attempts", 0)):
        store.requeue(job.id, count_attempt=True)
        assert store.claim(job.id) is not None
    if changes.get("cancel"):
        store.request_cancel(job.id)
    return job.id


def test_a_first_delivery_of_a_running_job_leaves_it_alone(worker: _Worker) -> None:
    store = cast(SqlJobStore, worker.context().store)
    job_id = _running_job(store)
    assert worker.run(_task(redelivered=False), job_id) == "not runnable (running)"
    job = store.get(job_id)
    assert job is not None and job.status == JobStatus.RUNNING and job.attempts == 1


def test_a_redelivered_job_out_of_attempts_fails_with_the_reason(worker: _Worker) -> None:
    store = cast(SqlJobStore, worker.context().store)
    job_id = _running_job(store, extra_attempts=1)  # attempt 2 of 2 was running
    assert worker.run(_task(redelivered=True), job_id) == "not runnable (failed)"
    job = store.get(job_id)
    assert job is not None and job.status == JobStatus.FAILED and job.attempts == 2
    assert job.error is not None and "LESSONLENS_MAX_ATTEMPTS=2" in job.error


def test_a_redelivered_job_whose_cancel_was_asked_ends_cancelled(worker: _Worker) -> None:
    store = cast(SqlJobStore, worker.context().store)
    job_id = _running_job(store, cancel=True)
    assert worker.run(_task(redelivered=True), job_id) == "not runnable (cancelled)"
    job = store.get(job_id)
    assert job is not None and job.status == JobStatus.CANCELLED
    assert job.error == "cancelled by request (its worker was lost)"
