"""The distributed setup for real: the API (uvicorn) and ``lessonlens worker`` processes sharing only
Redis (Celery broker), a throwaway PostgreSQL database and a storage folder.

Needs Redis and PostgreSQL on loopback (``.ci/run`` starts them). Outside CI the tests skip,
saying why, when either is unreachable; in CI (``CI`` set, or ``LESSONLENS_TEST_SERVICES=required``
as ``.ci/run`` sets it) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.jobs import Job, JobStatus, Source, new_job_id
from app.store import SqlJobStore
from tests.app.cluster import Cluster, WorkerProcess, node_name
from tests.app.conftest import SECRET
from tests.app.receiver import Receiver
from tests.app.server_proc import ServerProcess, wait_for

pytestmark = pytest.mark.e2e


def _submit(client: httpx.Client, media: Path, webhook_url: str | None = None) -> str:
    data = {"webhook_url": webhook_url} if webhook_url else {}
    r = client.post("/v1/jobs", data=data, files={"file": (media.name, media.read_bytes(), "video/mp4")})
    assert r.status_code == 201, r.text
    job_id: str = r.json()["id"]
    return job_id


def _metric(client: httpx.Client, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"metric {name} missing")


def _terminal(job: dict[str, Any]) -> bool:
    return job["status"] in ("succeeded", "failed", "cancelled")


def test_store_claims_once_under_concurrent_claims_on_postgres(database_url: str) -> None:
    """Eight stores (eight connection pools, as in eight processes) race to claim one job."""
    stores = [SqlJobStore(database_url) for _ in range(8)]
    try:
        job = Job(id=new_job_id(), owner="o", source=Source("path", "/x.mp4"), stages=("subtitles",), options={})
        stores[0].create(job)
        barrier = threading.Barrier(len(stores))
        claimed: list[Job | None] = []

        def claim(store: SqlJobStore) -> None:
            barrier.wait()
            claimed.append(store.claim(job.id))

        threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sum(c is not None for c in claimed) == 1, claimed
        final = stores[0].get(job.id)
        assert final is not None and final.status == JobStatus.RUNNING and final.attempts == 1
    finally:
        for s in stores:
            s.close()


def test_migrated_postgres_schema_matches_the_store(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    from app.migrations import upgrade
    from app.store import metadata

    upgrade(database_url)
    upgrade(database_url)  # a second run (every worker runs it on start) changes nothing
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn)
            assert context.get_current_revision() is not None
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


@pytest.mark.slow
def test_two_workers_process_six_jobs_at_once(cluster: Cluster, media_dir: Path) -> None:
    with Receiver(SECRET) as receiver:
        api = cluster.api()
        try:
            with api.client() as c:
                assert c.get("/readyz").json()["queue"] == "celery"
                media = [media_dir / ("speech.mp4" if i % 2 else "tone.mp4") for i in range(6)]
                ids = [_submit(c, media[0], receiver.url)]
                # No worker yet: the API runs none of its own; the job waits in Redis.
                wait_for(lambda: _metric(c, "lessonlens_queue_depth") == 1, 10, "one message in the broker")
                assert c.get(f"/v1/jobs/{ids[0]}").json()["status"] == "queued"

                # Both workers are ready before the other five arrive, so neither can finish them
                # all while the other is still starting.
                first, second = cluster.start_workers("w1", "w2")
                ids += [_submit(c, m, receiver.url) for m in media[1:]]
                jobs = [api.wait_job(c, i, _terminal, timeout_s=240) for i in ids]
                assert [j["status"] for j in jobs] == ["succeeded"] * 6, [j["error"] for j in jobs]
                assert all(j["attempts"] == 1 for j in jobs)
                # Results written by the workers are served by the API from the shared folder.
                srt = c.get(f"/v1/jobs/{ids[1]}/files/subtitles.srt")
                assert srt.status_code == 200 and "-->" in srt.text, srt.text
                wait_for(lambda: all(c.get(f"/v1/jobs/{i}").json()["webhook_state"] == "delivered"
                                     for i in ids), 30, "six webhooks delivered")
                assert _metric(c, "lessonlens_queue_depth") == 0
        finally:
            api.stop()
        events = [r["headers"]["X-Lessonlens-Event-Id"] for r in receiver.received]
        assert sorted(events) == sorted(f"evt_{i}_succeeded" for i in ids)
        assert all(r["valid"] for r in receiver.received)

    ran_by = {w.name: set(w.started_jobs()) for w in (first, second)}
    assert ran_by["w1"] | ran_by["w2"] == set(ids) and not ran_by["w1"] & ran_by["w2"], ran_by
    assert ran_by["w1"] and ran_by["w2"], f"one worker ran every job: {ran_by}"
    spans = {j["id"]: (j["started_at"], j["finished_at"]) for j in jobs}
    overlap = any(spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]
                  for a in ran_by["w1"] for b in ran_by["w2"])
    assert overlap, f"the two workers never ran jobs at the same time: {spans}"


@pytest.mark.slow
def test_worker_killed_mid_job_is_delivered_again_and_completes_once(cluster: Cluster, long_lesson: Path) -> None:
    with Receiver(SECRET, statuses=[500]) as receiver:  # first delivery fails: the retry keeps the id
        api: ServerProcess = cluster.api()
        try:
            doomed = cluster.worker("doomed")
            with api.client() as c:
                job_id = _submit(c, long_lesson, receiver.url)
                api.wait_job(c, job_id, lambda j: j["stage_states"]["subtitles"]["status"] == "running", 60)
                doomed.kill()
                assert c.get(f"/v1/jobs/{job_id}").json()["status"] == "running"
                # The dead worker's lease lapses (8 s) and the reaper of a live process queues the
                # job again: the broker's visibility timeout (60 s here) plays no part.
                survivor = cluster.worker("survivor")
                job = api.wait_job(c, job_id, _terminal, timeout_s=180)
                assert job["status"] == "succeeded" and job["attempts"] == 2, job
                assert job["stage_states"]["subtitles"]["summary"]["cues"] > 0
                job = api.wait_job(c, job_id, lambda j: j["webhook_state"] == "delivered", 30)
        finally:
            api.stop()
    assert doomed.started_jobs() == [job_id] and survivor.started_jobs() == [job_id]
    assert "its worker stopped renewing its lease during attempt 1" in survivor.log() + api.log()
    assert survivor.log().count(f"{job_id}: succeeded") == 1
    event_ids = [r["headers"]["X-Lessonlens-Event-Id"] for r in receiver.received]
    assert event_ids == [f"evt_{job_id}_succeeded"] * 2, event_ids
    assert [r["answered"] for r in receiver.received] == [500, 200]
    assert [d["ok"] for d in job["deliveries"]] == [False, True]


@pytest.mark.slow
def test_stopped_worker_hands_its_job_back_without_using_an_attempt(cluster: Cluster, long_lesson: Path) -> None:
    api = cluster.api()
    workers: list[WorkerProcess] = []
    try:
        leaving = cluster.worker("leaving")
        workers.append(leaving)
        with api.client() as c:
            job_id = _submit(c, long_lesson)
            api.wait_job(c, job_id, lambda j: j["stage_states"]["subtitles"]["status"] == "running", 60)
            leaving.stop()  # SIGTERM: Celery's warm shutdown
            assert leaving.proc is not None and leaving.proc.returncode is not None
            handed_back = c.get(f"/v1/jobs/{job_id}").json()
            assert handed_back["status"] == "queued" and handed_back["attempts"] == 0, handed_back
            staying = cluster.worker("staying")
            workers.append(staying)
            job = api.wait_job(c, job_id, _terminal, timeout_s=120)
        assert job["status"] == "succeeded" and job["attempts"] == 1, job
        assert "handed back to the queue" in leaving.log()
        assert staying.started_jobs() == [job_id]
    except AssertionError as err:  # the story of a failure is in the workers' logs, which CI does not keep
        tails = "\n".join(f"--- worker {w.name}, last lines:\n{w.log()[-4000:]}" for w in workers)
        raise AssertionError(f"{err}\n{tails}") from None
    finally:
        api.stop()


@pytest.mark.slow
def test_stages_are_routed_to_their_own_queue(cluster: Cluster, media_dir: Path) -> None:
    """``subtitles=speech``: speech jobs reach only the `speech` worker (a GPU machine, say); the
    webhook deliveries go to the default queue, served here by the other worker only."""
    routing = {"celery_stage_queues": "subtitles=speech"}
    with Receiver(SECRET) as receiver:
        api = cluster.api(**routing)
        try:
            speech = cluster.worker("speech", queues="speech", **routing)
            general = cluster.worker("general", queues="lessonlens", **routing)
            with api.client() as c:
                ids = [_submit(c, media_dir / "tone.mp4", receiver.url) for _ in range(2)]
                jobs = [api.wait_job(c, i, lambda j: j["webhook_state"] == "delivered", 120) for i in ids]
        finally:
            api.stop()
    assert [j["status"] for j in jobs] == ["succeeded", "succeeded"]
    assert sorted(speech.started_jobs()) == sorted(ids) and general.started_jobs() == []
    assert general.log().count("Task lessonlens.deliver_webhook[") >= 2
    assert "Task lessonlens.deliver_webhook[" not in speech.log()


def _task_lines(workers: list[WorkerProcess], task: str, outcome: str = " succeeded in ") -> list[str]:
    return [line for w in workers for line in w.log().splitlines() if f"Task {task}[" in line and outcome in line]


@pytest.mark.slow
def test_a_batch_ends_with_one_signed_webhook_from_the_workers(cluster: Cluster, media_dir: Path,
                                                               tmp_path: Path) -> None:
    """Three jobs of a batch run on two workers; the worker that ends the last one marks the batch
    finished and queues its one ``batch.finished`` webhook, which a worker delivers, signed."""
    root = tmp_path / "root"
    folder = root / "course"
    folder.mkdir(parents=True)
    for name in ("tone.mp4", "silent.mp4", "speech.mp4"):
        shutil.copy(media_dir / name, folder / name)
    (folder / "notes.txt").write_text("not a video")
    with Receiver(SECRET) as receiver:
        api = cluster.api(allowed_roots=str(root))
        try:
            with api.client() as c:
                r = c.post("/v1/batches", json={"folder": str(folder), "stages": ["subtitles"],
                                                "webhook_url": receiver.url})
                assert r.status_code == 201, r.text
                batch = r.json()
                job_ids = [j["id"] for j in batch["jobs"]]
                assert len(job_ids) == 3 and [x["path"] for x in batch["rejected"]] == ["notes.txt"]
                # The jobs wait in Redis until the batch is stored (the API stores it after its jobs).
                workers = cluster.start_workers("w1", "w2")
                jobs = [api.wait_job(c, i, _terminal, timeout_s=240) for i in job_ids]
                assert [j["status"] for j in jobs] == ["succeeded"] * 3, [j["error"] for j in jobs]
                # Every job's end is reported, and then the one batch delivery has run: nothing more comes.
                wait_for(lambda: len(_task_lines(workers, "lessonlens.run_job")) == 3, 30, "three jobs acked")
                wait_for(lambda: _task_lines(workers, "lessonlens.deliver_batch_webhook"), 30,
                         "the batch webhook task")
                final = c.get(f"/v1/batches/{batch['id']}").json()
        finally:
            api.stop()
    assert len(receiver.received) == 1, [r["headers"]["X-Lessonlens-Event-Id"] for r in receiver.received]
    event = receiver.received[0]
    assert event["valid"] and event["answered"] == 200
    assert event["headers"]["X-Lessonlens-Event"] == "batch.finished"
    assert event["headers"]["X-Lessonlens-Event-Id"] == f"evt_{batch['id']}_finished"
    data = event["body"]["data"]
    assert data["batch_id"] == batch["id"] and data["jobs"] == job_ids
    assert data["status"] == "succeeded" and data["counts"]["succeeded"] == 3 and data["progress"] == 1.0
    assert [x["path"] for x in data["rejected"]] == ["notes.txt"]

    assert final["status"] == "succeeded" and final["counts"]["succeeded"] == 3 and final["progress"] == 1.0
    assert final["finished_at"] is not None and final["finished_at"] == event["body"]["created_at"]
    assert len(_task_lines(workers, "lessonlens.deliver_batch_webhook", "received")) == 1
    delivered = [w for w in workers if f"webhook evt_{batch['id']}_finished delivered (attempt 1" in w.log()]
    assert len(delivered) == 1


@pytest.fixture
def rabbit_cluster(database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """Like ``cluster`` with RabbitMQ as the broker and queues of this test's own (deleted after)."""
    from kombu import Connection

    url = os.environ.get("LESSONLENS_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672//")
    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as e:
        pytest.skip(f"RabbitMQ at {url} is unreachable ({e}); it is optional")
    queue = f"lltest-{os.urandom(4).hex()}"
    c = Cluster(database_url, url, "", tmp_path / "shared",
                env={"celery_default_queue": queue, "webhook_secret": SECRET, "allow_private_urls": "true"})
    try:
        yield c
    finally:
        c.stop()
        with Connection(url) as conn:
            conn.default_channel.queue_delete(queue)


