"""Runs one job: fetch its media, run its stages, record progress and timings, finish it.

The same ``run_job`` serves the in-process queue and (issue 8) a Celery task: everything it
needs comes in a ``WorkerContext``, and all state goes through the ``JobStore``. Cancellation
is cooperative: the progress callback checks the store (throttled) and raises ``JobCancelled``.
A stopping worker hands its job back to the queue without counting the attempt.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path

from app.exceptions import AppError
from app.jobs import Job, JobStatus, Source, StageState, StageStatus, not_run, now_iso
from app.model_cache import ModelCache
from app.settings import Settings
from app.sources import fd_path, fetch_url, media_dict, open_path_source
from app.stages.context import StageContext, StageOutcome
from app.stages.graph import run_stages
from app.storage import Storage
from app.store import JobStore, Lease
from pipelines.exceptions import PipelineError
from pipelines.media import MediaInfo

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.5
_ENDED = frozenset({StageStatus.SUCCEEDED, StageStatus.SKIPPED})


class JobCancelled(Exception):
    """The job was cancelled while it ran."""


class WorkerStopping(Exception):
    """The worker is shutting down; the job goes back to the queue."""


class LeaseLost(Exception):
    """The job's lease lapsed and was reaped (this worker was presumed dead): stop, write nothing."""


class _Heartbeat:
    """A running job's hold on its lease, renewed by its worker's ``_Heartbeats``; notes a loss."""

    def __init__(self, beats: _Heartbeats, store: JobStore, job_id: str, lease: Lease) -> None:
        self.lost = threading.Event()
        self.store, self.job_id, self.lease = store, job_id, lease
        self.due = time.monotonic() + lease.ttl_s / 3
        self._beats = beats

    def renew(self) -> bool:
        """Extend the lease; False once it is lost (reaped: the job is another worker's now)."""
        self.due = time.monotonic() + self.lease.ttl_s / 3
        try:
            if not self.store.renew(self.job_id, self.lease):
                self.lost.set()
                return False
        except Exception:  # the store is briefly unreachable: the next beat tries again
            log.warning("%s: lease renewal failed", self.job_id, exc_info=True)
        return True

    def stop(self) -> None:
        self._beats.release(self)


class _Heartbeats:
    """Renews the leases of a worker's running jobs every third of their life, from one thread, so
    a long step without progress reports (a model load, a slow decode) keeps its job.

    The thread starts with a job and ends after ``IDLE_EXIT_S`` without one: a thread per job cost
    its start and join on every job (4 % of the embedded leader's GIL time with short jobs, py-spy).
    """

    IDLE_EXIT_S = 60.0

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held: dict[int, _Heartbeat] = {}
        self._thread: threading.Thread | None = None
        self._pid = 0  # the process the thread runs in: a forked child starts its own

    def hold(self, store: JobStore, job_id: str, lease: Lease) -> _Heartbeat:
        """Keep renewing ``lease`` until the returned heartbeat is stopped or the lease is lost."""
        beat = _Heartbeat(self, store, job_id, lease)
        with self._cond:
            self._held[id(beat)] = beat
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)
                self._thread.start()
            self._cond.notify()
        return beat

    def release(self, beat: _Heartbeat) -> None:
        with self._cond:
            self._held.pop(id(beat), None)

    def _run(self) -> None:
        idle_since: float | None = None
        while True:
            with self._cond:
                now = time.monotonic()
                if self._held:
                    idle_since = None
                elif idle_since is None:
                    idle_since = now
                elif now - idle_since >= self.IDLE_EXIT_S:
                    self._thread = None  # under the lock: the next hold() starts another
                    return
                due = [b for b in self._held.values() if b.due <= now]
                if not due:
                    next_due = min((b.due for b in self._held.values()), default=now + self.IDLE_EXIT_S)
                    self._cond.wait(max(0.0, next_due - now))
                    continue
            for beat in due:  # outside the lock: a renewal is a store write
                if not beat.renew():
                    self.release(beat)


@dataclass
class WorkerContext:
    """What a worker holds for its lifetime: its models are loaded once and reused by every job."""

    store: JobStore
    storage: Storage
    settings: Settings
    models: ModelCache
    on_finished: Callable[[Job], None] = lambda job: None
    stopping: threading.Event = field(default_factory=threading.Event)
    heartbeats: _Heartbeats = field(default_factory=_Heartbeats)
    # The jobs running now and their leases (shared by a queue's worker threads): what a stop
    # hands back itself when a run does not stop in time (``app.queue.LocalQueue.stop``).
    running: dict[str, Lease] = field(default_factory=dict)


