"""Job API benchmark: N concurrent clients submit small jobs and poll them for a fixed time.

Starts a real server (uvicorn, in-process workers, SQLite store) on a free loopback port with a
temporary data folder, measures its start time and idle RSS, then runs the clients and prints
p50/p99 latency of submit and status, errors, and lost jobs (accepted jobs that never reached
an end state or vanished; must be 0).

Each client loops: upload a job (multipart, the server probes it), poll its status every
``--poll`` seconds until it ends, repeat. The media is a 1 s, 32x32 video without audio, so the
subtitles stage ends at once as "skipped" and the workers are not the bottleneck: this measures
the API, the store and the queue, not Whisper.

    .venv/bin/python -m bench.bench_api --clients 50 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

log = logging.getLogger("bench_api")
ROOT = Path(__file__).resolve().parents[1]
TERMINAL = {"succeeded", "failed", "cancelled"}


@dataclass
class Tally:
    submit_ms: list[float] = field(default_factory=list)
    status_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    accepted: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _make_media(folder: Path) -> bytes:
    path = folder / "tiny.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=s=32x32:d=1:r=5",
                    "-c:v", "libx264", str(path)], check=True, timeout=60)
    return path.read_bytes()


def start_server(data_dir: Path, port: int, workers: int,
                 factory: str = "app.main:create_app") -> tuple[subprocess.Popen[bytes], float]:
    env = {**os.environ, "LESSONLENS_DATA_DIR": str(data_dir), "LESSONLENS_WORKERS": str(workers),
           "LESSONLENS_QUEUE_LIMIT_PER_KEY": "1000"}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", factory,
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                             "--no-access-log"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=(data_dir / "server.log").open("wb"))
    deadline = started + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return proc, time.monotonic() - started
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see {data_dir / 'server.log'}")
        time.sleep(0.01)
    raise SystemExit("server did not start within 30 s")


async def client(c: httpx.AsyncClient, media: bytes, until: float, poll_s: float, tally: Tally) -> None:
    while time.monotonic() < until:
        t0 = time.perf_counter()
        try:
            r = await c.post("/v1/jobs", files={"file": ("tiny.mp4", media, "video/mp4")})
        except httpx.HTTPError as e:
            tally.error(f"submit {type(e).__name__}")
            continue
        tally.submit_ms.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 201:
            tally.error(f"submit HTTP {r.status_code}")
            continue
        job_id = r.json()["id"]
        tally.accepted.add(job_id)
        while time.monotonic() < until:
            await asyncio.sleep(poll_s)
            t0 = time.perf_counter()
            try:
                s = await c.get(f"/v1/jobs/{job_id}")
            except httpx.HTTPError as e:
                tally.error(f"status {type(e).__name__}")
                continue
            tally.status_ms.append((time.perf_counter() - t0) * 1000)
            if s.status_code != 200:
                tally.error(f"status HTTP {s.status_code}")
                break
            if s.json()["status"] in TERMINAL:
                tally.finished.add(job_id)
                break


async def loop_lag(until: float, out: list[float]) -> None:
    """How late the bench's own event loop wakes up: latency it adds to every measurement."""
    while time.monotonic() < until:
        t0 = time.perf_counter()
        await asyncio.sleep(0.01)
        out.append((time.perf_counter() - t0 - 0.01) * 1000)


async def settle(c: httpx.AsyncClient, tally: Tally, timeout_s: float) -> set[str]:
    """After the load: wait for every accepted job to end; returns the ids that never did."""
    pending = set(tally.accepted - tally.finished)
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        for job_id in list(pending):
            r = await c.get(f"/v1/jobs/{job_id}")
            if r.status_code == 200 and r.json()["status"] in TERMINAL:
                pending.discard(job_id)
        if pending:
            await asyncio.sleep(0.2)
    return pending


def _cpu_s(proc: psutil.Process) -> float:
    """CPU seconds of the server, its finished children (ffprobe) included."""
    t = proc.cpu_times()
    return float(t.user + t.system + t.children_user + t.children_system)


