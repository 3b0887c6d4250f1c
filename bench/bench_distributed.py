"""Distributed benchmark: N small speech jobs through 1 worker, then through 2 workers.

Each round builds a real distributed setup on loopback: a throwaway PostgreSQL database, a Redis
namespace of its own, the API (uvicorn, ``LESSONLENS_QUEUE=celery``) and ``lessonlens worker``
processes (solo pool, one job at a time, Whisper tiny.en preloaded). When the workers are ready,
N jobs are uploaded at once; the job store's timestamps give, per job, the wait in the queue
(created -> started), the run time (started -> finished) and the latency (created -> finished),
and for the round the throughput: jobs / (last finished - first created), and the workers' own,
jobs / (last finished - first started), which leaves the uploads out.

The media is a generated ~4 s narration (espeak-ng) with a 64x64 video, so a job is short and
the figures show the overhead of the distributed path and how throughput scales with workers on
this machine's cores (workers are given ``--cpu-threads`` each).

    .venv/bin/python -m bench.bench_distributed --jobs 12 --workers 1,2
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.app.cluster import Cluster, redis_namespace, throwaway_database, unreachable
from tests.app.server_proc import wait_for

log = logging.getLogger("bench_distributed")


def make_media(folder: Path) -> Path:
    """A ~4 s spoken sentence with a tiny video track."""
    wav, mp4 = folder / "speech.wav", folder / "speech.mp4"
    subprocess.run(["espeak-ng", "-w", str(wav), "Please wear your safety glasses in the workshop at all times."],
                   check=True, capture_output=True, timeout=60)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-f", "lavfi", "-i", "color=s=64x64:r=10",
                    "-shortest", "-c:v", "libx264", "-c:a", "aac", str(mp4)], check=True, capture_output=True,
                   timeout=60)
    return mp4


def _ts(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_round(database_url: str, media: Path, jobs: int, workers: int, cpu_threads: int) -> dict[str, Any]:
    """One setup with ``workers`` workers; ``jobs`` jobs submitted at once; their figures."""
    with redis_namespace() as (broker_url, prefix), tempfile.TemporaryDirectory(prefix="bench-dist-") as tmp:
        cluster = Cluster(database_url, broker_url, prefix, Path(tmp) / "shared",
                          env={"cpu_threads": str(cpu_threads)})
        api = cluster.api()
        try:
            for index in range(workers):
                cluster.worker(f"bench{index}")
            with httpx.Client(base_url=api.url, timeout=60) as client:
                data = media.read_bytes()

                def submit(_: int) -> tuple[str, float]:
                    started = time.perf_counter()
                    r = client.post("/v1/jobs", files={"file": (media.name, data, "video/mp4")})
                    r.raise_for_status()
                    return str(r.json()["id"]), time.perf_counter() - started

                with ThreadPoolExecutor(max_workers=4) as pool:  # the uploads overlap, as clients' would
                    submitted = list(pool.map(submit, range(jobs)))
                ids = [job_id for job_id, _ in submitted]
                submit_s = [seconds for _, seconds in submitted]

                def finished() -> list[dict[str, Any]] | None:
                    got = [client.get(f"/v1/jobs/{i}").json() for i in ids]
                    return got if all(j["status"] in ("succeeded", "failed") for j in got) else None

                done: list[dict[str, Any]] = wait_for(finished, 60 + 30 * jobs, "every job to end", every_s=0.2)
        finally:
            api.stop()
            cluster.stop()
        failed = [j["id"] for j in done if j["status"] != "succeeded"]
        created = [_ts(j["created_at"]) for j in done]
        started_at = [_ts(j["started_at"]) for j in done]
        ended = [_ts(j["finished_at"]) for j in done]
        wait = [s - c for c, s in zip(created, started_at, strict=True)]
        run = [e - s for s, e in zip(started_at, ended, strict=True)]
        latency = [e - c for c, e in zip(created, ended, strict=True)]
        span = max(ended) - min(created)
        busy_span = max(ended) - min(started_at)  # from the first job a worker took: no submit time
        ran_by = {w.name: len(w.started_jobs()) for w in cluster.workers}
        return {
            "workers": workers, "jobs": jobs, "failed": len(failed), "jobs_per_worker": ran_by,
            "throughput_jobs_per_min": round(60 * jobs / span, 1), "wall_s": round(span, 2),
            "worker_throughput_jobs_per_min": round(60 * jobs / busy_span, 1),
            "latency_p50_s": round(statistics.median(latency), 2), "latency_p95_s": round(_pct(latency, 0.95), 2),
            "queue_wait_p50_s": round(statistics.median(wait), 2), "run_p50_s": round(statistics.median(run), 2),
            "submit_p50_ms": round(1000 * statistics.median(submit_s), 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=12, help="jobs per round")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts, one round each")
    parser.add_argument("--cpu-threads", type=int, default=1, help="threads per worker's model")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    reason = unreachable()
    if reason:
        raise SystemExit(f"{reason}; the benchmark needs PostgreSQL and Redis")
    results = []
    with tempfile.TemporaryDirectory() as tmp, throwaway_database() as database_url:
        media = make_media(Path(tmp))
        for count in (int(n) for n in args.workers.split(",")):
            result = run_round(database_url, media, args.jobs, count, args.cpu_threads)
            log.info("%s", json.dumps(result))
            results.append(result)
    log.info("load average at the end: %s (%d cores)", " ".join(f"{x:.1f}" for x in os.getloadavg()),
             os.cpu_count() or 0)
    log.info("%-8s %5s %9s %12s %8s %8s %8s %9s %10s", "workers", "jobs", "jobs/min", "worker j/min",
             "p50 s", "p95 s", "run p50", "wait p50", "submit p50")
    for r in results:
        log.info("%-8d %5d %9.1f %12.1f %8.2f %8.2f %8.2f %9.2f %8.0fms", r["workers"], r["jobs"],
                 r["throughput_jobs_per_min"], r["worker_throughput_jobs_per_min"], r["latency_p50_s"],
                 r["latency_p95_s"], r["run_p50_s"], r["queue_wait_p50_s"], r["submit_p50_ms"])


if __name__ == "__main__":
    main()
