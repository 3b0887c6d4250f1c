"""Prometheus metrics: the API's (own registry, so several apps can live in one process) and a
Celery worker's, which ``lessonlens worker --metrics-port`` serves over HTTP.

Where several processes serve one set of metrics (a prefork worker's pool, the HTTP processes of
``lessonlens serve --workers N``) they go through prometheus_client's multiprocess mode: the
starting process calls ``use_multiprocess`` before it forks or spawns the others, each process
writes its values to files in that folder, and a scrape of any of them adds them all up
(``exposition_registry``).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Metric,
    multiprocess,
    start_http_server,
    values,
)
from prometheus_client.registry import Collector

from app.jobs import Job, StageStatus
from app.jobs import WebhookDeliveryRecord as Delivery

log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_STAGE_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")

# prometheus_client's multiprocess helpers carry no annotations: their types, stated once here.
_get_value_class: Callable[[], type[object]] = values.get_value_class
_mark_process_dead: Callable[[int, str | None], None] = multiprocess.mark_process_dead
_files_collector: Callable[[CollectorRegistry | None, str], Collector] = multiprocess.MultiProcessCollector


class JobMetrics:
    """What running jobs updates, with the same names in the API and in a worker: jobs finished,
    stage run times and webhook attempts."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        r = registry
        self.finished = Counter("lessonlens_jobs_finished_total", "Jobs finished.", ["status"], registry=r)
        self.stage_seconds = Histogram("lessonlens_stage_seconds", "Stage run time.", ["stage", "status"],
                                       buckets=_STAGE_BUCKETS, registry=r)
        self.webhooks = Counter("lessonlens_webhook_attempts_total", "Webhook delivery attempts.",
                                ["outcome"], registry=r)

    def job_finished(self, job: Job) -> None:
        self.finished.labels(job.status.value).inc()
        for name, state in job.stage_states.items():
            if state.seconds is not None and state.status in (StageStatus.SUCCEEDED, StageStatus.SKIPPED):
                self.stage_seconds.labels(name, state.status.value).observe(state.seconds)

    def webhook_attempt(self, record: Delivery) -> None:
        self.webhooks.labels("ok" if record.ok else "error").inc()


class Metrics(JobMetrics):
    """Counters and histograms the API, the workers and the webhook dispatcher update."""

    def __init__(self) -> None:
        super().__init__(CollectorRegistry())
        r = self.registry
        self.requests = Histogram("lessonlens_http_request_seconds", "HTTP request latency.",
                                  ["method", "route", "status"], buckets=_LATENCY_BUCKETS, registry=r)
        self.submitted = Counter("lessonlens_jobs_submitted_total", "Jobs accepted.", ["source"], registry=r)
        self.source_seconds = Histogram("lessonlens_submit_source_seconds",
                                        "Submit: receiving and probing the media or checking a URL (waiting included).",
                                        ["kind"], buckets=_LATENCY_BUCKETS, registry=r)
        # Several HTTP processes: summed over the live ones (only the leader runs jobs).
        self.queue_depth = Gauge("lessonlens_queue_depth", "Job ids waiting for a worker.", registry=r,
                                 multiprocess_mode="livesum")
        self.workers_busy = Gauge("lessonlens_workers_busy", "Workers running a job.", registry=r,
                                  multiprocess_mode="livesum")