def _mean_media_step_ms(metrics_text: str) -> float | None:
    """Server-side mean time of the submit's media step (receive + probe), from /metrics."""
    values = {}
    for line in metrics_text.splitlines():
        if line.startswith("lessonlens_submit_source_seconds_") and 'kind="upload"' in line:
            name, value = line.rsplit(" ", 1)
            values[name.split("{")[0].rsplit("_", 1)[-1]] = float(value)
    if not values.get("count"):
        return None
    return round(values["sum"] / values["count"] * 1000, 1)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def measure_starts(n: int, workers: int, factory: str) -> list[float]:
    """Cold starts (fresh data folder each) until /healthz answers, in seconds."""
    times = []
    for _ in range(n):
        with tempfile.TemporaryDirectory(prefix="bench-api-start-") as tmp:
            proc, seconds = start_server(Path(tmp), _free_port(), workers, factory)
            proc.terminate()
            proc.wait(timeout=20)
            times.append(round(seconds, 3))
    return times


async def run(args: argparse.Namespace) -> dict[str, Any]:
    starts = measure_starts(args.starts, args.workers, args.app)
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        media = _make_media(Path(tmp))
        port = _free_port()
        proc, start_s = start_server(data_dir, port, args.workers, args.app)
        try:
            await asyncio.sleep(1.0)
            load_before = os.getloadavg()[0]
            server = psutil.Process(proc.pid)
            idle_rss = server.memory_info().rss
            cpu_before = _cpu_s(server)
            tally = Tally()
            # Idle connections expire before uvicorn's 5 s keep-alive would close them under us.
            limits = httpx.Limits(max_connections=args.clients + 10, keepalive_expiry=2.0)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits) as c:
                until = time.monotonic() + args.seconds
                lag_ms: list[float] = []
                await asyncio.gather(loop_lag(until, lag_ms),
                                     *(client(c, media, until, args.poll, tally) for _ in range(args.clients)))
                busy_rss = server.memory_info().rss
                cpu_used = _cpu_s(server) - cpu_before
                load_after = os.getloadavg()[0]
                media_step_ms = _mean_media_step_ms((await c.get("/metrics")).text)
                lost = await settle(c, tally, 60)
                listed = 0
                cursor: str | None = None
                while True:
                    page = (await c.get("/v1/jobs", params={"limit": 100, **({"cursor": cursor} if cursor else {})})).json()
                    listed += len(page["jobs"])
                    cursor = page["next_cursor"]
                    if not cursor:
                        break
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    return {
        "app": args.app, "clients": args.clients, "seconds": args.seconds, "workers": args.workers, "poll_s": args.poll,
        "media": "1 s 32x32 H.264 video, no audio (subtitles stage skips at once; the workers are not "
                 "the bottleneck)",
        "server_start_s": round(statistics.median([*starts, start_s]), 3),
        "server_starts_s": [*starts, round(start_s, 3)], "idle_rss_mb": round(idle_rss / 2**20, 1),
        "rss_after_load_mb": round(busy_rss / 2**20, 1),
        "submits": len(tally.submit_ms), "status_polls": len(tally.status_ms),
        "submit_ms": {"p50": round(pct(tally.submit_ms, 50), 1), "p99": round(pct(tally.submit_ms, 99), 1)},
        "status_ms": {"p50": round(pct(tally.status_ms, 50), 1), "p99": round(pct(tally.status_ms, 99), 1)},
        "submit_media_step_mean_ms": media_step_ms,
        "client_loop_lag_ms": {"p50": round(pct(lag_ms, 50), 1), "p99": round(pct(lag_ms, 99), 1)},
        "server_cpu_s": round(cpu_used, 2),
        "server_cpu_ms_per_job": round(cpu_used * 1000 / max(1, len(tally.accepted)), 1),
        "loadavg_1min_before_after": [round(load_before, 1), round(load_after, 1)], "cpus": os.cpu_count(),
        "errors": tally.errors, "jobs_accepted": len(tally.accepted), "jobs_listed_by_server": listed,
        "lost_jobs": len(lost) + max(0, len(tally.accepted) - listed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--app", default="app.main:create_app", help="App factory to serve (for experiments).")
    parser.add_argument("--starts", type=int, default=2, help="Extra cold starts to time (median reported).")
    parser.add_argument("--poll", type=float, default=0.5, help="Seconds between status polls of a client.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    result = asyncio.run(run(args))
    targets = {"submit p99 < 100 ms": result["submit_ms"]["p99"] < 100,
               "status p99 < 20 ms": result["status_ms"]["p99"] < 20,
               "start < 2 s": result["server_start_s"] < 2, "idle RSS < 250 MB": result["idle_rss_mb"] < 250,
               "lost jobs = 0": result["lost_jobs"] == 0}
    result["targets"] = {k: "met" if ok else "MISSED" for k, ok in targets.items()}
    log.info("%s", json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
