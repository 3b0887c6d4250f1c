"""The leader lock of an embedded server (``app.leader``), and ``lessonlens serve --workers 2`` for
real: any HTTP process takes jobs, the job process (``app.job_process``, serving no HTTP) runs
them, and when it is SIGKILLed mid-job another takes over within 10 s and the job ends once;
when no job process comes back an HTTP process runs the jobs; none outlives ``serve``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
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


def test_probing_a_free_lock_leaves_the_holder_pid_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / LOCK_FILE
    path.write_text("4242\n")
    lock = LeaderLock(path)
    assert lock.free() and not lock.held and lock.holder() == 4242
    assert lock.try_acquire() and not LeaderLock(path).free()
    assert lock.holder() == os.getpid()
    lock.release()


def test_with_a_grace_a_free_lock_is_left_to_another_for_that_long(tmp_path: Path) -> None:
    """An HTTP process of ``serve`` leaves a lock it finds free to the job process started again."""
    path = tmp_path / LOCK_FILE
    elected = threading.Event()
    follower = Leadership(LeaderLock(path), elected.set, lambda: None, poll_s=0.02, grace_s=0.5)
    follower.start()
    assert not follower.leading and not follower.leader_seen  # free: nobody runs the jobs yet
    time.sleep(0.2)
    restarted = LeaderLock(path)
    assert restarted.try_acquire()  # the job process, within the grace
    wait_for(lambda: follower.leader_seen, 5, "the follower to see the lock held")
    assert not elected.is_set()
    restarted.release()
    freed = time.monotonic()
    assert elected.wait(5) and follower.leading
    assert time.monotonic() - freed >= 0.5  # a full grace again, counted from when it was found free
    follower.stop()


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


def _pids_named(served: ServeProcess, name: str) -> set[int]:
    import psutil

    pids = set()
    for pid in served.descendants():
        try:
            if psutil.Process(pid).name() == name:
                pids.add(pid)
        except psutil.Error:
            continue
    return pids


def _gone(pids: set[int]) -> bool:
    """Whether none of ``pids`` runs (a zombie waiting for its parent to reap it does not)."""
    import psutil

    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


@pytest.mark.slow
@pytest.mark.e2e
def test_the_job_process_killed_mid_job_another_takes_over_and_the_job_ends_once(
        served: ServeProcess, long_lesson: Path, media_dir: Path) -> None:
    pids = wait_for(lambda: len(p := served.http_pids()) == 2 and p, 30, "two HTTP processes")
    leader = wait_for(served.leader_pid, 30, "a leader")
    # The jobs run in a process that serves no HTTP (not listening on the port).
    assert leader not in pids and served.job_pids() == {leader}
    with Receiver(SECRET) as receiver, served.client() as c:
        # Requests land on either HTTP process; the job process runs every job.
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
    # The keeper started another job process, which took the lock before any HTTP process did.
    assert new_leader in served.job_pids() and new_leader not in served.http_pids()
    assert f"job process {leader} ended (killed by SIGKILL); starting another" in served.log()
    assert job["status"] == "succeeded" and job["attempts"] == 2, job
    events = [r["headers"]["X-Lessonlens-Event-Id"] for r in receiver.received]
    assert events.count(f"evt_{job_id}_succeeded") == 1, events
    assert sorted(events) == sorted(f"evt_{i}_succeeded" for i in [*quick, job_id])
    assert served.log().count(f"{job_id}: succeeded") == 1
    # Metrics of every process, summed (the counts of the dead job process's jobs included).
    assert _metric(metrics, "lessonlens_jobs_finished_total", {"status": "succeeded"}) == 5
    assert _metric(metrics, "lessonlens_jobs_submitted_total", {}) == 5


@pytest.mark.slow
@pytest.mark.e2e
def test_without_a_job_process_an_http_process_runs_the_jobs(
        served: ServeProcess, long_lesson: Path, media_dir: Path) -> None:
    """The keeper SIGKILLed: its job process ends with it (handing its job back), none is started
    again, and within the grace an HTTP process takes the lock and runs the jobs."""
    leader = wait_for(served.leader_pid, 30, "a leader")
    (keeper,) = wait_for(lambda: _pids_named(served, "lessonlens-keep"), 30, "the keeper")
    with Receiver(SECRET) as receiver, served.client() as c:
        job_id = _submit(c, long_lesson, receiver.url)
        served.wait_job(c, job_id, lambda j: j["stage_states"]["subtitles"]["status"] == "running", 120)
        os.kill(keeper, signal.SIGKILL)
        killed = time.monotonic()
        new_leader = wait_for(lambda: (p := served.leader_pid()) not in (None, leader) and p, 10,
                              "an HTTP process to take the lead", every_s=0.02)
        takeover_s = time.monotonic() - killed
        wait_for(lambda: _gone({leader}), 10, "the job process to end with its keeper")
        job = served.wait_job(c, job_id, _ended, 120)
        quick = _submit(c, media_dir / "tone.mp4", receiver.url)
        assert served.wait_job(c, quick, _ended, 120)["status"] == "succeeded"
        wait_for(lambda: len(receiver.received) >= 2, 30, "the webhooks")
        time.sleep(1)
    assert takeover_s <= 10 and new_leader in served.http_pids(), (takeover_s, new_leader)
    assert job["status"] == "succeeded", job
    assert f"job process {leader} stopping: running jobs go back to the queue" in served.log()
    events = [r["headers"]["X-Lessonlens-Event-Id"] for r in receiver.received]
    assert events.count(f"evt_{job_id}_succeeded") == 1, events
    assert served.log().count(f"{job_id}: succeeded") == 1


@pytest.mark.e2e
def test_serve_stopped_leaves_no_process_behind(served: ServeProcess) -> None:
    wait_for(lambda: len(served.http_pids()) == 2 and served.job_pids(), 30, "the HTTP and job processes")
    started = served.descendants()
    assert len(started) >= 4, started  # 2 HTTP, the keeper, the job process
    assert served.proc is not None
    served.proc.terminate()
    assert served.proc.wait(timeout=30) == 0, served.log()
    wait_for(lambda: _gone(started), 10, f"no process of {started} left")
    assert "job process" in served.log() and "stopped" in served.log()


def _listening_socket(pid: int, port: int) -> str:
    """The socket (``socket:[inode]``) process ``pid`` listens on ``port`` with."""
    import psutil

    fds = [c.fd for c in psutil.Process(pid).net_connections("tcp")
           if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
    assert len(fds) == 1, (pid, fds)
    return os.readlink(f"/proc/{pid}/fd/{fds[0]}")


@pytest.mark.e2e
def test_each_http_process_listens_apart_and_connections_reach_both(served: ServeProcess) -> None:
    """With one socket shared, whichever process woke first accepted a burst of connections (50
    clients split 33/17, 18/32, 15/35): the busier one answered its share one by one while the other
    idled. Each listens on a socket of its own now (SO_REUSEPORT) and the kernel spreads them."""
    import socket

    import psutil

    pids = wait_for(lambda: p if len(p := served.http_pids()) == 2 else None, 30, "two HTTP processes")
    assert len({_listening_socket(pid, served.port) for pid in pids}) == 2
    clients = [socket.create_connection(("127.0.0.1", served.port), timeout=10) for _ in range(40)]
    try:
        for c in clients:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        for c in clients:
            assert c.recv(64).startswith(b"HTTP/1.1 200"), "every connection is answered"
        served_by = {pid: sum(1 for c in psutil.Process(pid).net_connections("tcp")
                              if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == served.port)
                     for pid in pids}
    finally:
        for c in clients:
            c.close()
    assert sum(served_by.values()) == 40 and min(served_by.values()) >= 5, served_by  # 1e-7 by chance


@pytest.mark.e2e
def test_a_killed_serve_leaves_no_process_behind(served: ServeProcess) -> None:
    """The HTTP processes too: left behind, they kept the port and one took the lock and ran the jobs."""
    leader = wait_for(lambda: len(served.http_pids()) == 2 and served.leader_pid(), 30, "the processes")
    jobs = served.job_pids() | _pids_named(served, "lessonlens-keep")
    assert leader in jobs and len(jobs) == 2, jobs
    started = served.descendants()
    assert len(started) == 4, started
    assert served.proc is not None
    os.kill(served.proc.pid, signal.SIGKILL)  # not its group: no shutdown runs, nothing is signalled
    served.proc.wait(timeout=10)
    try:
        wait_for(lambda: _gone(started), 15, f"the processes {started} of serve to end")
    except AssertionError:
        for pid in started:  # none may outlive the test
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        raise
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{served.url}/healthz", timeout=5)
    # its metrics folder outlives it (nothing ran to remove it); the next serve removes it
    left = list(Path(tempfile.gettempdir()).glob(f"lessonlens-metrics-{served.proc.pid}-*"))
    assert len(left) == 1, left
    served.start(timeout_s=60)
    assert not left[0].exists()


@pytest.mark.e2e
def test_one_http_process_and_the_job_process(tmp_path: Path, media_dir: Path) -> None:
    """``serve --workers 1``: the one process answers HTTP, the job process runs the jobs."""
    server = ServeProcess(tmp_path / "data", {}, processes=1)
    server.start(timeout_s=60)
    try:
        assert server.proc is not None
        leader = wait_for(server.leader_pid, 30, "a leader")
        assert leader != server.proc.pid and server.job_pids() == {leader}
        with server.client() as c:
            r = c.post("/v1/jobs", files={"file": ("tone.mp4", (media_dir / "tone.mp4").read_bytes(), "video/mp4")},
                       data={"stages": "subtitles"})
            assert r.status_code == 201, r.text
            assert server.wait_job(c, r.json()["id"], _ended, 120)["status"] == "succeeded"
            assert c.get("/readyz").status_code == 200
            assert _metric(c.get("/metrics").text, "lessonlens_jobs_finished_total", {"status": "succeeded"}) == 1
        started = server.descendants()
        server.proc.terminate()
        assert server.proc.wait(timeout=30) == 0, server.log()
        wait_for(lambda: _gone(started), 10, f"no process of {started} left")
    finally:
        server.stop()