class _Reporter:
    """Stage states and progress into the store, throttled; checks for cancel and stop. Stages may
    run at the same time (``run_stages`` calls ``on_stage`` from its own thread and ``progress``
    from each stage's), so the states are written under a lock."""

    def __init__(self, ctx: WorkerContext, job: Job, lease: Lease, heartbeat: _Heartbeat) -> None:
        self.ctx = ctx
        self.job_id = job.id
        self.lease = lease
        self.heartbeat = heartbeat
        self.states = dict(job.stage_states)
        self.running: dict[str, None] = {}  # in the order they started
        self.failed: str | None = None
        self.unwritten = False  # the last stage's end waits for the job's (``stages_to_finish``)
        self._last = 0.0
        self._lock = threading.Lock()

    @property
    def current(self) -> str | None:
        """The stage an error belongs to: the one that failed, else the first still running."""
        return self.failed or next(iter(self.running), None)

    def _put(self, updates: dict[str, StageState], *, check: bool = False) -> None:
        """Write the stage states; with ``check``, first honour a stop and a cancel request (the
        cancel is checked by the same UPDATE that writes, so it costs no extra query)."""
        if self.heartbeat.lost.is_set():
            raise LeaseLost
        if check and self.ctx.stopping.is_set():
            raise WorkerStopping
        with self._lock:
            self.states.update(updates)
            self.unwritten = False
            store = self.ctx.store
            if not store.put_stages(self.job_id, self.states, unless_cancelled=check, lease=self.lease):
                if not store.renew(self.job_id, self.lease):
                    raise LeaseLost
                if check:
                    raise JobCancelled

    def on_stage(self, name: str, phase: str, outcome: StageOutcome | None) -> None:
        if phase == "running":
            self.running[name] = None
            self._put({name: StageState(StageStatus.RUNNING, 0.0, started_at=now_iso())}, check=True)
            log.info("%s: stage %s running", self.job_id, name)
            return
        if phase == "failed":
            self.failed = name
            return
        if phase != "done":  # "stopped": ended with the job by end_current
            return
        assert outcome is not None
        prev = self.states.get(name, StageState())
        status = outcome.status
        self.running.pop(name, None)
        ended = StageState(status, 1.0, prev.started_at, now_iso(), outcome.seconds, outcome.summary,
                           outcome.files, outcome.reason)
        with self._lock:
            last = not self.running and all(s.status in _ENDED for n, s in self.states.items() if n != name)
            if last:  # stored with the job's end, in the same UPDATE (one store write fewer per job)
                self.states[name] = ended
                self.unwritten = True
        if not last:
            self._put({name: ended})
        log.info("%s: stage %s %s in %.2f s%s", self.job_id, name, status.value, outcome.seconds,
                 f" ({outcome.reason})" if outcome.reason else "")

    def progress(self, name: str, fraction: float) -> None:
        if self.ctx.stopping.is_set():
            raise WorkerStopping
        if self.heartbeat.lost.is_set():
            raise LeaseLost
        now = time.monotonic()
        if name not in self.running or now - self._last < PROGRESS_EVERY_S:
            return
        self._last = now
        prev = self.states.get(name, StageState())
        self._put({name: StageState(StageStatus.RUNNING, round(min(max(fraction, 0.0), 1.0), 3),
                                    started_at=prev.started_at)}, check=True)

    def stages_to_finish(self, status: JobStatus) -> dict[str, StageState] | None:
        """The stage states the job's end must store too, or None: its last stage ended unwritten,
        or it ended ``status`` (failed, cancelled) before some stages ran, which say so."""
        with self._lock:
            if status == JobStatus.SUCCEEDED or all(s.status != StageStatus.PENDING for s in self.states.values()):
                return dict(self.states) if self.unwritten else None
            if status == JobStatus.CANCELLED:
                why = "the job was cancelled"
            elif self.failed or self.running:
                why = f"stage {self.current} failed"
            else:
                why = "the job failed before it reached this stage"
            return not_run(self.states, why)

    def end_current(self, status: StageStatus, error: str | None) -> None:
        """End the stages still running: the one that failed with ``status`` and ``error``; the
        ones stopped because of it cancelled, saying why; with a cancel or a stop, all alike."""
        if not self.running:
            return
        updates = {}
        for name in self.running:
            prev = self.states.get(name, StageState())
            mine, why = status, error
            if status is StageStatus.FAILED and self.failed and name != self.failed:
                mine, why = StageStatus.CANCELLED, f"stopped: stage {self.failed} failed"
            updates[name] = StageState(mine, prev.progress, prev.started_at, now_iso(), error=why)
        with suppress(LeaseLost):  # the job is another worker's now: its stage states are not ours to write
            self._put(updates)


def _media_for(job: Job, ctx: WorkerContext, opened: ExitStack) -> tuple[Path, MediaInfo | None]:
    """The local media file of a job; URL sources are downloaded (once) into its inputs folder.
    A path source is opened once, safely, and must still be the file checked at submit; the job
    reads that descriptor (closed by ``opened``)."""
    src = job.source
    if src.kind == "path":
        fd = open_path_source(src.location, ctx.settings.allowed_roots, src.identity)
        opened.callback(os.close, fd)
        info = MediaInfo(path=str(fd_path(fd)), **src.media) if src.media else None
        return fd_path(fd), info
    if src.kind != "url":
        info = MediaInfo(path=src.location, **src.media) if src.media else None
        return Path(src.location), info
    s = ctx.settings
    tmp, info = fetch_url(src.location, ctx.storage, max_bytes=int(s.max_upload_mb * 1e6),
                          timeout_s=s.url_timeout_s, allow_private=s.allow_private_urls)
    path = ctx.storage.commit_input(job.id, tmp, src.filename or "media")
    ctx.store.update_source(job.id, Source("url", src.location, src.filename, info.size_bytes,
                                           media_dict(info)))
    return path, info


