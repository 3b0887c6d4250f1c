"""The leader lock of an embedded server (``app.leader``), and ``lessonlens serve --workers 2`` for
real: any process takes jobs, the leader runs them, and when it is SIGKILLed mid-job another
process takes over within 10 s and the job ends once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.leader import LOCK_FILE, LeaderLock, Leadership
from tests.app.receiver import Receiver
from tests.app.server_proc import ServeProcess, wait_for

SECRET = "leader-secret"


def test_one_holder_at_a_time_and_the_holder_pid_is_written(tmp_path: Path) -> None:
    first, second = LeaderLock(tmp_path / LOCK_FILE), LeaderLock(tmp_path / LOCK_FILE)
    assert first.try_acquire() and first.held
    assert not second.try_acquire() and not second.held  # another open file: excluded, even in one process
    assert second.holder() == os.getpid()
    first.release()
    assert second.try_acquire()
    second.release()


def test_a_lock_held_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / LOCK_FILE
    holder = subprocess.Popen([sys.executable, "-c", f"""
import sys, time
from pathlib import Path
from app.leader import LeaderLock
assert LeaderLock(Path({str(path)!r})).try_acquire()
print("held", flush=True)
time.sleep(60)
"""], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        elected = threading.Event()
        leadership = Leadership(LeaderLock(path), elected.set, lambda: None, poll_s=0.05)
        leadership.start()
        assert not leadership.leading and leadership.leader_seen
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        killed = time.monotonic()
        assert elected.wait(5)
        assert time.monotonic() - killed < 1 and leadership.leading
        assert LeaderLock(path).holder() == os.getpid()
        leadership.stop()
        assert LeaderLock(path).try_acquire()  # stopping released it
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_stop_hands_back_before_the_lock_is_free(tmp_path: Path) -> None:
    events: list[str] = []
    path = tmp_path / LOCK_FILE
    leader = Leadership(LeaderLock(path), lambda: events.append("lead"),
                        lambda: events.append(f"hand back, free={LeaderLock(path).try_acquire()}"))
    leader.start()
    assert leader.leading and events == ["lead"]
    leader.stop()
    assert events == ["lead", "hand back, free=False"] and not leader.leading


def test_the_embedded_leader_reaps_a_lapsed_lease_and_runs_the_job_again(tmp_path: Path, media_dir: Path) -> None:
    """A job whose worker stopped renewing its lease (frozen, say) is queued again by the leader's
    reaper and run: the reaper of issue 18, in the embedded setup too."""
    from fastapi.testclient import TestClient

    from app.jobs import Job, JobStatus, Source, StageState, new_job_id
    from app.main import create_app
    from app.settings import Settings
    from app.store import Lease

    settings = Settings(data_dir=tmp_path / "data", allowed_roots=[media_dir], lease_s=30, upkeep_every_s=0.2)
    with TestClient(create_app(settings)) as client:
        store = client.app.state.services.store  # type: ignore[attr-defined]
        for _ in range(5):  # the leader's relay may take a new job before this test claims it
            job = Job(id=new_job_id(), owner="anonymous", source=Source("path", str(media_dir / "silent.mp4")),
                      stages=("subtitles",), options={}, stage_states={"subtitles": StageState()})
            store.create(job)
            if store.claim(job.id, Lease("a-frozen-worker", ttl_s=0.5)) is not None:
                break
        else:
            pytest.fail("the leader ran every job before the test could claim one")
        done = wait_for(lambda: (j := store.get(job.id)) and j.status.terminal and j, 30, "the job to end again")
    assert done.status == JobStatus.SUCCEEDED and done.attempts == 2, done


# ---------------------------------------------------------------- a real server of two processes


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServeProcess]:
    server = ServeProcess(tmp_path / "data", {"webhook_secret": SECRET, "allow_private_urls": "true",
                                              "max_attempts": "3"}, processes=2)
    server.start(timeout_s=60)
    try:
        yield server
    finally:
        server.stop()


def _metric(text: str, name: str, labels: dict[str, str]) -> float:
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def _submit(c: httpx.Client, media: Path, webhook_url: str) -> str:
    r = c.post("/v1/jobs", files={"file": (media.name, media.read_bytes(), "video/mp4")},
               data={"stages": "subtitles", "webhook_url": webhook_url})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _ended(job: dict[str, Any]) -> bool:
    return job["status"] in ("succeeded", "failed", "cancelled")


@pytest.mark.slow
@pytest.mark.e2e
def test_leader_killed_mid_job_another_process_takes_over_and_the_job_ends_once(
        served: ServeProcess, long_lesson: Path, media_dir: Path) -> None:
    pids = wait_for(lambda: len(p := served.http_pids()) == 2 and p, 30, "two HTTP processes")
    leader = wait_for(served.leader_pid, 30, "a leader")
    assert leader in pids
    with Receiver(SECRET) as receiver, served.client() as c:
        # Requests land on either process; the leader runs every job (those stored elsewhere too).
        quick = [_submit(c, media_dir / "tone.mp4", receiver.url) for _ in range(4)]
        for job_id in quick:
            assert served.wait_job(c, job_id, _ended, 120)["status"] == "succeeded"
        job_id = _submit(c, long_lesson, receiver.url)
        served.wait_job(c, job_id, lambda j: j["stage_states"]["subtitles"]["status"] == "running", 120)
        os.kill(leader, signal.SIGKILL)
        killed = time.monotonic()
        new_leader = wait_for(lambda: (p := served.leader_pid()) not in (None, leader) and p, 10,
                              "another process to take the lead", every_s=0.02)
        takeover_s = time.monotonic() - killed
        job = served.wait_job(c, job_id, _ended, 120)
        wait_for(lambda: len(receiver.received) >= 5, 30, "the webhooks")
        time.sleep(1)  # a second end of the job, were there one, would be announced by now
        metrics = c.get("/metrics").text
    assert takeover_s <= 10, takeover_s
    assert new_leader in served.http_pids() and new_leader != leader
    assert job["status"] == "succeeded" and job["attempts"] == 2, job
    events = [r["headers"]["X-Lessonlens-Event-Id"] for r in receiver.received]
    assert events.count(f"evt_{job_id}_succeeded") == 1, events
    assert sorted(events) == sorted(f"evt_{i}_succeeded" for i in [*quick, job_id])
    assert served.log().count(f"{job_id}: succeeded") == 1
    # Metrics of every process, summed (the counts of the dead leader's jobs included).
    assert _metric(metrics, "lessonlens_jobs_finished_total", {"status": "succeeded"}) == 5
    assert _metric(metrics, "lessonlens_jobs_submitted_total", {}) == 5
