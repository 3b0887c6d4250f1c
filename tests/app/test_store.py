"""SqlJobStore on SQLite and PostgreSQL: create/get, idempotency, pagination, claim, cancel, recovery."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from app.exceptions import InvalidInput
from app.jobs import (
    Job,
    JobStatus,
    Source,
    StageState,
    StageStatus,
    WebhookDeliveryRecord,
    WebhookState,
    new_job_id,
)
from app.store import Lease, SqlJobStore

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def _postgres_database() -> Iterator[str]:
    """A throwaway Postgres database (skips where no server runs, e.g. a user's clone)."""
    from sqlalchemy import create_engine, text

    name = "lessonlens_test_" + secrets.token_hex(4)
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as e:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN}: {type(e).__name__}")
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlJobStore]:
    """The same store code on both databases (LESSONLENS_DATABASE_URL picks one)."""
    with ExitStack() as stack:
        url = (f"sqlite:///{tmp_path / 'jobs.db'}" if request.param == "sqlite"
               else stack.enter_context(_postgres_database()))
        s = SqlJobStore(url)
        stack.callback(s.close)
        yield s


def make_job(owner: str = "a", key: str | None = None, webhook: str | None = None) -> Job:
    return Job(id=new_job_id(), owner=owner, source=Source("path", "/x/y.mp4", "y.mp4", 10, {"duration": 1.0}),
               stages=("subtitles",), options={"subtitles": {"language": "en"}},
               stage_states={"subtitles": StageState()}, idempotency_key=key, webhook_url=webhook,
               metadata={"course": "c1"})


def test_create_get_roundtrip(store: SqlJobStore) -> None:
    job = make_job()
    _saved, created = store.create(job)
    assert created
    got = store.get(job.id)
    assert got is not None
    assert got.to_dict() == job.to_dict()
    assert store.get("job_missing") is None


def test_idempotency_key_returns_first_job_per_owner(store: SqlJobStore) -> None:
    first, created = store.create(make_job(key="k1"))
    again, created_again = store.create(make_job(key="k1"))
    other_owner, created_other = store.create(make_job(owner="b", key="k1"))
    assert created and not created_again and created_other
    assert again.id == first.id
    assert other_owner.id != first.id
    assert store.find_idempotent("a", "k1") is not None


def test_an_idempotency_key_reused_for_another_request_is_refused(store: SqlJobStore) -> None:
    """The key stands for the request it was first used for (its fingerprint, by part)."""
    request = {"media": "m1", "stages": "s1", "options": "o1"}
    first, created = store.create(make_job(key="k1"), fingerprint=request)
    assert created
    found = store.find_idempotent("a", "k1", dict(request))
    assert found is not None and found.id == first.id
    again, created_again = store.create(make_job(key="k1"), fingerprint=dict(request))  # a racing replay
    assert again.id == first.id and not created_again
    for refuse in (lambda fp: store.find_idempotent("a", "k1", fp),
                   lambda fp: store.create(make_job(key="k1"), fingerprint=fp)):
        with pytest.raises(InvalidInput, match="Send it with a new Idempotency-Key") as refused:
            refuse({**request, "media": "m2", "options": "o2"})
        assert refused.value.code == "idempotency_key_reused" and refused.value.status == 422
        assert refused.value.detail == {"job_id": first.id, "differs": ["media", "options"]}
    assert store.count_active("a") == 1
    other_owner, created_other = store.create(make_job(owner="b", key="k1"), fingerprint={"media": "m2"})
    assert created_other and other_owner.id != first.id
    before = store.create(make_job(key="k2"))[0]  # stored before fingerprints were kept: nothing to compare
    found = store.find_idempotent("a", "k2", request)
    assert found is not None and found.id == before.id


