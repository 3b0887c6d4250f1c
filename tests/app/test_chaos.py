"""Chaos against the real distributed setup (issue 18): Redis and PostgreSQL on loopback, the API and
``lessonlens worker`` processes killed, frozen or cut off from the broker. Every accepted job runs,
once.

Broker outages go through ``BrokerProxy`` (a forwarder of this test's own in front of the shared
Redis), so other tests using that Redis are not disturbed.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.cluster import BrokerProxy, Cluster, WorkerProcess
from tests.app.server_proc import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _submit(client: httpx.Client, media: Path) -> str:
    r = client.post("/v1/jobs", files={"file": (media.name, media.read_bytes(), "video/mp4")})
    assert r.status_code == 201, r.text
    job_id: str = r.json()["id"]
    return job_id


def _terminal(job: dict[str, Any]) -> bool:
    return job["status"] in ("succeeded", "failed", "cancelled")


def _running(job: dict[str, Any]) -> bool:
    return bool(job["stage_states"]["subtitles"]["status"] == "running")


def _ran(workers: list[WorkerProcess], job_id: str) -> tuple[int, int]:
    """How often the workers started the job, and how often one of them logged it succeeded."""
    started = sum(w.started_jobs().count(job_id) for w in workers)
    succeeded = sum(w.log().count(f"{job_id}: succeeded") for w in workers)
    return started, succeeded


@pytest.fixture
def proxied(cluster: Cluster) -> Iterator[tuple[Cluster, BrokerProxy]]:
    """The cluster's broker behind a proxy this test can take down."""
    proxy = BrokerProxy()
    proxy.up()
    db = int(cluster.broker_url.rsplit("/", 1)[1])
    cluster.broker_url = proxy.url(db)
    try:
        yield cluster, proxy
    finally:
        proxy.down()


def test_a_killed_workers_job_succeeds_once_within_60_s(cluster: Cluster, samples: Path) -> None:
    api = cluster.api()
    workers = cluster.start_workers("a", "b")
    try:
        with api.client() as c:
            job_id = _submit(c, samples / "lesson.mp4")
            api.wait_job(c, job_id, _running, 60)
            taker = next(w for w in workers if job_id in w.started_jobs())
            taker.kill()  # SIGKILL, whole process group
            killed_at = time.monotonic()
            job = api.wait_job(c, job_id, _terminal, timeout_s=60)
            recovered_s = time.monotonic() - killed_at
    finally:
        api.stop()
    assert job["status"] == "succeeded" and job["attempts"] == 2, job
    assert _ran(workers, job_id) == (2, 1), [w.log() for w in workers]
    assert recovered_s < 60


def test_a_job_outliving_the_visibility_timeout_runs_once(cluster: Cluster, samples: Path) -> None:
    """Defect 3: with a visibility timeout shorter than the job, a second worker took it over while
    the first still ran, and both finished it. The lease says the first is alive: it runs once."""
    api = cluster.api()
    workers = cluster.start_workers("a", "b", celery_visibility_timeout_s="2")
    try:
        with api.client() as c:
            job_id = _submit(c, samples / "lesson.mp4")
            job = api.wait_job(c, job_id, _terminal, timeout_s=120)
            # the broker hands the unacknowledged message out again every ~2 s while the job runs
    finally:
        api.stop()
    assert job["status"] == "succeeded" and job["attempts"] == 1, job
    assert _ran(workers, job_id) == (1, 1), [w.log() for w in workers]


def test_a_frozen_workers_late_writes_are_refused(cluster: Cluster, long_lesson: Path) -> None:
    """A worker that stops (frozen, cut off) past its lease loses the job; when it wakes, the store
    refuses its writes (fencing by the lease token), so the job ends once, by the new holder."""
    api = cluster.api()
    workers = cluster.start_workers("a", "b")
    try:
        with api.client() as c:
            job_id = _submit(c, long_lesson)
            api.wait_job(c, job_id, _running, 60)
            frozen = next(w for w in workers if job_id in w.started_jobs())
            assert frozen.proc is not None
            os.killpg(frozen.proc.pid, signal.SIGSTOP)
            try:
                job = api.wait_job(c, job_id, _terminal, timeout_s=90)
            finally:
                os.killpg(frozen.proc.pid, signal.SIGCONT)
            wait_for(lambda: "lease lapsed" in frozen.log() or "its lease lapsed" in frozen.log(), 60,
                     "the frozen worker to notice it lost the job")
            assert c.get(f"/v1/jobs/{job_id}").json()["finished_at"] == job["finished_at"]
    finally:
        api.stop()
    assert job["status"] == "succeeded" and job["attempts"] == 2, job
    assert _ran(workers, job_id) == (2, 1), [w.log() for w in workers]


