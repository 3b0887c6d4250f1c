"""Chaos benchmark (issues 18, 19): kill trials per mode, counting what was lost, stuck or run
twice, and how long recovery took.

``leader`` (embedded, no services needed): ``lessonlens serve --workers 2`` over SQLite; per
trial a job starts on the leader process (the job process of ``serve``), which is SIGKILLed;
takeover = kill -> another process holds ``leader.lock`` (``by_job_process``: the one its keeper
started again, not an HTTP process); recovery = kill -> the job succeeded (rerun from the start by the new leader).

The distributed modes: one real setup per mode on loopback (a throwaway PostgreSQL database, a
Redis namespace behind a proxy this bench can take down, the API and two ``lessonlens worker``
processes), then per trial:

- ``worker``: a job starts on a worker, which is SIGKILLed (process group); recovery = kill ->
  the job succeeded on the other worker (the lease lapses, a reaper queues it again). The
  killed worker is started again for the next trial.
- ``api``: the API, cut off from the broker, accepts ``--jobs`` jobs and is SIGKILLed right after
  the 201s; recovery = kill -> every job succeeded (a worker's upkeep sends the outbox).
- ``broker``: the broker goes down for ``--outage-s`` while ``--jobs`` jobs are submitted;
  recovery = broker back -> every job succeeded.

Per job: lost (never ran: still queued at the deadline), stuck (running or failed at the deadline),
run twice (started more than once without a kill, or succeeded in more than one worker's log).
All three must be 0.

    .venv/bin/python -m bench.bench_chaos --trials 20 --modes leader,worker,api,broker
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.app.cluster import (
    BrokerProxy,
    Cluster,
    WorkerProcess,
    redis_namespace,
    throwaway_database,
    unreachable,
)
from tests.app.server_proc import ServeProcess, ServerProcess, wait_for

log = logging.getLogger("bench_chaos")
ROOT = Path(__file__).resolve().parents[1]
DEADLINE_S = 120


def _submit(client: httpx.Client, media: Path) -> str:
    r = client.post("/v1/jobs", files={"file": (media.name, media.read_bytes(), "video/mp4")})
    r.raise_for_status()
    return str(r.json()["id"])


def _settle(api: ServerProcess, ids: list[str], since: float) -> tuple[dict[str, dict[str, Any]], float]:
    """The jobs once all ended or at the deadline, and seconds from ``since`` to the last end."""
    deadline = time.monotonic() + DEADLINE_S
    with api.client() as c:
        while True:
            jobs = {i: c.get(f"/v1/jobs/{i}").json() for i in ids}
            if all(j["status"] in ("succeeded", "failed", "cancelled") for j in jobs.values()) \
                    or time.monotonic() > deadline:
                return jobs, time.monotonic() - since
            time.sleep(0.2)


def _count(jobs: dict[str, dict[str, Any]], workers: list[WorkerProcess], killed: bool) -> dict[str, int]:
    lost = sum(j["status"] == "queued" for j in jobs.values())
    stuck = sum(j["status"] in ("running", "failed", "cancelled") for j in jobs.values())
    twice = 0
    for job_id, job in jobs.items():
        succeeded = sum(w.log().count(f"{job_id}: succeeded") for w in workers)
        started = sum(w.started_jobs().count(job_id) for w in workers)
        twice += succeeded > 1 or started > (2 if killed else 1) or job["attempts"] > (2 if killed else 1)
    return {"lost": lost, "stuck": stuck, "run_twice": twice}


def _cluster(database_url: str, broker: tuple[str, str], proxy: BrokerProxy, data_dir: Path) -> Cluster:
    db = int(broker[0].rsplit("/", 1)[1])
    return Cluster(database_url, proxy.url(db), broker[1], data_dir,
                   env={"lease_s": "4", "upkeep_every_s": "0.5", "celery_restore_interval_s": "1"})


def trial_worker(cluster: Cluster, api: ServerProcess, workers: list[WorkerProcess], media: Path) -> dict[str, Any]:
    with api.client() as c:
        job_id = _submit(c, media)
        api.wait_job(c, job_id, lambda j: j["stage_states"]["subtitles"]["status"] == "running", 60)
    taker = next(w for w in workers if job_id in w.started_jobs())
    taker.kill()
    jobs, seconds = _settle(api, [job_id], time.monotonic())
    result = {**_count(jobs, workers, killed=True), "recovery_s": seconds}
    workers[workers.index(taker)] = cluster.worker(f"{taker.name}-again")
    return result


def trial_api(cluster: Cluster, direct: str, proxy: BrokerProxy, workers: list[WorkerProcess], media: Path,
              jobs: int) -> dict[str, Any]:
    proxy.down()
    api = cluster.api()  # through the proxy: it cannot publish
    with api.client() as c:
        ids = [_submit(c, media) for _ in range(jobs)]
    api.kill()
    killed_at = time.monotonic()
    proxy.up()
    reader = cluster.api(broker_url=direct)
    try:
        done, seconds = _settle(reader, ids, killed_at)
    finally:
        reader.stop()
    return {**_count(done, workers, killed=False), "recovery_s": seconds}


def trial_broker(api: ServerProcess, proxy: BrokerProxy, workers: list[WorkerProcess], media: Path,
                 jobs: int, outage_s: float) -> dict[str, Any]:
    proxy.down()
    down_at = time.monotonic()
    with api.client() as c:
        ids = []
        for i in range(jobs):
            ids.append(_submit(c, media))
            wait_for(lambda i=i: time.monotonic() - down_at >= outage_s * (i + 1) / jobs, outage_s + 5, "next")
    proxy.up()
    done, seconds = _settle(api, ids, time.monotonic())
    return {**_count(done, workers, killed=False), "recovery_s": seconds}


def trial_leader(server: ServeProcess, media: Path) -> dict[str, Any]:
    with server.client() as c:
        job_id = _submit(c, media)
        server.wait_job(c, job_id, lambda j: j["stage_states"]["subtitles"]["status"] == "running", 120)
        leader = server.leader_pid()
        assert leader is not None
        os.kill(leader, signal.SIGKILL)
        killed = time.monotonic()
        successor = wait_for(lambda: (p := server.leader_pid()) not in (None, leader) and p, 60, "another leader",
                             every_s=0.02)
        takeover = time.monotonic() - killed
        by_job_process = successor in server.job_pids()  # restarted by its keeper, not an HTTP process
    jobs, seconds = _settle(server, [job_id], killed)
    job = jobs[job_id]
    succeeded = server.log().count(f"{job_id}: succeeded")
    return {"lost": int(job["status"] == "queued"), "stuck": int(job["status"] in ("running", "failed", "cancelled")),
            "run_twice": int(succeeded > 1 or job["attempts"] > 2), "takeover_s": takeover, "recovery_s": seconds,
            "by_job_process": int(by_job_process)}


def run_leader(trials: int, samples: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        server = ServeProcess(Path(tmp) / "data", {"max_attempts": "5"}, processes=2)
        server.start(timeout_s=120)
        results = []
        try:
            for n in range(trials):
                result = trial_leader(server, samples / "lesson.mp4")
                log.info("leader trial %d: %s", n + 1, result)
                results.append(result)
        finally:
            server.stop()
    takeover = [r["takeover_s"] for r in results]
    recovery = [r["recovery_s"] for r in results]
    return {"mode": "leader", "trials": trials, "jobs_per_trial": 1,
            **{k: sum(r[k] for r in results) for k in ("lost", "stuck", "run_twice", "by_job_process")},
            "takeover_s_median": round(statistics.median(takeover), 2), "takeover_s_max": round(max(takeover), 2),
            "recovery_s_median": round(statistics.median(recovery), 1), "recovery_s_max": round(max(recovery), 1)}


def run_mode(mode: str, trials: int, jobs: int, outage_s: float, database_url: str, samples: Path) -> dict[str, Any]:
    with redis_namespace() as broker, tempfile.TemporaryDirectory() as tmp:
        proxy = BrokerProxy()
        proxy.up()
        cluster = _cluster(database_url, broker, proxy, Path(tmp) / "shared")
        direct = broker[0]
        media = samples / "lesson.mp4"
        workers = cluster.start_workers("w1", "w2", broker_url=direct) if mode == "api" \
            else cluster.start_workers("w1", "w2")
        api = cluster.api() if mode != "api" else None
        results = []
        try:
            for n in range(trials):
                if mode == "worker":
                    assert api is not None
                    result = trial_worker(cluster, api, workers, media)
                elif mode == "api":
                    result = trial_api(cluster, direct, proxy, workers, media, jobs)
                else:
                    assert api is not None
                    result = trial_broker(api, proxy, workers, media, jobs, outage_s)
                log.info("%s trial %d: %s", mode, n + 1, result)
                results.append(result)
        finally:
            if api is not None:
                api.stop()
            cluster.stop()
            proxy.down()
    recovery = [r["recovery_s"] for r in results]
    return {"mode": mode, "trials": trials, "jobs_per_trial": 1 if mode == "worker" else jobs,
            **{k: sum(r[k] for r in results) for k in ("lost", "stuck", "run_twice")},
            "recovery_s_median": round(statistics.median(recovery), 1), "recovery_s_max": round(max(recovery), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="Trials per mode.")
    parser.add_argument("--modes", default="leader,worker,api,broker")
    parser.add_argument("--jobs", type=int, default=3, help="Jobs per api/broker trial.")
    parser.add_argument("--outage-s", type=float, default=30, help="Broker outage per broker trial.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per status poll otherwise
    modes = args.modes.split(",")
    distributed = [m for m in modes if m != "leader"]
    reason = unreachable() if distributed else None
    if reason:
        raise SystemExit(reason)
    from samples.make_samples import build

    samples = build()
    rows = [run_leader(args.trials, samples)] if "leader" in modes else []
    if distributed:
        with throwaway_database() as database_url:
            for mode in distributed:
                rows.append(run_mode(mode, args.trials, args.jobs, args.outage_s, database_url, samples))
    print(json.dumps(rows, indent=1))
    print(f"{'mode':8} {'trials':>6} {'jobs':>5} {'lost':>5} {'stuck':>6} {'twice':>6} {'rec p50 s':>9} {'max s':>6}")
    for r in rows:
        print(f"{r['mode']:8} {r['trials']:6d} {r['trials'] * r['jobs_per_trial']:5d} {r['lost']:5d} "
              f"{r['stuck']:6d} {r['run_twice']:6d} {r['recovery_s_median']:9.1f} {r['recovery_s_max']:6.1f}")


if __name__ == "__main__":
    main()