def test_list_paginates_newest_first_and_filters(store: SqlJobStore) -> None:
    ids = [store.create(make_job())[0].id for _ in range(5)]
    store.create(make_job(owner="b"))
    page, cursor = store.list_jobs("a", None, 2, None)
    assert [j.id for j in page] == ids[::-1][:2]
    seen = [j.id for j in page]
    while cursor:
        page, cursor = store.list_jobs("a", None, 2, cursor)
        seen += [j.id for j in page]
    assert seen == ids[::-1]
    store.claim(ids[0])
    running, _ = store.list_jobs(None, JobStatus.RUNNING, 10, None)
    assert [j.id for j in running] == [ids[0]]
    assert store.count_active("a") == 5
    assert store.count_by_status() == {"queued": 5, "running": 1}


def test_listing_goes_on_after_the_cursors_job_is_deleted(store: SqlJobStore) -> None:
    ids = [store.create(make_job())[0].id for _ in range(9)]
    page, cursor = store.list_jobs("a", None, 1, None)
    assert [j.id for j in page] == [ids[-1]] and cursor is not None
    assert store.delete(page[0].id)  # the job the cursor was made from
    rest, end = store.list_jobs("a", None, 100, cursor)
    assert [j.id for j in rest] == ids[-2::-1] and end is None
    legacy, _ = store.list_jobs("a", None, 2, ids[4])  # an old-style cursor (a bare id) that still exists
    assert [j.id for j in legacy] == [ids[3], ids[2]]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "job_gone", "AAAA", "////////////////"])
def test_a_cursor_the_store_did_not_give_is_refused_saying_what_to_do(store: SqlJobStore, cursor: str) -> None:
    store.create(make_job())
    with pytest.raises(InvalidInput, match="leave cursor out") as refused:
        store.list_jobs("a", None, 10, cursor)
    assert refused.value.status == 422 and refused.value.code == "invalid_cursor"


def test_claim_only_once_even_when_racing(store: SqlJobStore) -> None:
    job = store.create(make_job())[0]
    wins: list[Job] = []

    def claim() -> None:
        got = store.claim(job.id)
        if got is not None:
            wins.append(got)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    after = store.get(job.id)
    assert after is not None and after.status == JobStatus.RUNNING and after.attempts == 1


def test_cancel_queued_is_immediate_running_is_requested(store: SqlJobStore) -> None:
    queued = store.create(make_job(webhook="https://example.com/h"))[0]
    cancelled = store.request_cancel(queued.id)
    assert cancelled is not None and cancelled.status == JobStatus.CANCELLED
    assert cancelled.webhook_state == "pending"
    assert store.claim(queued.id) is None
    running = store.create(make_job())[0]
    store.claim(running.id)
    requested = store.request_cancel(running.id)
    assert requested is not None and requested.status == JobStatus.RUNNING and requested.cancel_requested
    assert store.cancel_requested(running.id)


def test_a_cancel_asked_as_the_run_ended_still_ends_it_cancelled(store: SqlJobStore) -> None:
    """The cancel came after the run's last check (202 said it would be cancelled): the worker's
    succeeded or failed end is stored ``cancelled``, saying how the run had ended."""
    for status, error, says in ((JobStatus.SUCCEEDED, None, "its stages had all run"),
                                (JobStatus.FAILED, "stage ocr: no video track", "it had failed: stage ocr: no video")):
        job = store.create(make_job(webhook="https://example.com/h"))[0]
        lease = Lease(holder="w1")
        assert store.claim(job.id, lease) is not None
        store.request_cancel(job.id)
        ended = store.finish(job.id, status, error, lease=lease)
        assert ended is not None and ended.status == JobStatus.CANCELLED, status
        assert ended.error is not None and ended.error.startswith("cancelled by request as it ended") and says in ended.error
        assert ended.webhook_state == "pending" and ended.finished_at and store.get(job.id) == ended
    plain = store.create(make_job())[0]  # no cancel asked: ends as the worker says
    store.claim(plain.id)
    done = store.finish(plain.id, JobStatus.FAILED, "stage ocr: boom")
    assert done is not None and done.status == JobStatus.FAILED and done.error == "stage ocr: boom"