def run_job(job_id: str, ctx: WorkerContext) -> Job | None:
    """Run one queued job to its end. Returns the finished job, or None when it was not runnable
    (gone, cancelled, already taken) or was handed back because the worker is stopping."""
    lease = Lease(holder=f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}",
                  ttl_s=ctx.settings.lease_s)
    job = ctx.store.claim(job_id, lease)
    if job is None:
        return None
    started = time.monotonic()
    log.info("%s: started (attempt %d), stages %s", job.id, job.attempts, ",".join(job.stages))
    heartbeat = ctx.heartbeats.hold(ctx.store, job.id, lease)
    reporter = _Reporter(ctx, job, lease, heartbeat)
    opened = ExitStack()
    opened.callback(heartbeat.stop)
    ctx.running[job.id] = lease
    opened.callback(ctx.running.pop, job.id, None)
    try:
        media_path, info = _media_for(job, ctx, opened)
        out_dir = ctx.storage.results_dir(job.id)
        sctx = StageContext(media_path=media_path, out_dir=out_dir, models=ctx.models, info=info)
        run_stages(sctx, list(job.stages), job.options, reporter.on_stage, on_progress=reporter.progress,
                   overlap=ctx.settings.stage_overlap, threads=ctx.settings.threads_per_job())
        status, error = JobStatus.SUCCEEDED, None
    except WorkerStopping:
        reporter.end_current(StageStatus.PENDING, None)
        ctx.store.requeue(job.id, count_attempt=False, lease=lease)
        log.info("%s: handed back to the queue (worker stopping)", job.id)
        return None
    except LeaseLost:
        log.warning("%s: its lease lapsed and it was queued again elsewhere; this run stops unfinished", job.id)
        return None
    except JobCancelled:
        reporter.end_current(StageStatus.CANCELLED, "cancelled by request")
        status, error = JobStatus.CANCELLED, "cancelled by request"
    except (PipelineError, AppError) as e:
        error = f"stage {reporter.current}: {e}" if reporter.current else str(e)
        reporter.end_current(StageStatus.FAILED, str(e))
        status = JobStatus.FAILED
    except Exception as e:
        log.exception("%s: unexpected error", job.id)
        error = f"internal error{' in stage ' + reporter.current if reporter.current else ''}: " \
                f"{type(e).__name__}: {e}"
        reporter.end_current(StageStatus.FAILED, error)
        status = JobStatus.FAILED
    finally:
        opened.close()
    # Fenced: refused if reaped meanwhile.
    finished = ctx.store.finish(job.id, status, error, lease=lease, stages=reporter.stages_to_finish(status))
    if finished is None:
        log.warning("%s: %s here, but its lease lapsed meanwhile: the end is not stored", job.id, status.value)
        return None
    # A failure is for an operator to see at WARNING; a success or a cancel by request is not.
    # As stored: a cancel asked after the run's last check ends it cancelled (``SqlJobStore.finish``).
    log.log(logging.WARNING if finished.status == JobStatus.FAILED else logging.INFO, "%s: %s in %.2f s%s",
            job.id, finished.status.value, time.monotonic() - started,
            f": {finished.error}" if finished.error else "")
    _safe_notify(ctx, finished)
    return finished


def hand_back_running(running: dict[str, Lease], store: JobStore, waited_s: float) -> list[str]:
    """Hand each job still in ``running`` back to the queue with its lease, its attempt not counted:
    a stopping worker's runs that did not heed the stop within ``waited_s`` (a run checks for it at
    its progress reports, and a Whisper window decoding at the job threads' low priority on a busy
    machine reports nothing for that long). A run that ends later finds its lease gone and writes
    nothing; a job that ended meanwhile holds no lease and is left alone. Returns the ids."""
    handed = []
    for job_id, lease in list(running.items()):
        try:
            store.requeue(job_id, count_attempt=False, lease=lease)
        except Exception:  # the store is gone: recovery finds the job at the next start
            log.exception("%s: could not be handed back to the queue", job_id)
            continue
        handed.append(job_id)
        log.info("%s: handed back to the queue (worker stopping; its run did not stop within %.1f s)",
                 job_id, waited_s)
    return handed


def _safe_notify(ctx: WorkerContext, job: Job) -> None:
    try:
        ctx.on_finished(job)
    except Exception:  # notification (webhooks, metrics) never fails the job
        log.exception("%s: on_finished hook failed", job.id)

