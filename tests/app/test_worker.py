"""run_job and the in-process queue, with a real store and storage; fake stages where timing matters."""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from app.jobs import Job, JobStatus, Source, StageState, StageStatus, new_job_id
from app.lifecycle import SERVER_STOPPED, JobLifecycle, LocalWebhooks, WebhookPolicy
from app.metrics import WorkerMetrics
from app.model_cache import ModelCache
from app.queue import LocalQueue
from app.settings import Settings
from app.sources import media_dict
from app.stages import graph as stage_graph
from app.stages.context import NoOptions, Stage, StageContext, StageOutcome
from app.storage import LocalStorage
from app.store import SqlJobStore
from app.worker import WorkerContext, run_job
from pipelines import media
from pipelines.exceptions import OptionsError
from tests.app.server_proc import wait_for

started = threading.Event()


def _slow(ctx: StageContext, options: NoOptions) -> StageOutcome:
    started.set()
    for i in range(2000):
        ctx.progress(i / 2000)
        threading.Event().wait(0.005)
    return StageOutcome(StageStatus.SUCCEEDED, {})


release = threading.Event()


def _silent(ctx: StageContext, options: NoOptions) -> StageOutcome:
    """A stage that reports nothing for a long while (a Whisper window decoding on a busy machine)."""
    ctx.progress(0.0)
    started.set()
    release.wait(30)
    ctx.progress(0.5)
    return StageOutcome(StageStatus.SUCCEEDED, {})


def _broken(ctx: StageContext, options: NoOptions) -> StageOutcome:
    raise OptionsError("bad option x; use y")


def _crash(ctx: StageContext, options: NoOptions) -> StageOutcome:
    raise RuntimeError("boom")


@pytest.fixture
def fake_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, fn in (("slow", _slow), ("silent", _silent), ("broken", _broken), ("crash", _crash)):
        monkeypatch.setitem(stage_graph.STAGES, name, Stage(name, lambda: NoOptions, fn))
    monkeypatch.setattr("app.worker.PROGRESS_EVERY_S", 0.0)
    started.clear()
    release.clear()


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[WorkerContext]:
    settings = Settings(data_dir=tmp_path / "data")
    store = SqlJobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield WorkerContext(store=store, storage=LocalStorage(settings.data_dir), settings=settings,
                        models=ModelCache(settings))
    store.close()


def submit(ctx: WorkerContext, media_file: Path, stages: tuple[str, ...]) -> Job:
    info = media.probe(media_file)
    job = Job(id=new_job_id(), owner="a", source=Source("path", str(media_file), media_file.name,
                                                        info.size_bytes, media_dict(info)),
              stages=stages, options={}, stage_states={s: StageState() for s in stages})
    return ctx.store.create(job)[0]


def test_silent_media_runs_the_real_subtitles_stage_to_skipped(ctx: WorkerContext, media_dir: Path) -> None:
    job = submit(ctx, media_dir / "silent.mp4", ("subtitles",))
    done = run_job(job.id, ctx)
    assert done is not None and done.status == JobStatus.SUCCEEDED and done.attempts == 1
    state = done.stage_states["subtitles"]
    assert state.status == StageStatus.SKIPPED and "no speech track" in (state.reason or "")
    assert state.seconds is not None and state.started_at and state.finished_at
    assert ctx.storage.result_file(job.id, "subtitles.json") is not None
    assert ctx.models.loaded() == []  # nothing to transcribe: no model loaded


def _quick(ctx: StageContext, options: NoOptions) -> StageOutcome:
    return StageOutcome(StageStatus.SUCCEEDED, {"n": 1})