def test_a_queued_job_cancelled_says_its_stages_were_not_run(store: SqlJobStore) -> None:
    """It ends in the store at once (no worker ends it): no stage of it is left ``pending``."""
    job = make_job()
    queued = store.create(job.with_changes(stages=("subtitles", "fit"),
                                           stage_states={"subtitles": StageState(), "fit": StageState()}))[0]
    cancelled = store.request_cancel(queued.id)
    not_run = StageState(StageStatus.SKIPPED, reason="not run: the job was cancelled")
    assert cancelled is not None and cancelled.stage_states == {"subtitles": not_run, "fit": not_run}
    assert store.get(queued.id) == cancelled
    running = store.create(make_job())[0]
    store.claim(running.id)
    requested = store.request_cancel(running.id)  # its worker ends it, and its stages (app.worker)
    assert requested is not None and requested.stage_states == {"subtitles": StageState()}


def test_stage_updates_and_finish(store: SqlJobStore) -> None:
    job = store.create(make_job(webhook="https://example.com/h"))[0]
    store.claim(job.id)
    store.put_stages(job.id, {"subtitles": StageState(StageStatus.SUCCEEDED, 1.0, seconds=1.5,
                                                       files=("subtitles.srt",))})
    done = store.finish(job.id, JobStatus.SUCCEEDED)
    assert done is not None
    assert done.status == JobStatus.SUCCEEDED and done.finished_at and done.webhook_state == "pending"
    assert done.stage_states["subtitles"].files == ("subtitles.srt",)
    assert done.progress == 1.0
    record = WebhookDeliveryRecord("evt_1", "job.succeeded", 1, "t", False, 500, "HTTP 500")
    store.add_delivery(job.id, record, WebhookState.PENDING)
    store.add_delivery(job.id, WebhookDeliveryRecord("evt_1", "job.succeeded", 2, "t", True, 200), WebhookState.DELIVERED)
    final = store.get(job.id)
    assert final is not None and final.webhook_state == "delivered"
    assert [d.attempt for d in final.deliveries] == [1, 2]
    assert store.pending_webhooks() == []


def test_put_stages_writes_all_states_and_refuses_a_cancelled_or_deleted_job(store: SqlJobStore) -> None:
    job = store.create(make_job())[0]
    store.claim(job.id)
    states = {"subtitles": StageState(StageStatus.RUNNING, 0.5, started_at="t")}
    assert store.put_stages(job.id, states, unless_cancelled=True)
    got = store.get(job.id)
    assert got is not None and got.stage_states["subtitles"].progress == 0.5
    store.request_cancel(job.id)
    assert not store.put_stages(job.id, states, unless_cancelled=True)  # the worker must stop
    ended = {"subtitles": StageState(StageStatus.CANCELLED, 0.5, started_at="t", error="cancelled")}
    assert store.put_stages(job.id, ended)  # ...and may still record how the stage ended
    got = store.get(job.id)
    assert got is not None and got.stage_states["subtitles"].status == StageStatus.CANCELLED
    store.delete(job.id)
    assert not store.put_stages(job.id, ended)


def test_finish_without_webhook_leaves_no_delivery_pending(store: SqlJobStore) -> None:
    job = store.create(make_job())[0]
    store.claim(job.id)
    done = store.finish(job.id, JobStatus.FAILED, "stage subtitles: boom")
    assert done is not None and done.status == JobStatus.FAILED and done.error == "stage subtitles: boom"
    assert done.webhook_state != "pending" and done.attempts == 1
    assert store.finish("job_missing", JobStatus.FAILED) is None