class WorkerMetrics(JobMetrics):
    """A Celery worker's metrics; in multiprocess mode, every process of the worker adds to them."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__(registry or CollectorRegistry())
        self.running = Gauge("lessonlens_worker_jobs_running", "Jobs running in this worker (all its processes).",
                             registry=self.registry, multiprocess_mode="livesum")


class WorkerMetricsServer:
    """Serves a worker's metrics at ``http://host:port/metrics`` from a thread of this process.

    With ``processes`` > 1 it switches this process, and the pool processes it forks later, to
    multiprocess mode: build it before the pool forks, and before any other metric is made.
    Raises ``OSError`` when the address cannot be bound (a port in use, say)."""

    def __init__(self, host: str, port: int, processes: int) -> None:
        self.folder = use_multiprocess() if processes > 1 else None
        self.metrics = WorkerMetrics()
        try:
            self._server, _ = start_http_server(port, host, exposition_registry(self.metrics.registry))
        except OSError:
            self.close()
            raise
        # The pool processes forked later must not keep the port open (taken after this process died).
        os.register_at_fork(after_in_child=self._server.socket.close)
        self.host, self.port = host, self._server.server_port
        self.url = f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        server: WSGIServer | None = getattr(self, "_server", None)
        if server is not None:
            server.shutdown()
            server.server_close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


_METRICS_PREFIX = "lessonlens-metrics-"
_METRICS_FOLDER = re.compile(re.escape(_METRICS_PREFIX) + r"(\d+)-[^/]+")


def use_multiprocess() -> Path:
    """Switch this process, and the processes it starts from now on, to multiprocess mode, in a
    new temporary folder named with this process's id (returned; its owner removes it). Call it
    before any metric is made. The folders of owners that are gone are removed first
    (``sweep_left_folders``)."""
    sweep_left_folders(Path(tempfile.gettempdir()))
    folder = Path(tempfile.mkdtemp(prefix=f"{_METRICS_PREFIX}{os.getpid()}-"))
    os.environ[_MULTIPROC_ENV] = str(folder)
    # prometheus_client picks the value class when it is imported; metrics made from now on use files.
    values.ValueClass = _get_value_class()
    return folder


def sweep_left_folders(where: Path) -> list[Path]:
    """Remove this user's metrics folders in ``where`` whose owner (the id in the name) is gone: a
    ``serve`` killed outright (SIGKILL, the OOM killer) never removes its folder, and every start
    after it made another. Returns those removed. Folders of a live process, another user's, or
    named without an id (made before ids were in the name) are left alone."""
    removed = []
    for folder in where.glob(f"{_METRICS_PREFIX}*"):
        match = _METRICS_FOLDER.fullmatch(folder.name)
        try:
            if not match or not folder.is_dir() or folder.stat().st_uid != os.getuid() or _alive(int(match.group(1))):
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    if removed:
        log.info("removed %d metrics folder(s) left by processes that are gone: %s", len(removed),
                 ", ".join(str(f) for f in removed))
    return removed


def exposition_registry(own: CollectorRegistry) -> CollectorRegistry:
    """What a scrape of this process shows: ``own`` registry, or in multiprocess mode the values
    of every process (the live gauges of the dead ones left out)."""
    folder = os.environ.get(_MULTIPROC_ENV)
    if not folder:
        return own
    registry = CollectorRegistry()
    registry.register(_LiveProcessesCollector(Path(folder)))
    return registry


def process_exited(pid: int) -> None:
    """Drop the live gauges of a pool process that ended (no-op outside multiprocess mode)."""
    if os.environ.get(_MULTIPROC_ENV):
        _mark_process_dead(pid, None)


def sweep_dead_processes(folder: Path) -> list[int]:
    """Mark dead the processes whose live-gauge files remain but which are gone (killed outright,
    so they never said so). Returns their ids."""
    pids = {int(m.group(1)) for p in folder.glob("gauge_live*.db") if (m := _LIVE_GAUGE_FILE.fullmatch(p.name))}
    gone = [pid for pid in sorted(pids) if not _alive(pid)]
    for pid in gone:
        _mark_process_dead(pid, str(folder))
    return gone


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process has the id now: not ours to drop either
        pass
    return True


class _LiveProcessesCollector:
    """``MultiProcessCollector`` of ``folder`` that first forgets the live gauges of processes that
    are gone."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._files = _files_collector(None, str(folder))  # None: registered by the caller, not here

    def collect(self) -> Iterable[Metric]:
        sweep_dead_processes(self._folder)
        return self._files.collect()