def test_the_last_stage_ends_in_the_same_write_as_the_job(ctx: WorkerContext, media_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A stage's end is written when it ends, except the job's last one: the job's end (one fenced
    UPDATE) stores it, so a job costs the store one write fewer; the states come out the same."""
    for name in ("first", "second"):
        monkeypatch.setitem(stage_graph.STAGES, name, Stage(name, lambda: NoOptions, _quick,
                                                            needs=("first",) if name == "second" else ()))
    writes: list[dict[str, StageStatus]] = []
    put_stages = ctx.store.put_stages

    def recorded(job_id: str, states: dict[str, StageState], **kwargs: object) -> bool:
        writes.append({k: v.status for k, v in states.items()})
        return put_stages(job_id, states, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ctx.store, "put_stages", recorded)
    job = submit(ctx, media_dir / "silent.mp4", ("first", "second"))
    done = run_job(job.id, ctx)
    assert done is not None and done.status == JobStatus.SUCCEEDED
    assert writes == [{"first": StageStatus.RUNNING, "second": StageStatus.PENDING},
                      {"first": StageStatus.SUCCEEDED, "second": StageStatus.PENDING},  # before the next starts
                      {"first": StageStatus.SUCCEEDED, "second": StageStatus.RUNNING}]
    stored = ctx.store.get(job.id)
    assert stored is not None and stored.stage_states == done.stage_states
    last = stored.stage_states["second"]
    assert last.status == StageStatus.SUCCEEDED and last.summary == {"n": 1} and last.finished_at


def test_stage_error_fails_the_job_with_its_reason(ctx: WorkerContext, media_dir: Path,
                                                   fake_stages: None) -> None:
    done = run_job(submit(ctx, media_dir / "tone.mp4", ("broken",)).id, ctx)
    assert done is not None and done.status == JobStatus.FAILED
    assert done.error == "stage broken: bad option x; use y"
    assert done.stage_states["broken"].status == StageStatus.FAILED


def test_a_failed_job_is_logged_at_warning_a_succeeded_one_at_info(
        ctx: WorkerContext, media_dir: Path, fake_stages: None, caplog: pytest.LogCaptureFixture) -> None:
    """An operator filtering on WARNING sees failures (they were logged at INFO)."""
    caplog.set_level(logging.INFO, logger="app.worker")
    failed = run_job(submit(ctx, media_dir / "tone.mp4", ("broken",)).id, ctx)
    succeeded = run_job(submit(ctx, media_dir / "silent.mp4", ("subtitles",)).id, ctx)
    assert failed is not None and succeeded is not None
    ends = {r.getMessage(): r.levelno for r in caplog.records
            if r.name == "app.worker" and re.match(r"job_\w+: (failed|succeeded) in ", r.getMessage())}
    assert [level for message, level in ends.items() if message.startswith(f"{failed.id}: failed in ")
            and message.endswith("stage broken: bad option x; use y")] == [logging.WARNING]
    assert [level for message, level in ends.items()
            if message.startswith(f"{succeeded.id}: succeeded in ")] == [logging.INFO]


@pytest.fixture
def then_after(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], tuple[str, str]]:
    """Register a stage ``after`` that needs the given stage; the two, as a job's stages."""

    def register(first: str) -> tuple[str, str]:
        monkeypatch.setitem(stage_graph.STAGES, "after", Stage("after", lambda: NoOptions, _quick, needs=(first,)))
        return first, "after"

    return register


def test_stages_a_failed_job_never_ran_say_so(ctx: WorkerContext, media_dir: Path, fake_stages: None,
                                              then_after: Callable[[str], tuple[str, str]]) -> None:
    """Not ``pending`` in an ended job: skipped, with the reason."""
    done = run_job(submit(ctx, media_dir / "tone.mp4", then_after("broken")).id, ctx)
    assert done is not None and done.status == JobStatus.FAILED
    after = done.stage_states["after"]
    assert after.status == StageStatus.SKIPPED and after.reason == "not run: stage broken failed"
    assert after.started_at is None and after.seconds is None
    stored = ctx.store.get(done.id)
    assert stored is not None and stored.stage_states == done.stage_states


def test_stages_of_a_job_whose_source_failed_say_so(ctx: WorkerContext, media_dir: Path, tmp_path: Path) -> None:
    gone = tmp_path / "gone.mp4"
    shutil.copy(media_dir / "silent.mp4", gone)
    job = submit(ctx, gone, ("subtitles",))
    gone.unlink()
    done = run_job(job.id, ctx)
    assert done is not None and done.status == JobStatus.FAILED and "no longer there" in (done.error or "")
    state = done.stage_states["subtitles"]
    assert state.status == StageStatus.SKIPPED
    assert state.reason == "not run: the job failed before it reached this stage"