def test_recover_replaces_running_jobs_by_the_decision(store: SqlJobStore) -> None:
    """The store's half of recovery: it reads and rewrites running jobs atomically; what they
    become is ``app.lifecycle.interrupted`` (tested in test_lifecycle.py)."""
    job = store.create(make_job())[0]
    queued = store.create(make_job())[0]
    store.claim(job.id)
    store.put_stages(job.id, {"subtitles": StageState(StageStatus.RUNNING, 0.4, started_at="t")})
    seen: list[Job] = []

    def decide(running: Job) -> Job:
        seen.append(running)
        return running.with_changes(status=JobStatus.FAILED, error="lost", finished_at="f",
                                    stage_states={"subtitles": StageState(StageStatus.FAILED, 0.4, error="lost")})

    assert store.recover(decide, job_id=queued.id) == []  # not running: left alone
    recovered = store.recover(decide)
    assert [j.id for j in seen] == [job.id] and seen[0].stage_states["subtitles"].progress == 0.4
    assert [j.id for j in recovered] == [job.id]
    final = store.get(job.id)
    assert final is not None and final.to_record() == recovered[0].to_record()
    assert final.status == JobStatus.FAILED and final.error == "lost" and final.attempts == 1
    assert final.stage_states["subtitles"].status == StageStatus.FAILED
    assert store.recover(decide) == []


def test_get_many_keeps_the_order_and_leaves_out_missing_jobs(store: SqlJobStore) -> None:
    ids = [store.create(make_job())[0].id for _ in range(3)]
    store.delete(ids[1])
    assert [j.id for j in store.get_many([ids[2], "job_missing", ids[1], ids[0]])] == [ids[2], ids[0]]
    assert store.get_many([]) == []


def test_requeue_without_counting_the_attempt(store: SqlJobStore) -> None:
    job = store.create(make_job())[0]
    store.claim(job.id)
    store.requeue(job.id, count_attempt=False)
    again = store.get(job.id)
    assert again is not None and again.status == JobStatus.QUEUED and again.attempts == 0


def test_a_job_handed_back_shows_no_stage_running(store: SqlJobStore) -> None:
    """Handed back by a stop its run did not heed (``LocalQueue.stop``), the job waits with its
    stage pending again, not queued with a stage running (kept so if it was cancelled before its
    next run)."""
    job = store.create(make_job())[0]
    lease = Lease("a-worker")
    store.claim(job.id, lease)
    store.put_stages(job.id, {"subtitles": StageState(StageStatus.RUNNING, 0.4, started_at="2026-01-01T00:00:00Z")},
                     lease=lease)
    store.requeue(job.id, count_attempt=False, lease=lease)
    back = store.get(job.id)
    assert back is not None and back.status == JobStatus.QUEUED
    assert back.stage_states == {"subtitles": StageState()}
    cancelled = store.request_cancel(job.id)
    assert cancelled is not None and cancelled.stage_states["subtitles"].status == StageStatus.SKIPPED


def test_delete(store: SqlJobStore) -> None:
    job = store.create(make_job())[0]
    assert store.delete(job.id)
    assert not store.delete(job.id)
    assert store.get(job.id) is None
    assert store.cancel_requested(job.id)  # a deleted job counts as cancelled for its worker


def test_active_limit_is_checked_with_the_insert(store: SqlJobStore) -> None:
    from app.exceptions import TooManyJobs

    results: list[str] = []

    def submit() -> None:
        try:
            store.create(make_job(owner="burst"), active_limit=3)
            results.append("ok")
        except TooManyJobs:
            results.append("429")

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["429"] * 5 + ["ok"] * 3
    assert store.count_active("burst") == 3
    store.create(make_job(owner="other"), active_limit=3)  # per owner


def test_sqlite_wal_is_checkpointed_in_the_background(tmp_path: Path) -> None:
    """Commits never checkpoint (that would stall the request that commits); a background thread
    copies the WAL into the database file instead, so the data reaches it without a close."""
    import time

    db = tmp_path / "jobs.db"
    store = SqlJobStore(f"sqlite:///{db}")
    try:
        initial = db.stat().st_size
        for _ in range(200):
            store.create(make_job())
        deadline = time.monotonic() + 5
        while db.stat().st_size <= initial and time.monotonic() < deadline:
            time.sleep(0.1)
        assert db.stat().st_size > initial, "the WAL was not checkpointed into the database"
        assert len(store.list_jobs(None, None, 100, None)[0]) == 100
    finally:
        store.close()
    assert not (tmp_path / "jobs.db-wal").exists() or (tmp_path / "jobs.db-wal").stat().st_size == 0


