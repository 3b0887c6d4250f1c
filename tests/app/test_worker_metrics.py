"""The worker's metrics: serving them (one process), refusing a port in use, forgetting the live
gauges of pool processes that are gone. Through a real worker: ``test_distributed.py``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.jobs import Job, JobStatus, Source, StageState, StageStatus, WebhookDeliveryRecord
from app.metrics import WorkerMetricsServer, sweep_dead_processes, sweep_left_folders

LESSONLENS = str(Path(sys.executable).with_name("lessonlens"))


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """(sample name, labels) -> value of a Prometheus text page."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    return int(proc.stdout)  # run() reaped it: the id is free


def test_sweep_forgets_only_the_live_gauges_of_gone_processes(tmp_path: Path) -> None:
    gone, here = _dead_pid(), os.getpid()
    for name in (f"gauge_livesum_{gone}.db", f"gauge_liveall_{gone}.db", f"counter_{gone}.db",
                 f"histogram_{gone}.db", f"gauge_livesum_{here}.db"):
        (tmp_path / name).write_bytes(b"")
    assert sweep_dead_processes(tmp_path) == [gone]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"counter_{gone}.db", f"histogram_{gone}.db", f"gauge_livesum_{here}.db"])
    assert sweep_dead_processes(tmp_path) == []


def test_metrics_folders_left_by_gone_processes_are_removed_and_no_others(tmp_path: Path) -> None:
    """A serve killed outright leaves its folder; the next one removes it, never a live one's."""
    gone, here = _dead_pid(), os.getpid()
    for name in (f"lessonlens-metrics-{gone}-ab12", f"lessonlens-metrics-{here}-cd34", "lessonlens-metrics-ef56"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "counter_1.db").write_bytes(b"x")
    (tmp_path / f"lessonlens-metrics-{gone}-file").write_bytes(b"")  # not a folder
    assert sweep_left_folders(tmp_path) == [tmp_path / f"lessonlens-metrics-{gone}-ab12"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"lessonlens-metrics-{here}-cd34", "lessonlens-metrics-ef56", f"lessonlens-metrics-{gone}-file"])
    assert sweep_left_folders(tmp_path) == []


def test_one_process_server_serves_what_the_worker_recorded() -> None:
    server = WorkerMetricsServer("127.0.0.1", 0, processes=1)
    try:
        assert server.folder is None and server.url == f"http://127.0.0.1:{server.port}/metrics"
        states = {"subtitles": StageState(StageStatus.SUCCEEDED, 1.0, seconds=1.5),
                  "ocr": StageState(StageStatus.SKIPPED, 1.0, seconds=0.2),
                  "classify": StageState(StageStatus.FAILED, 0.3, seconds=None)}
        job = Job(id="job_1", owner="o", source=Source("path", "/x.mp4"), stages=tuple(states), options={},
                  status=JobStatus.FAILED, stage_states=states)
        server.metrics.job_finished(job)
        server.metrics.webhook_attempt(WebhookDeliveryRecord(
            event_id="evt_job_1_failed", event="job.failed", attempt=1, at="2024-01-01T00:00:00Z", ok=True, status_code=200))
        with server.metrics.running.track_inprogress():
            during = samples(httpx.get(server.url).text)
        after = samples(httpx.get(server.url).text)
    finally:
        server.close()
    assert during[("lessonlens_worker_jobs_running", frozenset())] == 1.0
    assert after[("lessonlens_worker_jobs_running", frozenset())] == 0.0
    assert after[("lessonlens_jobs_finished_total", frozenset({("status", "failed")}))] == 1.0
    assert after[("lessonlens_stage_seconds_sum", frozenset({("stage", "subtitles"), ("status", "succeeded")}))] == 1.5
    assert after[("lessonlens_stage_seconds_count", frozenset({("stage", "ocr"), ("status", "skipped")}))] == 1.0
    assert not any(labels and ("stage", "classify") in labels for _, labels in after)
    assert after[("lessonlens_webhook_attempts_total", frozenset({("outcome", "ok")}))] == 1.0


def test_worker_refuses_a_metrics_port_in_use_naming_it_and_the_option() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            WorkerMetricsServer("127.0.0.1", port, processes=1)
        proc = subprocess.run([LESSONLENS, "worker", "--metrics-port", str(port)], capture_output=True, text=True,
                              timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr
    assert f"--metrics-port {port}" in proc.stderr and "in use" in proc.stderr, proc.stderr