def test_cancel_and_delete_work_on_a_dead_workers_job(cluster: Cluster, long_lesson: Path) -> None:
    """Defect 2: cancel answered 202 and nothing happened; delete answered 409, for 12 hours."""
    api = cluster.api()
    doomed = cluster.worker("doomed")
    try:
        with api.client() as c:
            job_id = _submit(c, long_lesson)
            api.wait_job(c, job_id, _running, 60)
            doomed.kill()
            assert c.post(f"/v1/jobs/{job_id}/cancel").status_code == 202
            job = api.wait_job(c, job_id, _terminal, timeout_s=60)
            assert job["status"] == "cancelled" and "cancelled by request" in job["error"], job
            assert c.delete(f"/v1/jobs/{job_id}").status_code == 204
            assert c.get(f"/v1/jobs/{job_id}").status_code == 404
    finally:
        api.stop()


def test_jobs_accepted_by_an_api_killed_before_publishing_all_run(proxied: tuple[Cluster, BrokerProxy],
                                                                  media_dir: Path) -> None:
    """Defect 1: the API published after the 201, in a thread, and only logged failures: killed
    then, its accepted jobs stayed queued forever. Here the API cannot reach the broker at all
    and is killed right after its 201s; a worker's upkeep sends them from the outbox."""
    cluster, proxy = proxied
    direct = cluster.broker_url.replace(f":{proxy.port}/", ":6379/")
    worker = cluster.worker("w", broker_url=direct)
    proxy.down()  # the API's broker only
    api = cluster.api()
    try:
        with api.client() as c:
            ids = [_submit(c, media_dir / "tone.mp4") for _ in range(3)]
            ready = c.get("/readyz")
            assert ready.status_code == 503 and "broker" in ready.json()["error"]["detail"], ready.text
            assert "outbox" in ready.json()["error"]["message"]
    finally:
        api.kill()
    api = cluster.api(broker_url=direct)  # a new API only to read the jobs
    try:
        with api.client() as c:
            jobs = [api.wait_job(c, i, _terminal, timeout_s=120) for i in ids]
    finally:
        api.stop()
    assert [j["status"] for j in jobs] == ["succeeded"] * 3, jobs
    assert all(_ran([worker], i) == (1, 1) for i in ids)


def test_jobs_submitted_while_the_broker_is_down_run_once_it_is_back(proxied: tuple[Cluster, BrokerProxy],
                                                                     media_dir: Path) -> None:
    cluster, proxy = proxied
    api = cluster.api()
    worker = cluster.worker("w")
    try:
        with api.client() as c:
            proxy.down()
            down_at = time.monotonic()
            ids: list[str] = []
            while time.monotonic() - down_at < 30:  # ~30 s of outage, submitting all along
                ids.append(_submit(c, media_dir / "tone.mp4"))
                wait_for(lambda: time.monotonic() - down_at > 6 * len(ids), 10, "the next submit")
            ready = c.get("/readyz")
            assert ready.status_code == 503 and "broker" in ready.json()["error"]["detail"], ready.text
            assert all(c.get(f"/v1/jobs/{i}").json()["status"] == "queued" for i in ids)
            proxy.up()
            jobs = [api.wait_job(c, i, _terminal, timeout_s=120) for i in ids]
            wait_for(lambda: c.get("/readyz").status_code == 200, 30, "/readyz ready again")
    finally:
        api.stop()
    assert len(ids) >= 5 and [j["status"] for j in jobs] == ["succeeded"] * len(ids), jobs
    assert all(_ran([worker], i) == (1, 1) for i in ids)