# ---------------------------------------------------------------- issue 18: leases, fencing, outbox


def _requeue_decision(job: Job) -> Job:
    return job.with_changes(status=JobStatus.QUEUED, error="lease lapsed", started_at=None)


def test_a_reaped_workers_writes_are_refused_so_the_job_ends_once(store: SqlJobStore) -> None:
    """Defect 3: a second worker took a job over while the first still ran and both finished it.
    Now the first one's lease lapses, the job is reaped and claimed again under a new lease, and
    every write of the first (stages, finish, requeue, renew) is refused."""
    from app.store import Lease

    job = store.create(make_job())[0]
    slow = Lease("slow-worker", ttl_s=0.01)
    assert store.claim(job.id, slow) is not None
    assert store.renew(job.id, slow)
    states = {"subtitles": StageState(StageStatus.RUNNING, 0.5)}
    import time

    time.sleep(0.05)  # the lease lapses: no renewal came (the worker froze)
    reaped = store.reap(_requeue_decision)
    assert [j.id for j in reaped] == [job.id] and reaped[0].status == JobStatus.QUEUED
    assert store.reap(_requeue_decision) == []  # reaped once
    fresh = Lease("fresh-worker", ttl_s=60)
    again = store.claim(job.id, fresh)
    assert again is not None and again.attempts == 2
    assert not store.renew(job.id, slow)
    assert not store.put_stages(job.id, states, lease=slow)
    assert store.finish(job.id, JobStatus.SUCCEEDED, lease=slow) is None  # fenced
    store.requeue(job.id, count_attempt=False, lease=slow)
    assert store.get(job.id).status == JobStatus.RUNNING  # type: ignore[union-attr]
    assert store.put_stages(job.id, states, lease=fresh)
    done = store.finish(job.id, JobStatus.SUCCEEDED, lease=fresh)
    assert done is not None and done.status == JobStatus.SUCCEEDED
    assert store.finish(job.id, JobStatus.SUCCEEDED, lease=fresh) is None  # and only once


def test_a_renewed_lease_is_not_reaped(store: SqlJobStore) -> None:
    from app.store import Lease

    job = store.create(make_job())[0]
    lease = Lease("w", ttl_s=30)
    store.claim(job.id, lease)
    assert store.reap(_requeue_decision) == []
    import time

    assert store.reap(_requeue_decision, now=time.time() + 29) == []
    assert [j.id for j in store.reap(_requeue_decision, now=time.time() + 31)] == [job.id]


def test_the_outbox_holds_every_created_job_until_published(store: SqlJobStore) -> None:
    """Defect 1: the publish happened after the 201 and was lost with the process. Now the job
    row carries its "to publish" mark from the same transaction until a publisher confirms."""
    from app.store import Lease

    first, second = store.create(make_job())[0], store.create(make_job())[0]
    assert [j.id for j in store.unpublished()] == [first.id, second.id]
    store.mark_published(first.id)
    assert [j.id for j in store.unpublished()] == [second.id]
    lease = Lease("w", ttl_s=0.01)
    store.claim(second.id, lease)
    assert store.unpublished() == []  # running: nothing to send
    import time

    time.sleep(0.05)
    store.reap(_requeue_decision)
    assert [j.id for j in store.unpublished()] == [second.id]  # queued again: sent again


def test_each_outbox_job_is_taken_once(store: SqlJobStore) -> None:
    """The embedded leader's relay: the marked jobs' ids, oldest first, each handed out once."""
    first, second = store.create(make_job())[0], store.create(make_job())[0]
    assert store.take_unpublished() == [first.id, second.id]
    assert store.take_unpublished() == [] and store.unpublished() == []
    third = store.create(make_job())[0]
    assert store.take_unpublished(limit=5) == [third.id]
    fourth, fifth = store.create(make_job())[0], store.create(make_job())[0]
    assert store.take_unpublished(limit=1) == [fourth.id]  # the limit holds (a bound parameter)
    assert store.take_unpublished(limit=1) == [fifth.id]


