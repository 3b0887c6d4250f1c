"""The Celery worker's tasks on a real SQLite store and a memory broker: a redelivered message, a job
whose worker was lost (its lease lapsed), and the job and batch webhooks as tasks against a real
local receiver. The full path over Redis and PostgreSQL with a real SIGKILL is in
test_distributed.py and test_chaos.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from celery import Celery, Task
from pydantic import SecretStr

from app.celery.config import BATCH_WEBHOOK_TASK, RUN_JOB_TASK, WEBHOOK_TASK, CelerySettings
from app.celery.worker import Worker
from app.jobs import Batch, Job, JobStatus, Source, WebhookState, new_batch_id, new_job_id
from app.settings import Settings
from app.store import JobStore, Lease
from tests.app.receiver import Receiver

SECRET = "worker-secret"


@pytest.fixture
def sent() -> list[dict[str, Any]]:
    """The tasks the ``worker`` fixture sent."""
    return []


@pytest.fixture
def worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sent: list[dict[str, Any]]) -> Iterator[Worker]:
    """A worker on a memory broker whose sent tasks are recorded in ``sent``."""
    settings = Settings(data_dir=tmp_path, max_attempts=2, broker_url="memory://", webhook_secret=SecretStr(SECRET),
                        allow_private_urls=True, webhook_tries=3, webhook_backoff_s=0.5, webhook_timeout_s=5,
                        upkeep_every_s=3600)  # the tests run the upkeep's rounds themselves
    worker = Worker(Celery("t", broker="memory://", set_as_current=False), settings,
                    CelerySettings(preload_models=False))
    worker.migrate()
    monkeypatch.setattr(worker.app, "send_task", lambda name, **kw: sent.append({"name": name, **kw}))
    # The process's upkeep thread runs a first round as it starts: stopped (that round done), so it
    # cannot race a test and send the jobs the test is still arranging.
    worker.process().upkeep.stop()
    yield worker
    worker.process().ctx.store.close()


def _store(worker: Worker) -> JobStore:
    return worker.process().ctx.store


def _task(redelivered: bool) -> Task:
    return cast(Task, SimpleNamespace(request=SimpleNamespace(delivery_info={"redelivered": redelivered,
                                                                             "routing_key": "lessonlens"})))


def _job(store: JobStore, **fields: Any) -> Job:
    job = Job(id=new_job_id(), owner="k", source=Source("path", "/nowhere.mp4"), stages=("subtitles",),
              options={}, **fields)
    store.create(job)
    return job


def _running_job(store: JobStore, extra_attempts: int = 0, cancel: bool = False, lease_s: float = 60) -> str:
    job = _job(store)
    assert store.claim(job.id, Lease("w", ttl_s=lease_s)) is not None  # a worker took it (then died?)
    for _ in range(extra_attempts):
        store.requeue(job.id, count_attempt=True)
        assert store.claim(job.id, Lease("w", ttl_s=lease_s)) is not None
    if cancel:
        store.request_cancel(job.id)
    return job.id


def _end(store: JobStore, job_id: str, status: JobStatus = JobStatus.SUCCEEDED) -> Job:
    job = store.finish(job_id, status, None if status == JobStatus.SUCCEEDED else "broke")
    assert job is not None
    return job


def _batch(store: JobStore, jobs: int, webhook_url: str) -> Batch:
    """A stored batch of ``jobs`` running jobs."""
    batch = Batch(id=new_batch_id(), owner="k", folder="/in", stages=["subtitles"], options={},
                  webhook_url=webhook_url)
    for _ in range(jobs):
        job = _job(store, metadata={"batch_id": batch.id})
        assert store.claim(job.id) is not None
        batch.job_ids.append(job.id)
    store.create_batch(batch)
    return batch


# ---------------------------------------------------------------- a redelivered job


def test_a_first_delivery_of_a_running_job_leaves_it_alone(worker: Worker) -> None:
    store = _store(worker)
    job_id = _running_job(store)
    assert worker.run(_task(redelivered=False), job_id) == "not runnable (running)"
    job = store.get(job_id)
    assert job is not None and job.status == JobStatus.RUNNING and job.attempts == 1


def test_a_redelivered_message_does_not_take_a_live_workers_job_over(worker: Worker) -> None:
    """Issue 18, defect 3: a redelivery (visibility timeout) is no sign the worker died; its lease is."""
    store = _store(worker)
    job_id = _running_job(store)
    assert worker.run(_task(redelivered=True), job_id) == "not runnable (running)"
    job = store.get(job_id)
    assert job is not None and job.status == JobStatus.RUNNING and job.attempts == 1


# ---------------------------------------------------------------- a stopping worker


def _running_with(store: JobStore, worker: Worker) -> tuple[str, Lease]:
    """A job this worker's process is running now, and its lease."""
    job_id, lease = _running_job(store), Lease("w")
    store.requeue(job_id, count_attempt=False)
    assert store.claim(job_id, lease) is not None
    worker.process().ctx.running[job_id] = lease
    return job_id, lease