def test_stages_a_cancelled_job_never_ran_say_so(ctx: WorkerContext, media_dir: Path, fake_stages: None,
                                                 then_after: Callable[[str], tuple[str, str]]) -> None:
    ended = _cancel_once_started(ctx, submit(ctx, media_dir / "tone.mp4", then_after("slow")))
    assert ended.stage_states["slow"].status == StageStatus.CANCELLED
    after = ended.stage_states["after"]
    assert after.status == StageStatus.SKIPPED and after.reason == "not run: the job was cancelled"


def test_unexpected_error_is_reported_not_raised(ctx: WorkerContext, media_dir: Path, fake_stages: None) -> None:
    done = run_job(submit(ctx, media_dir / "tone.mp4", ("crash",)).id, ctx)
    assert done is not None and done.status == JobStatus.FAILED
    assert done.error and "RuntimeError: boom" in done.error and "crash" in done.error


def _cancel_once_started(ctx: WorkerContext, job: Job) -> Job:
    """Run ``job`` in a thread, cancel it once a stage has started; the job as the worker ended it."""
    result: list[Job | None] = []
    thread = threading.Thread(target=lambda: result.append(run_job(job.id, ctx)))
    thread.start()
    assert started.wait(10)
    ctx.store.request_cancel(job.id)
    thread.join(10)
    assert result and result[0] is not None and result[0].status == JobStatus.CANCELLED
    return result[0]


def test_cancel_while_running(ctx: WorkerContext, media_dir: Path, fake_stages: None) -> None:
    job = submit(ctx, media_dir / "tone.mp4", ("slow",))
    ended = _cancel_once_started(ctx, job)
    assert ended.stage_states["slow"].status == StageStatus.CANCELLED