def test_leased_stage_writes_renew_the_lease_and_refuse_a_stale_one_or_a_cancel(store: SqlJobStore) -> None:
    """A worker's stage writes carry its lease (prepared statements, app.store._Statements): they
    extend it, refuse a token that is not the job's, and with ``unless_cancelled`` a cancelled job."""
    import time

    from app.store import Lease

    job = store.create(make_job())[0]
    lease = Lease("w", ttl_s=30)
    assert store.claim(job.id, lease) is not None
    states = {"subtitles": StageState(StageStatus.RUNNING, 0.5, started_at="t")}
    lease = Lease("w", lease.token, ttl_s=300)  # the same hold, renewed for longer by the next write
    assert store.put_stages(job.id, states, unless_cancelled=True, lease=lease)
    assert store.reap(_requeue_decision, now=time.time() + 60) == []  # renewed past the claim's 30 s
    stale = Lease("w", ttl_s=300)
    assert not store.put_stages(job.id, states, lease=stale)
    assert not store.put_stages(job.id, states, unless_cancelled=True, lease=stale)
    assert store.get(job.id).stage_states["subtitles"].progress == 0.5  # type: ignore[union-attr]
    store.request_cancel(job.id)
    assert not store.put_stages(job.id, states, unless_cancelled=True, lease=lease)  # the worker stops
    ended = {"subtitles": StageState(StageStatus.CANCELLED, 0.5, started_at="t", error="cancelled")}
    assert store.put_stages(job.id, ended, lease=lease)  # ...and records how the stage ended
    done = store.finish(job.id, JobStatus.CANCELLED, "cancelled by request", lease=lease)
    assert done is not None and done.stage_states["subtitles"].status == StageStatus.CANCELLED


def test_finish_can_store_the_stage_states_with_the_end_only_under_its_lease(store: SqlJobStore) -> None:
    from app.store import Lease

    job = store.create(make_job())[0]
    lease = Lease("w", ttl_s=60)
    assert store.claim(job.id, lease) is not None
    ended = {"subtitles": StageState(StageStatus.SKIPPED, 1.0, "t0", "t1", 0.5, {"speech": "none"},
                                     ("subtitles.json",), "no speech track")}
    assert store.finish(job.id, JobStatus.SUCCEEDED, lease=Lease("w", ttl_s=60), stages=ended) is None
    assert store.get(job.id).stage_states["subtitles"].status == StageStatus.PENDING  # type: ignore[union-attr]
    done = store.finish(job.id, JobStatus.SUCCEEDED, lease=lease, stages=ended)
    assert done is not None and done.status == JobStatus.SUCCEEDED and done.stage_states == ended
    assert store.get(job.id) == done


def test_sqlite_read_modify_writes_of_several_processes_lose_nothing(tmp_path: Path) -> None:
    """Processes of one server appending to one job's delivery log (read the row, write it back):
    each transaction holds the write lock from its start (BEGIN IMMEDIATE), so none overwrites
    another's append; the others wait for it (busy timeout) instead of failing."""
    import subprocess
    import sys
    import textwrap

    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    store = SqlJobStore(url)
    job = store.create(make_job())[0]
    code = textwrap.dedent(f"""
        import sys
        from app.jobs import WebhookDeliveryRecord, WebhookState
        from app.store import SqlJobStore
        store = SqlJobStore({url!r}, create=False)
        for n in range(60):
            record = WebhookDeliveryRecord(f"evt_{{sys.argv[1]}}_{{n}}", "job.succeeded", 1, "now", True)
            store.add_delivery({job.id!r}, record, WebhookState.DELIVERED)
        store.close()
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code, str(i)], stderr=subprocess.PIPE, text=True)
             for i in range(3)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    assert len(store.get(job.id).deliveries) == 180  # type: ignore[union-attr]
    store.close()
