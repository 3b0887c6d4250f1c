"""The job lifecycle on a real SQLite store: a job's end (metrics, webhook, batch), the end of a
batch (once, whoever gets there), the webhook policy against a real local receiver, and the
recovery of jobs whose process died. The Celery side of each: tests/app/celery/test_worker.py;
the whole path over Redis, PostgreSQL and worker processes: test_distributed.py."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import cast

import pytest

from app.jobs import (
    Batch,
    BatchStatus,
    BatchSummary,
    Job,
    JobStatus,
    Source,
    StageState,
    StageStatus,
    WebhookState,
    new_batch_id,
    new_job_id,
)
from app.lifecycle import (
    SERVER_STOPPED,
    WORKER_LOST,
    JobLifecycle,
    LocalWebhooks,
    WebhookPolicy,
    interrupted,
)
from app.metrics import WorkerMetrics
from app.store import JobStore, SqlJobStore
from tests.app.receiver import Receiver
from tests.app.server_proc import wait_for

SECRET = "lifecycle-secret"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlJobStore]:
    store = SqlJobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield store
    store.close()


class Announced:
    """A ``Notifier`` that records what it was asked to send."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.batches: list[tuple[Batch, BatchSummary]] = []
        self._lock = threading.Lock()

    def job_ended(self, job: Job) -> None:
        self.jobs.append(job)

    def batch_ended(self, batch: Batch, summary: BatchSummary) -> None:
        with self._lock:
            self.batches.append((batch, summary))


def _lifecycle(store: JobStore, webhooks: Announced | None = None, max_attempts: int = 2) -> JobLifecycle:
    return JobLifecycle(store, WorkerMetrics(), webhooks or Announced(), max_attempts)


def _batch(store: JobStore, jobs: int, webhook_url: str | None = "http://127.0.0.1:9/hook") -> Batch:
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


# ---------------------------------------------------------------- a job's end, a batch's end


def test_a_finished_job_is_counted_and_announced(store: SqlJobStore) -> None:
    metrics, webhooks = WorkerMetrics(), Announced()
    lifecycle = JobLifecycle(store, metrics, webhooks, 2)
    job = Job(id=new_job_id(), owner="k", source=Source("path", "/in/a.mp4"), stages=("subtitles",),
              options={}, webhook_url="http://127.0.0.1:9/hook")
    store.create(job)
    store.claim(job.id)
    lifecycle.finished(_end(store, job.id))
    silent = store.create(Job(id=new_job_id(), owner="k", source=Source("path", "/in/b.mp4"),
                              stages=("subtitles",), options={}))[0]
    lifecycle.finished(_end(store, silent.id, JobStatus.FAILED))
    assert [j.id for j in webhooks.jobs] == [job.id]  # no URL, no webhook
    value = metrics.registry.get_sample_value
    assert value("lessonlens_jobs_finished_total", {"status": "succeeded"}) == 1
    assert value("lessonlens_jobs_finished_total", {"status": "failed"}) == 1


def test_announces_a_batch_once_when_its_last_job_ends(store: SqlJobStore) -> None:
    webhooks = Announced()
    lifecycle = _lifecycle(store, webhooks)
    batch = _batch(store, 2)
    first = _end(store, batch.job_ids[0])
    assert first.batch_id == batch.id
    lifecycle.finished(first)  # the other job still runs
    assert webhooks.batches == [] and _finished_at(store, batch.id) is None

    last = _end(store, batch.job_ids[1], JobStatus.FAILED)
    lifecycle.finished(last)
    assert lifecycle.settle_batch(batch.id) is False  # a second report of the same end
    assert len(webhooks.batches) == 1
    announced, summary = webhooks.batches[0]
    assert announced.id == batch.id
    assert summary.status == BatchStatus.PARTIALLY_FAILED
    assert summary.counts["succeeded"] == 1 and summary.counts["failed"] == 1
    assert _finished_at(store, batch.id) is not None