def test_a_cancel_asked_after_the_runs_last_check_still_ends_it_cancelled(
        ctx: WorkerContext, media_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cancel comes after the stage's last progress report, as it returns (a batch refused
    part-way took its started job back so, and it ended ``succeeded``): the job ends cancelled,
    saying its stages had all run, and is logged as such."""
    asked: list[str] = []

    def cancelled_as_it_ends(sctx: StageContext, options: NoOptions) -> StageOutcome:
        sctx.progress(1.0)
        ctx.store.request_cancel(asked[0])  # what the API does, between the last check and the end
        return StageOutcome(StageStatus.SUCCEEDED, {})

    monkeypatch.setitem(stage_graph.STAGES, "late", Stage("late", lambda: NoOptions, cancelled_as_it_ends))
    job = submit(ctx, media_dir / "tone.mp4", ("late",))
    asked.append(job.id)
    done = run_job(job.id, ctx)
    assert done is not None and done.status == JobStatus.CANCELLED
    assert done.error == "cancelled by request as it ended (its stages had all run; its files are kept)"
    assert done.stage_states["late"].status == StageStatus.SUCCEEDED  # what ran, as it ran
    assert ctx.store.get(job.id) == done


def test_stopping_worker_hands_the_job_back(ctx: WorkerContext, media_dir: Path, fake_stages: None) -> None:
    job = submit(ctx, media_dir / "tone.mp4", ("slow",))
    thread = threading.Thread(target=run_job, args=(job.id, ctx))
    thread.start()
    assert started.wait(10)
    ctx.stopping.set()
    thread.join(10)
    again = ctx.store.get(job.id)
    assert again is not None and again.status == JobStatus.QUEUED and again.attempts == 0


def test_a_stop_hands_back_a_job_whose_run_does_not_stop_in_time(ctx: WorkerContext, media_dir: Path,
                                                                 fake_stages: None,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """A graceful stop waits for the running job to hand itself back at its next report; when none
    comes in time, the stop hands it back itself, with its lease: queued, no attempt counted (the
    process would otherwise go with the job 'running', and recovery would count an attempt)."""
    job = submit(ctx, media_dir / "silent.mp4", ("silent",))
    queue = LocalQueue(ctx.settings, ctx.store, ctx.storage)
    queue.enqueue(job.id)
    queue.start()
    assert started.wait(10)
    with caplog.at_level(logging.INFO, logger="app.worker"):
        queue.stop(timeout_s=0.3)
    back = ctx.store.get(job.id)
    assert back is not None and back.status == JobStatus.QUEUED and back.attempts == 0
    assert f"{job.id}: handed back to the queue (worker stopping; its run did not stop within 0.3 s)" in caplog.text
    release.set()  # the run goes on and stops at its next report: it no longer holds the job
    wait_for(lambda: queue.busy() == 0, 10, "the worker to let go")
    again = ctx.store.get(job.id)
    assert again is not None and again.status == JobStatus.QUEUED and again.attempts == 0


def test_queue_runs_jobs_and_recovery_requeues_interrupted_ones(ctx: WorkerContext, media_dir: Path) -> None:
    interrupted = submit(ctx, media_dir / "silent.mp4", ("subtitles",))
    ctx.store.claim(interrupted.id)  # as if a previous process died while running it
    fresh = submit(ctx, media_dir / "silent.mp4", ("subtitles",))
    finished: list[str] = []
    queue = LocalQueue(ctx.settings.model_copy(update={"workers": 2}), ctx.store, ctx.storage,
                       on_finished=lambda j: finished.append(j.id))
    metrics = WorkerMetrics()
    webhooks = LocalWebhooks(ctx.store, WebhookPolicy(ctx.store, metrics, ""))
    lifecycle = JobLifecycle(ctx.store, metrics, webhooks, max_attempts=3)
    assert [j.status for j in lifecycle.recover(SERVER_STOPPED)] == [JobStatus.QUEUED]
    for job_id in ctx.store.queued_ids():
        queue.enqueue(job_id)
    queue.start()
    try:
        wait_for(lambda: len(finished) == 2, 30, "both jobs")
    finally:
        queue.stop()
    first = ctx.store.get(interrupted.id)
    assert first is not None and first.status == JobStatus.SUCCEEDED and first.attempts == 2
    second = ctx.store.get(fresh.id)
    assert second is not None and second.status == JobStatus.SUCCEEDED and second.attempts == 1
    assert asdict(first.source)["media"]["has_video"]


def test_url_source_is_downloaded_by_the_worker(ctx: WorkerContext, media_dir: Path) -> None:
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(media_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ctx.settings = ctx.settings.model_copy(update={"allow_private_urls": True})
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        ok = ctx.store.create(Job(id=new_job_id(), owner="a", source=Source("url", f"{url}/silent.mp4", "silent.mp4"),
                                  stages=("subtitles",), options={}))[0]
        bad = ctx.store.create(Job(id=new_job_id(), owner="a", source=Source("url", f"{url}/text.mp4", "text.mp4"),
                                   stages=("subtitles",), options={}))[0]
        done, failed = run_job(ok.id, ctx), run_job(bad.id, ctx)
    finally:
        server.shutdown()
        server.server_close()
    assert done is not None and done.status == JobStatus.SUCCEEDED
    assert done.source.media and done.source.media["has_video"] and "path" not in done.source.media
    assert failed is not None and failed.status == JobStatus.FAILED
    assert failed.error and "not a readable media file" in failed.error and str(ctx.storage.root) not in failed.error
    assert list((ctx.storage.root / "incoming").iterdir()) == []


def _late_failure(ctx: StageContext, options: NoOptions) -> StageOutcome:
    assert started.wait(10)  # the other stage is running
    raise OptionsError("the frames are unreadable; convert the video")


@pytest.fixture
def side_by_side(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ocr`` fails while ``subtitles`` (which overlaps it) is running."""
    monkeypatch.setitem(stage_graph.STAGES, "ocr", Stage("ocr", lambda: NoOptions, _late_failure))
    monkeypatch.setitem(stage_graph.STAGES, "subtitles", Stage("subtitles", lambda: NoOptions, _slow,
                                                               uses=("ocr",), overlaps=("ocr",)))
    monkeypatch.setattr("app.worker.PROGRESS_EVERY_S", 0.0)
    started.clear()
    release.clear()