def _join_hand_back(timeout_s: float = 10) -> None:
    for thread in [t for t in threading.enumerate() if t.name == "hand-back"]:
        thread.join(timeout=timeout_s)


def test_a_stopping_workers_job_whose_run_does_not_stop_is_handed_back_for_it(
        worker: Worker, sent: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that reports no progress after the stop (a Whisper window at low priority on a busy
    machine) is still handed back, with a message, before a supervisor's kill: no attempt used."""
    store = _store(worker)
    job_id, lease = _running_with(store, worker)
    worker.hand_back_after_s = 0.2
    worker.stop()  # what Celery's warm shutdown calls
    _join_hand_back()
    job = store.get(job_id)
    assert job is not None and job.status == JobStatus.QUEUED and job.attempts == 0, job
    assert [(m["name"], m["args"]) for m in sent] == [(RUN_JOB_TASK, [job_id])]
    assert store.unpublished() == []  # sent: nothing left for the outbox
    # The run heeds the stop at last (its task ends the way a stopped run does): its lease is
    # gone, so it writes nothing, and no second message is sent.
    assert store.finish(job_id, JobStatus.SUCCEEDED, lease=lease) is None
    worker.process().ctx.running.pop(job_id)
    monkeypatch.setattr("app.celery.worker.run_job", lambda job_id, ctx: None)
    assert worker.run(_task(redelivered=False), job_id) == "handed back"
    assert len(sent) == 1


def test_a_stopping_workers_job_that_ends_in_time_is_left_alone(worker: Worker, sent: list[dict[str, Any]]) -> None:
    store = _store(worker)
    job_id, lease = _running_with(store, worker)
    worker.hand_back_after_s = 5.0
    started = time.monotonic()
    worker.stop()
    assert store.finish(job_id, JobStatus.SUCCEEDED, lease=lease) is not None  # the run ended in time
    worker.process().ctx.running.pop(job_id)
    _join_hand_back()
    assert time.monotonic() - started < 2  # the hand-back thread ended with the run, not 5 s later
    job = store.get(job_id)
    assert job is not None and job.status == JobStatus.SUCCEEDED and sent == []


def _lapse(worker: Worker) -> None:
    time.sleep(0.05)  # the dead worker's 10 ms lease runs out
    worker.process().upkeep.run_once()


def test_a_dead_workers_job_out_of_attempts_fails_with_the_reason(worker: Worker) -> None:
    store = _store(worker)
    job_id = _running_job(store, extra_attempts=1, lease_s=0.01)  # attempt 2 of 2 was running
    _lapse(worker)
    job = store.get(job_id)
    assert job is not None and job.status == JobStatus.FAILED and job.attempts == 2
    assert job.error is not None and "LESSONLENS_MAX_ATTEMPTS=2" in job.error


def test_a_dead_workers_job_whose_cancel_was_asked_ends_cancelled(worker: Worker, sent: list[dict[str, Any]]) -> None:
    store = _store(worker)
    job_id = _running_job(store, cancel=True, lease_s=0.01)
    _lapse(worker)
    job = store.get(job_id)
    assert job is not None and job.status == JobStatus.CANCELLED
    assert job.error == "cancelled by request (its worker was lost)"
    assert worker.run(_task(redelivered=True), job_id) == "not runnable (cancelled)"


def test_a_dead_workers_job_is_sent_again_with_its_attempt_counted(worker: Worker,
                                                                   sent: list[dict[str, Any]]) -> None:
    store = _store(worker)
    job_id = _running_job(store, lease_s=0.01)
    _lapse(worker)
    job = store.get(job_id)
    assert job is not None and job.status == JobStatus.QUEUED and job.attempts == 1
    assert [t["args"] for t in sent if t["name"] == RUN_JOB_TASK] == [[job_id]]


# ---------------------------------------------------------------- webhooks as tasks


def test_a_job_webhook_is_queued_then_retried_with_backoff(worker: Worker, sent: list[dict[str, Any]]) -> None:
    store = _store(worker)
    with Receiver(SECRET, statuses=[500]) as receiver:
        job = _job(store, webhook_url=receiver.url)
        store.claim(job.id)
        worker.process().lifecycle.finished(_end(store, job.id))
        assert sent == [{"name": WEBHOOK_TASK, "args": [job.id], "queue": "lessonlens"}]
        assert worker.deliver(job.id) == "receiver answered HTTP 500"
        assert sent[1:] == [{"name": WEBHOOK_TASK, "args": [job.id], "queue": "lessonlens", "countdown": 0.5}]
        time.sleep(0.5)  # the broker holds the task for its countdown
        assert worker.deliver(job.id) == "delivered"
        assert worker.deliver(job.id) == "nothing to send"  # a redelivered message: already done
    final = store.get(job.id)
    assert final is not None and final.webhook_state == WebhookState.DELIVERED
    assert [d.attempt for d in final.deliveries] == [1, 2]
    assert [r["headers"]["X-Lessonlens-Attempt"] for r in receiver.received] == ["1", "2"]
    assert worker.metrics.registry.get_sample_value("lessonlens_webhook_attempts_total", {"outcome": "ok"}) == 1


def test_a_job_webhook_delivered_again_early_waits_out_the_backoff(worker: Worker,
                                                                   sent: list[dict[str, Any]]) -> None:
    """A second message of a job's webhook (redelivered, or sent again by a resumed process) that
    comes before the backoff after the last attempt has passed is queued again for then; no
    attempt is made early."""
    store = _store(worker)
    with Receiver(SECRET, statuses=[500]) as receiver:
        job = _job(store, webhook_url=receiver.url)
        store.claim(job.id)
        _end(store, job.id)
        assert worker.deliver(job.id) == "receiver answered HTTP 500"
        assert worker.deliver(job.id).startswith("not due: attempt 2 queued again in ")
        assert len(receiver.received) == 1
        again = sent[-1]
        assert again["name"] == WEBHOOK_TASK and again["args"] == [job.id] and 0 < again["countdown"] <= 0.5
        time.sleep(again["countdown"] + 0.05)  # the broker holds the task for its countdown
        assert worker.deliver(job.id) == "delivered"
    final = store.get(job.id)
    assert final is not None and [d.attempt for d in final.deliveries] == [1, 2]
    first, second = (datetime.fromisoformat(d.at) for d in final.deliveries)
    assert (second - first).total_seconds() >= 0.5  # webhook_backoff_s


def test_the_worker_ending_a_batch_queues_its_webhook_once(worker: Worker, sent: list[dict[str, Any]]) -> None:
    store = _store(worker)
    batch = _batch(store, 2, webhook_url="http://127.0.0.1:9/hook")
    finished = worker.process().lifecycle.finished
    finished(_end(store, batch.job_ids[0]))
    assert sent == []
    last = _end(store, batch.job_ids[1])
    finished(last)
    finished(last)  # reported twice (a redelivered message): still one webhook
    assert sent == [{"name": BATCH_WEBHOOK_TASK, "args": [batch.id], "queue": "lessonlens"}]


def test_a_batch_delivery_retries_with_backoff_and_keeps_its_event_id(worker: Worker,
                                                                     sent: list[dict[str, Any]]) -> None:
    store = _store(worker)
    with Receiver(SECRET, statuses=[500, 503]) as receiver:
        batch = _batch(store, 2, webhook_url=receiver.url)
        _end(store, batch.job_ids[0])
        _end(store, batch.job_ids[1], JobStatus.CANCELLED)
        assert worker.deliver_batch(batch.id, 1) == "nothing to send"  # not finished yet
        assert store.finish_batch(batch.id)

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


def test_a_batch_delivery_gives_up_after_the_last_try(worker: Worker, sent: list[dict[str, Any]]) -> None:
    store = _store(worker)
    with Receiver(SECRET, statuses=[500]) as receiver:
        batch = _batch(store, 1, webhook_url=receiver.url)
        _end(store, batch.job_ids[0])
        assert store.finish_batch(batch.id)
        assert worker.deliver_batch(batch.id, 3) == "receiver answered HTTP 500"
    assert sent == []
    assert len(receiver.received) == 1