def test_workers_ending_the_last_jobs_together_announce_once(store: SqlJobStore) -> None:
    batch = _batch(store, 8)
    for job_id in batch.job_ids:
        _end(store, job_id)
    webhooks = Announced()
    lifecycle = _lifecycle(store, webhooks)
    barrier = threading.Barrier(len(batch.job_ids))
    won: list[bool] = []

    def report() -> None:
        barrier.wait()
        won.append(lifecycle.settle_batch(batch.id))

    threads = [threading.Thread(target=report) for _ in batch.job_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(won) == [False] * 7 + [True]
    assert len(webhooks.batches) == 1


def test_a_batch_without_a_url_finishes_without_a_webhook(store: SqlJobStore) -> None:
    webhooks = Announced()
    batch = _batch(store, 1, webhook_url=None)
    _end(store, batch.job_ids[0])
    assert _lifecycle(store, webhooks).settle_batch(batch.id) is True
    assert webhooks.batches == [] and _finished_at(store, batch.id) is not None


def test_a_failing_announcement_or_store_never_raises(store: SqlJobStore) -> None:
    class Broken(Announced):
        def job_ended(self, job: Job) -> None:
            raise ConnectionError("broker down")

        def batch_ended(self, batch: Batch, summary: BatchSummary) -> None:
            raise ConnectionError("broker down")

    batch = _batch(store, 1)
    job = _end(store, batch.job_ids[0]).with_changes(webhook_url="http://127.0.0.1:9/hook")
    _lifecycle(store, Broken()).finished(job)  # its webhook is lost and logged; the batch still ends
    assert _finished_at(store, batch.id) is not None

    class DownStore:
        def get_batch(self, batch_id: str) -> Batch | None:
            raise ConnectionError("database down")

    webhooks = Announced()
    assert _lifecycle(cast(JobStore, DownStore()), webhooks).settle_batch("b_x") is False
    assert _lifecycle(store, webhooks).settle_batch("b_missing") is False
    assert webhooks.batches == []


def test_a_batch_whose_jobs_ended_before_it_was_stored_is_settled_after(store: SqlJobStore) -> None:
    """POST /v1/batches stores the batch after queueing its jobs; fast jobs can all end first,
    when there is no batch yet to finish. ``settle_batch`` right after storing it ends it."""
    webhooks = Announced()
    lifecycle = _lifecycle(store, webhooks)
    batch = Batch(id=new_batch_id(), owner="k", folder="/in", stages=["subtitles"], options={},
                  webhook_url="http://127.0.0.1:9/hook")
    job = Job(id=new_job_id(), owner="k", source=Source("path", "/in/a.mp4"), stages=("subtitles",),
              options={}, metadata={"batch_id": batch.id})
    store.create(job)
    assert store.claim(job.id) is not None
    lifecycle.finished(_end(store, job.id))  # no batch stored yet
    batch.job_ids.append(job.id)
    store.create_batch(batch)
    assert lifecycle.settle_batch(batch.id) is True
    assert lifecycle.settle_batch(batch.id) is False
    assert _finished_at(store, batch.id) is not None
    assert len(webhooks.batches) == 1
    announced, summary = webhooks.batches[0]
    assert announced.webhook_url == batch.webhook_url and summary.counts["succeeded"] == 1


# ---------------------------------------------------------------- webhooks


def _finished_job(store: JobStore, webhook: str) -> Job:
    job = Job(id=new_job_id(), owner="a", source=Source("upload", "/x", "x.mp4"), stages=("subtitles",),
              options={}, webhook_url=webhook,
              stage_states={"subtitles": StageState(StageStatus.SUCCEEDED, 1.0, seconds=2.0,
                                                    files=("subtitles.srt",))})
    store.create(job)
    finished = store.finish(job.id, JobStatus.SUCCEEDED)
    assert finished is not None and finished.webhook_state == WebhookState.PENDING
    return finished


def _policy(store: JobStore, tries: int, backoff_s: float, metrics: WorkerMetrics | None = None) -> WebhookPolicy:
    return WebhookPolicy(store, metrics or WorkerMetrics(), SECRET, tries=tries, backoff_s=backoff_s,
                         allow_private=True)


def test_backoff_doubles_from_the_first_delay(store: SqlJobStore) -> None:
    assert [_policy(store, 6, 20).delay(n) for n in range(1, 6)] == [20, 40, 80, 160, 320]


def test_local_webhooks_retry_after_500_and_log_every_attempt(store: SqlJobStore) -> None:
    metrics = WorkerMetrics()
    with Receiver(SECRET, statuses=[500, 500]) as receiver:
        job = _finished_job(store, receiver.url)
        webhooks = LocalWebhooks(store, _policy(store, 4, 0.05, metrics))
        webhooks.job_ended(job)  # as the start-up recovery does ...
        webhooks.start()  # ... and start() picks up pending events too: still one delivery chain
        try:
            final = wait_for(lambda: (j := store.get(job.id)) and j.webhook_state == WebhookState.DELIVERED and j,
                             10, "webhook delivery")
        finally:
            webhooks.stop()
    assert [d.status_code for d in final.deliveries] == [500, 500, 200]
    assert [d.ok for d in final.deliveries] == [False, False, True]
    assert [d.attempt for d in final.deliveries] == [1, 2, 3]
    ids = {r["headers"]["X-Lessonlens-Event-Id"] for r in receiver.received}
    assert ids == {f"evt_{job.id}_succeeded"}
    assert all(r["valid"] for r in receiver.received)
    assert receiver.received[-1]["body"]["data"]["stages"]["subtitles"]["files"] == ["subtitles.srt"]
    value = metrics.registry.get_sample_value
    assert value("lessonlens_webhook_attempts_total", {"outcome": "error"}) == 2
    assert value("lessonlens_webhook_attempts_total", {"outcome": "ok"}) == 1
    assert _policy(store, 4, 0.05).due(final) is None  # delivered: nothing more to send


def test_local_webhooks_give_up_after_the_configured_tries(store: SqlJobStore) -> None:
    with Receiver(SECRET, statuses=[503] * 10) as receiver:
        job = _finished_job(store, receiver.url)
        webhooks = LocalWebhooks(store, _policy(store, 3, 0.02))
        webhooks.start()
        try:
            final = wait_for(lambda: (j := store.get(job.id)) and j.webhook_state == WebhookState.FAILED and j,
                             10, "webhook give-up")
        finally:
            webhooks.stop()
    assert len(final.deliveries) == 3 and len(receiver.received) == 3
    assert final.status == JobStatus.SUCCEEDED  # delivery never changes the job
    assert _policy(store, 3, 0.02).due(final) is None  # out of tries, even after a restart


def test_one_attempt_says_what_comes_next(store: SqlJobStore) -> None:
    with Receiver(SECRET, statuses=[500]) as receiver:
        job = _finished_job(store, receiver.url)
        policy = _policy(store, 2, 0.5)
        pending = policy.due(job)
        assert pending is not None and pending.attempt == 1
        first = policy.attempt(pending)
        assert (first.state, first.retry_in, first.outcome) == (WebhookState.PENDING, 0.5, "receiver answered HTTP 500")
        again = store.get(job.id)
        assert again is not None
        pending = policy.due(again)
        assert pending is not None and pending.attempt == 2
        second = policy.attempt(pending)
        assert (second.state, second.retry_in, second.outcome) == (WebhookState.DELIVERED, None, "delivered")
    unsigned = WebhookPolicy(store, WorkerMetrics(), "", allow_private=True)
    refused = unsigned.attempt(pending)
    assert refused.record is None and refused.outcome == "not allowed" and refused.retry_in is None


def test_a_resumed_event_waits_out_the_backoff_left_after_the_last_attempt(store: SqlJobStore) -> None:
    with Receiver(SECRET, statuses=[500]) as receiver:
        job = _finished_job(store, receiver.url)
        policy = _policy(store, 3, 1.5)
        first = policy.due(job)
        assert first is not None and first.not_before == 0.0  # nothing tried yet: due now
        assert policy.attempt(first).retry_in == 1.5  # ... and then this process died
        tried = time.monotonic()
        stored = store.get(job.id)
        assert stored is not None
        pending = policy.due(stored)
        at = datetime.fromisoformat(stored.deliveries[-1].at).timestamp()
        assert pending is not None and pending.attempt == 2 and pending.not_before == pytest.approx(at + 1.5)
        webhooks = LocalWebhooks(store, policy)
        webhooks.start()  # the next process resumes the pending event
        try:
            final = wait_for(lambda: (j := store.get(job.id)) and j.webhook_state == WebhookState.DELIVERED and j,
                             10, "resumed webhook delivery")
        finally:
            webhooks.stop()
    assert time.monotonic() - tried >= 1.4  # not at once: the backoff after attempt 1 was waited out
    assert [d.attempt for d in final.deliveries] == [1, 2] and len(receiver.received) == 2


def test_a_batch_event_is_sent_by_the_local_webhooks(store: SqlJobStore) -> None:
    with Receiver(SECRET, statuses=[500]) as receiver:
        batch = _batch(store, 1, webhook_url=receiver.url)
        _end(store, batch.job_ids[0])
        webhooks = LocalWebhooks(store, _policy(store, 3, 0.05))
        webhooks.start()
        try:
            assert JobLifecycle(store, WorkerMetrics(), webhooks, 2).settle_batch(batch.id)
            wait_for(lambda: len(receiver.received) == 2, 10, "batch webhook retry")
        finally:
            webhooks.stop()
    bodies = [r["body"] for r in receiver.received]
    assert {b["id"] for b in bodies} == {f"evt_{batch.id}_finished"}
    assert len({json.dumps(b, sort_keys=True) for b in bodies}) == 1  # the same body on every try
    assert bodies[0]["data"]["status"] == "succeeded" and bodies[0]["data"]["jobs"] == batch.job_ids


# ---------------------------------------------------------------- recovery


def _running(store: JobStore, attempts: int = 1, cancel: bool = False, webhook: str | None = None,
             stages: tuple[str, ...] = ("subtitles",), running: bool = True) -> Job:
    """A job whose process died during attempt ``attempts``, mid-stage (its first; with
    ``running`` False, before it started one)."""
    job = Job(id=new_job_id(), owner="a", source=Source("path", "/x/y.mp4"), stages=stages,
              options={}, stage_states={name: StageState() for name in stages}, webhook_url=webhook)
    store.create(job)
    for n in range(attempts):
        if n:
            store.requeue(job.id, count_attempt=True)
        assert store.claim(job.id) is not None
    if running:
        store.put_stages(job.id, {**job.stage_states,
                                  stages[0]: StageState(StageStatus.RUNNING, 0.4, started_at="t")})
    if cancel:
        store.request_cancel(job.id)
    got = store.get(job.id)
    assert got is not None and got.status == JobStatus.RUNNING
    return got


def test_an_interrupted_job_is_retried_within_its_attempts(store: SqlJobStore) -> None:
    job = interrupted(_running(store), SERVER_STOPPED, max_attempts=2)
    assert job.status == JobStatus.QUEUED and job.started_at is None and job.finished_at is None
    assert job.error == "attempt 1 was interrupted (the server stopped); retrying"
    assert job.stage_states["subtitles"] == StageState()


def test_an_interrupted_job_out_of_attempts_fails_with_the_reason(store: SqlJobStore) -> None:
    job = interrupted(_running(store, attempts=2, webhook="http://h/x"), WORKER_LOST, max_attempts=2)
    assert job.status == JobStatus.FAILED and job.finished_at
    assert job.error == ("interrupted 2 time(s) by a lost worker (limit LESSONLENS_MAX_ATTEMPTS=2); "
                         "submit it again")
    stage = job.stage_states["subtitles"]
    assert stage.status == StageStatus.FAILED and stage.progress == 0.4
    assert stage.error == "interrupted: its worker was lost while this stage ran"
    assert job.webhook_state == WebhookState.PENDING


def test_an_interrupted_job_whose_cancel_was_asked_ends_cancelled(store: SqlJobStore) -> None:
    job = interrupted(_running(store, cancel=True), SERVER_STOPPED, max_attempts=5)
    assert job.status == JobStatus.CANCELLED
    assert job.error == "cancelled by request (the server stopped meanwhile)"


@pytest.mark.parametrize(("cancel", "running", "why"), [
    (False, True, "not run: stage subtitles failed"),
    (False, False, "not run: the job was interrupted (its worker was lost)"),
    (True, True, "not run: the job was cancelled"),
])
def test_an_interrupted_job_that_ends_leaves_no_stage_pending(store: SqlJobStore, cancel: bool, running: bool,
                                                              why: str) -> None:
    """As a worker's own end does (app.worker): the stages it never reached end skipped, saying why."""
    dead = _running(store, attempts=2, cancel=cancel, stages=("subtitles", "fit"), running=running)
    assert [j.id for j in _lifecycle(store, max_attempts=2).recover(WORKER_LOST, dead.id)] == [dead.id]
    job = store.get(dead.id)
    assert job is not None and job.status == (JobStatus.CANCELLED if cancel else JobStatus.FAILED)
    assert job.stage_states["fit"] == StageState(StageStatus.SKIPPED, reason=why)
    if running:
        assert job.stage_states["subtitles"].status == StageStatus.FAILED
    else:
        assert job.stage_states["subtitles"] == StageState(StageStatus.SKIPPED, reason=why)
    retried = interrupted(_running(store, stages=("subtitles", "fit")), WORKER_LOST, max_attempts=2)
    assert retried.status == JobStatus.QUEUED and retried.stage_states["fit"] == StageState()  # runs again


def test_recovery_requeues_then_fails_and_announces_the_end(store: SqlJobStore) -> None:
    webhooks = Announced()
    lifecycle = _lifecycle(store, webhooks, max_attempts=2)
    job = _running(store, webhook="http://127.0.0.1:9/hook")
    other = _running(store)
    assert [j.status for j in lifecycle.recover(SERVER_STOPPED, job.id)] == [JobStatus.QUEUED]
    again = store.get(job.id)
    assert again is not None and again.status == JobStatus.QUEUED and again.attempts == 1
    assert again.stage_states["subtitles"].status == StageStatus.PENDING
    still = store.get(other.id)
    assert still is not None and still.status == JobStatus.RUNNING  # only the job asked for

    store.claim(job.id)  # attempt 2 dies too
    ended = lifecycle.recover(SERVER_STOPPED)
    assert {j.id: j.status for j in ended} == {job.id: JobStatus.FAILED, other.id: JobStatus.QUEUED}
    final = store.get(job.id)
    assert final is not None and final.status == JobStatus.FAILED and final.finished_at
    assert final.error and "interrupted 2 time(s) by a server stop or crash" in final.error
    assert final.webhook_state == WebhookState.PENDING
    assert [j.id for j in webhooks.jobs] == [job.id]  # the ended job went through ``finished``
    assert lifecycle.recover(SERVER_STOPPED) == []
    assert store.queued_ids() == [other.id]


# ---------------------------------------------------------------- upkeep: reaper and outbox (issue 18)


def _queued_job(store: JobStore, webhook_url: str | None = None) -> Job:
    job = Job(id=new_job_id(), owner="k", source=Source("path", "/in/a.mp4"), stages=("subtitles",),
              options={}, webhook_url=webhook_url)
    return store.create(job)[0]


def test_upkeep_keeps_jobs_in_the_outbox_while_the_broker_is_down(store: SqlJobStore) -> None:
    from app.lifecycle import Upkeep

    sent: list[str] = []
    broker_up = False

    def publish(job: Job) -> None:
        if not broker_up:
            raise ConnectionRefusedError("broker down")
        sent.append(job.id)

    upkeep = Upkeep(store, _lifecycle(store), publish)
    jobs = [_queued_job(store) for _ in range(3)]
    assert upkeep.run_once() == 0 and upkeep.broker_error == "ConnectionRefusedError: broker down"
    assert len(store.unpublished()) == 3
    broker_up = True
    assert upkeep.run_once() == 3 and upkeep.broker_error is None
    assert sent == [j.id for j in jobs] and store.unpublished() == []
    assert upkeep.run_once() == 0  # sent once


def test_upkeep_reaps_a_dead_workers_job_counting_the_attempt_and_honouring_cancel(store: SqlJobStore) -> None:
    """Defect 2: a dead worker's job stayed running for the visibility timeout (12 h); cancel did
    nothing. Now its lapsed lease queues it again (attempt counted) or, cancel asked, ends it."""
    import time

    from app.lifecycle import Upkeep
    from app.store import Lease

    announced = Announced()
    lifecycle = _lifecycle(store, announced, max_attempts=2)
    retried, cancelled = _queued_job(store), _queued_job(store, "http://127.0.0.1:9/hook")
    for job in (retried, cancelled):
        store.mark_published(job.id)
        store.claim(job.id, Lease("dead", ttl_s=0.01))
    store.request_cancel(cancelled.id)
    sent: list[str] = []
    time.sleep(0.05)
    Upkeep(store, lifecycle, lambda job: sent.append(job.id)).run_once()
    again, ended = store.get(retried.id), store.get(cancelled.id)
    assert again is not None and again.status == JobStatus.QUEUED and again.attempts == 1
    assert "stopped renewing its lease" in (again.error or "")
    assert ended is not None and ended.status == JobStatus.CANCELLED
    assert sent == [retried.id]  # queued again with a new message
    assert [j.id for j in announced.jobs] == [cancelled.id]  # its end announced (webhook)