@pytest.mark.slow
def test_rabbitmq_delivers_a_dead_workers_job_again_at_once(rabbit_cluster: Cluster, long_lesson: Path) -> None:
    api = rabbit_cluster.api()
    try:
        doomed, survivor = rabbit_cluster.worker("doomed"), rabbit_cluster.worker("survivor")
        with api.client() as c:
            job_id = _submit(c, long_lesson)
            running = api.wait_job(c, job_id, lambda j: j["stage_states"]["subtitles"]["status"] == "running", 60)
            taker = doomed if job_id in doomed.started_jobs() else survivor
            other = survivor if taker is doomed else doomed
            taker.kill()  # the connection drops: RabbitMQ requeues the message, no timeout to wait for
            job = api.wait_job(c, job_id, _terminal, timeout_s=120)
    finally:
        api.stop()
    assert running["attempts"] == 1
    assert job["status"] == "succeeded" and job["attempts"] == 2, job
    assert other.started_jobs() == [job_id]
    assert "its worker stopped renewing its lease during attempt 1" in other.log() + api.log()


class _PreforkWorker(WorkerProcess):
    """``lessonlens worker --concurrency N``: the prefork pool, jobs in child processes."""

    def __init__(self, concurrency: int, name: str, data_dir: Path, env: dict[str, str]) -> None:
        super().__init__(name, data_dir, env)
        self.concurrency = concurrency

    def spawn(self) -> None:
        import subprocess
        import sys

        from tests.app.server_proc import ROOT

        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "LESSONLENS_DATA_DIR": str(self.data_dir),
               **{f"LESSONLENS_{k.upper()}": v for k, v in self.env.items()}}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from app.cli import main; main()", "worker",
                 "--hostname", node_name(self.name), "--concurrency", str(self.concurrency)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """(sample name, labels) -> value, from a Prometheus text page."""
    from prometheus_client.parser import text_string_to_metric_families

    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(httpx.get(url, timeout=5).text) for s in family.samples}