def test_a_stage_failing_beside_another_fails_the_job_and_stops_the_other(
        ctx: WorkerContext, media_dir: Path, side_by_side: None) -> None:
    done = run_job(submit(ctx, media_dir / "tone.mp4", ("subtitles", "ocr")).id, ctx)
    assert done is not None and done.status == JobStatus.FAILED
    assert done.error == "stage ocr: the frames are unreadable; convert the video"
    assert done.stage_states["ocr"].status == StageStatus.FAILED
    stopped = done.stage_states["subtitles"]
    assert stopped.status == StageStatus.CANCELLED and stopped.error == "stopped: stage ocr failed"
    assert stopped.progress < 0.5  # stopped at its next report, long before its end


def test_cancel_stops_stages_running_at_once(ctx: WorkerContext, media_dir: Path,
                                             monkeypatch: pytest.MonkeyPatch, side_by_side: None) -> None:
    monkeypatch.setitem(stage_graph.STAGES, "ocr", Stage("ocr", lambda: NoOptions, _slow))
    job = submit(ctx, media_dir / "tone.mp4", ("subtitles", "ocr"))
    ended = _cancel_once_started(ctx, job)
    assert {s.status for s in ended.stage_states.values()} == {StageStatus.CANCELLED}


def _quiet(ctx: StageContext, options: NoOptions) -> StageOutcome:
    """Three lease lives without a progress report (a model load, say): only the heartbeat renews."""
    started.set()
    threading.Event().wait(0.9)
    return StageOutcome(StageStatus.SUCCEEDED, {})


def _quiet_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[SqlJobStore, WorkerContext]:
    """A worker whose leases last 0.3 s, with the ``quiet`` stage registered."""
    monkeypatch.setitem(stage_graph.STAGES, "quiet", Stage("quiet", lambda: NoOptions, _quiet))
    started.clear()
    settings = Settings(data_dir=tmp_path / "data", lease_s=0.3)
    store = SqlJobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    return store, WorkerContext(store=store, storage=LocalStorage(settings.data_dir), settings=settings,
                                models=ModelCache(settings))


def test_the_heartbeat_keeps_a_quiet_job_from_being_reaped(tmp_path: Path, media_dir: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    store, ctx = _quiet_worker(tmp_path, monkeypatch)
    try:
        jobs = [submit(ctx, media_dir / "tone.mp4", ("quiet",)) for _ in range(2)]
        results: list[Job | None] = []
        before = set(threading.enumerate())
        threads = [threading.Thread(target=lambda j=j: results.append(run_job(j.id, ctx))) for j in jobs]
        for t in threads:  # two jobs at once: one heartbeat thread renews both leases
            t.start()
        reaped: list[Job] = []
        while any(t.is_alive() for t in threads):
            reaped += store.reap(lambda job: job.with_changes(status=JobStatus.QUEUED))
            threading.Event().wait(0.02)
        assert reaped == []
        assert len(results) == 2 and all(r is not None and r.status == JobStatus.SUCCEEDED for r in results)
        assert sum(t.name == "lease-heartbeat" for t in set(threading.enumerate()) - before) == 1
    finally:
        store.close()


def test_a_reaped_job_stops_unfinished(tmp_path: Path, media_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process reaps the job (its lease lapsed): this run notes the loss (the heartbeat's
    renewal or its next write is refused) and ends without writing the job's end."""
    store, ctx = _quiet_worker(tmp_path, monkeypatch)
    try:
        job = submit(ctx, media_dir / "tone.mp4", ("quiet",))
        result: list[Job | None] = []
        thread = threading.Thread(target=lambda: result.append(run_job(job.id, ctx)))
        thread.start()
        assert started.wait(10)
        # as if the lease had lapsed: the reaper takes it (now = far in the future)
        reaped = store.reap(lambda j: j.with_changes(status=JobStatus.QUEUED), now=time.time() + 3600)
        assert [j.id for j in reaped] == [job.id]
        thread.join(10)
        assert result == [None]
        stored = store.get(job.id)
        assert stored is not None and stored.status == JobStatus.QUEUED
    finally:
        store.close()
