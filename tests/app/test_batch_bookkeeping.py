"""The end of a batch: ``app.batches.finish_if_done`` on a real SQLite store, and the Celery
worker's side of it (queueing and delivering ``batch.finished``) against a real local receiver.
The whole path over Redis, PostgreSQL and worker processes is in test_distributed.py."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from app.batches import Batch, BatchStatus, BatchSummary, batch_of, finish_if_done, new_batch_id
from app.celery_app import CelerySettings
from app.celery_queue import BATCH_WEBHOOK_TASK, _Worker
from app.jobs import Job, JobStatus, Source, new_job_id
from app.settings import Settings
from app.store import JobStore, SqlJobStore
from tests.app.receiver import Receiver

SECRET = "bookkeeping-secret"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlJobStore]:
    store = SqlJobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield store
    store.close()


def _batch(store: JobStore, jobs: int, webhook_url: str | None = None) -> Batch:
    """A stored batch of ``jobs`` running jobs."""
    batch = Batch(id=new_batch_id(), owner="k", folder="/in", stages=["subtitles"], options={},
                  webhook_url=webhook_url)
    for _ in range(jobs):
        job = Job(id=new_job_id(), owner="k", source=Source("path", "/in/a.mp4"), stages=("subtitles",),
                  options={}, metadata={"batch_id": batch.id})
        store.create(job)
        assert store.claim(job.id) is not None
        batch.job_ids.append(job.id)
    store.create_batch(batch)
    return batch


def _finished_at(store: JobStore, batch_id: str) -> str | None:
    batch = store.get_batch(batch_id)
    assert batch is not None
    return batch.finished_at


def _end(store: JobStore, job_id: str, status: JobStatus = JobStatus.SUCCEEDED) -> Job:
    job = store.finish(job_id, status, None if status == JobStatus.SUCCEEDED else "broke")
    assert job is not None
    return job


class _Calls:
    def __init__(self) -> None:
        self.calls: list[tuple[Batch, BatchSummary]] = []
        self._lock = threading.Lock()

    def __call__(self, batch: Batch, summary: BatchSummary) -> None:
        with self._lock:
            self.calls.append((batch, summary))


def test_announces_once_when_the_last_job_ends(store: SqlJobStore) -> None:
    batch = _batch(store, 2)
    announce = _Calls()
    first = _end(store, batch.job_ids[0])
    assert batch_of(first) == batch.id
    assert finish_if_done(store, batch.id, announce) is False  # the other job still runs
    assert announce.calls == []
    assert _finished_at(store, batch.id) is None

    _end(store, batch.job_ids[1], JobStatus.FAILED)
    assert finish_if_done(store, batch.id, announce) is True
    assert finish_if_done(store, batch.id, announce) is False  # a second report of the same end
    assert len(announce.calls) == 1
    announced, summary = announce.calls[0]
    assert announced.id == batch.id
    assert summary.status == BatchStatus.PARTIALLY_FAILED
    assert summary.counts["succeeded"] == 1 and summary.counts["failed"] == 1
    assert _finished_at(store, batch.id) is not None


def test_workers_ending_the_last_jobs_together_announce_once(store: SqlJobStore) -> None:
    batch = _batch(store, 8)
    for job_id in batch.job_ids:
        _end(store, job_id)
    announce = _Calls()
    barrier = threading.Barrier(len(batch.job_ids))
    won: list[bool] = []

    def report() -> None:
        barrier.wait()
        won.append(finish_if_done(store, batch.id, announce))

    threads = [threading.Thread(target=report) for _ in batch.job_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(won) == [False] * 7 + [True]
    assert len(announce.calls) == 1


def test_a_failing_announcement_or_store_never_raises(store: SqlJobStore) -> None:
    batch = _batch(store, 1)
    _end(store, batch.job_ids[0])

    def broken(batch: Batch, summary: BatchSummary) -> None:
        raise ConnectionError("broker down")

    assert finish_if_done(store, batch.id, broken) is True  # finished; the lost webhook is logged
    assert _finished_at(store, batch.id) is not None

    class DownStore:
        def get_batch(self, batch_id: str) -> Batch | None:
            raise ConnectionError("database down")

    announce = _Calls()
    assert finish_if_done(cast(JobStore, DownStore()), "b_x", announce) is False
    assert finish_if_done(store, "b_missing", announce) is False
    assert announce.calls == []


# ---------------------------------------------------------------- the Celery worker's side


@pytest.fixture
def sent() -> list[dict[str, Any]]:
    """The tasks the ``worker`` fixture sent."""
    return []


@pytest.fixture
def worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sent: list[dict[str, Any]]) -> _Worker:
    """A worker on a memory broker whose sent tasks are recorded in ``sent``."""
    from celery import Celery

    settings = Settings(data_dir=tmp_path, broker_url="memory://", webhook_secret=SECRET,
                        allow_private_urls=True, webhook_tries=3, webhook_backoff_s=0.5, webhook_timeout_s=5)
    worker = _Worker(Celery("t", broker="memory://", set_as_current=False), settings,
                     CelerySettings(preload_models=False))
    worker.migrate()
    monkeypatch.setattr(worker.app, "send_task", lambda name, **kw: sent.append({"name": name, **kw}))
    return worker


def test_the_worker_ending_a_batch_queues_its_webhook_once(worker: _Worker, sent: list[dict[str, Any]]) -> None:
    store = worker.context().store
    batch = _batch(store, 2, webhook_url="http://127.0.0.1:9/hook")
    worker._on_finished(_end(store, batch.job_ids[0]))
    assert sent == []
    last = _end(store, batch.job_ids[1])
    worker._on_finished(last)
    worker._on_finished(last)  # reported twice (a redelivered message): still one webhook
    assert sent == [{"name": BATCH_WEBHOOK_TASK, "args": [batch.id], "queue": "lessonlens"}]


def test_a_batch_delivery_retries_with_backoff_and_keeps_its_event_id(worker: _Worker,
                                                                     sent: list[dict[str, Any]]) -> None:
    store = worker.context().store
    with Receiver(SECRET, statuses=[500, 503]) as receiver:
        batch = _batch(store, 2, webhook_url=receiver.url)
        _end(store, batch.job_ids[0])
        _end(store, batch.job_ids[1], JobStatus.CANCELLED)
        assert worker.deliver_batch(batch.id, 1) == "nothing to send"  # not finished yet
        assert finish_if_done(store, batch.id, lambda b, s: None)

        assert worker.deliver_batch(batch.id, 1) == "receiver answered HTTP 500"
        assert worker.deliver_batch(batch.id, 2) == "receiver answered HTTP 503"
        assert worker.deliver_batch(batch.id, 3) == "delivered"
    assert [(s["args"], s["countdown"]) for s in sent] == [([batch.id, 2], 0.5), ([batch.id, 3], 1.0)]
    assert [r["headers"]["X-Lessonlens-Attempt"] for r in receiver.received] == ["1", "2", "3"]
    assert {r["headers"]["X-Lessonlens-Event-Id"] for r in receiver.received} == {f"evt_{batch.id}_finished"}
    assert all(r["valid"] for r in receiver.received)
    assert len({r["body"]["created_at"] for r in receiver.received}) == 1  # the same body on every try
    data = receiver.received[-1]["body"]["data"]
    assert data["status"] == "partially_failed" and data["jobs"] == batch.job_ids
    assert data["counts"]["succeeded"] == 1 and data["counts"]["cancelled"] == 1


def test_a_batch_delivery_gives_up_after_the_last_try(worker: _Worker, sent: list[dict[str, Any]]) -> None:
    store = worker.context().store
    with Receiver(SECRET, statuses=[500]) as receiver:
        batch = _batch(store, 1, webhook_url=receiver.url)
        _end(store, batch.job_ids[0])
        assert finish_if_done(store, batch.id, lambda b, s: None)
        assert worker.deliver_batch(batch.id, 3) == "receiver answered HTTP 500"
    assert sent == []
    assert len(receiver.received) == 1


class _Dispatcher:
    """Records what the API's webhook dispatcher was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, Any], str]] = []

    def send(self, event: Any, url: str) -> None:
        self.sent.append((json.loads(event.body), url))