@pytest.mark.slow
@pytest.mark.parametrize("concurrency", [1, 2], ids=["solo", "prefork"])
def test_a_worker_serves_metrics_of_the_jobs_and_webhooks_it_ran(cluster: Cluster, media_dir: Path,
                                                                  concurrency: int) -> None:
    """``--metrics-port``: the job, its stage times and its webhook attempt, as the worker counted
    them; with the prefork pool, counted in a child process and served by the parent."""
    from tests.app.server_proc import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    with Receiver(SECRET) as receiver:
        api = cluster.api()
        try:
            worker = _PreforkWorker(concurrency, "metered", cluster.data_dir,
                                    cluster.settings_env(worker_metrics_port=str(port)))
            cluster.workers.append(worker)
            worker.start()
            before = _scrape(url)
            with api.client() as c:
                job_id = _submit(c, media_dir / "tone.mp4", receiver.url)
                job = api.wait_job(c, job_id, lambda j: j["webhook_state"] == "delivered", 180)
        finally:
            api.stop()
    webhook_ok = ("lessonlens_webhook_attempts_total", frozenset({("outcome", "ok")}))
    # The store says delivered a moment before the worker's counter moves: poll.
    after = wait_for(lambda: (m := _scrape(url)).get(webhook_ok) == 1.0 and m, 10, "the webhook attempt counted")

    assert f"worker metrics at {url}" in worker.log()
    assert ("summed over 2 processes" in worker.log()) == (concurrency == 2)
    assert job["status"] == "succeeded", job["error"]
    assert ("lessonlens_jobs_finished_total", frozenset({("status", "succeeded")})) not in before
    assert after[("lessonlens_jobs_finished_total", frozenset({("status", "succeeded")}))] == 1.0
    assert after[("lessonlens_worker_jobs_running", frozenset())] == 0.0
    timed = {name: state for name, state in job["stage_states"].items() if state["status"] in ("succeeded", "skipped")}
    assert timed, job["stage_states"]
    for name, state in timed.items():
        labels = frozenset({("stage", name), ("status", state["status"])})
        assert after[("lessonlens_stage_seconds_count", labels)] == 1.0, name
        assert after[("lessonlens_stage_seconds_sum", labels)] == pytest.approx(state["seconds"]), name
    assert len(receiver.received) == 1