def test_a_batch_whose_jobs_ended_before_it_was_stored_is_settled_by_the_api(store: SqlJobStore) -> None:
    """POST /v1/batches stores the batch after queueing its jobs; fast jobs can all end first,
    when there is no batch yet to finish. ``settle_batch`` right after storing it ends it."""
    from app.batches import settle_batch

    batch = Batch(id=new_batch_id(), owner="k", folder="/in", stages=["subtitles"], options={},
                  webhook_url="http://127.0.0.1:9/hook")
    job = Job(id=new_job_id(), owner="k", source=Source("path", "/in/a.mp4"), stages=("subtitles",),
              options={}, metadata={"batch_id": batch.id})
    store.create(job)
    assert store.claim(job.id) is not None
    _end(store, job.id)
    dispatcher = _Dispatcher()
    assert settle_batch(store, cast(Any, dispatcher), batch.id) is False  # no batch stored yet
    batch.job_ids.append(job.id)
    store.create_batch(batch)
    assert settle_batch(store, cast(Any, dispatcher), batch.id) is True
    assert settle_batch(store, cast(Any, dispatcher), batch.id) is False
    assert _finished_at(store, batch.id) is not None
    assert len(dispatcher.sent) == 1
    payload, url = dispatcher.sent[0]
    assert url == batch.webhook_url and payload["type"] == "batch.finished"
    assert payload["data"]["counts"]["succeeded"] == 1
