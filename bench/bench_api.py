"""Job API benchmark: N concurrent clients submit small jobs and poll them for a fixed time.

Starts a real server (uvicorn, in-process workers, SQLite store) on a free loopback port with a
temporary data folder, measures its start time and idle memory (RSS summed over its processes,
and PSS: shared pages counted once), then runs the clients and prints p50/p99 latency of
submit and status, errors, and lost jobs (accepted jobs that never reached an end state or
vanished; must be 0).

Each client loops: upload a job (multipart, the server probes it), poll its status every
``--poll`` seconds until it ends, repeat. The media is a 1 s, 32x32 video without audio, so the
subtitles stage ends at once as "skipped" and the workers are not the bottleneck: this measures
the API, the store and the queue, not Whisper.

    .venv/bin/python -m bench.bench_api --clients 50 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
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


def start_server(data_dir: Path, port: int, workers: int, factory: str = "app.main:create_app",
                 extra_env: dict[str, str] | None = None, uvicorn_args: list[str] | None = None,
                 root: Path = ROOT) -> tuple[subprocess.Popen[bytes], float]:
    """Start a server with the code in ``root``: uvicorn serving ``factory``, or, when
    ``uvicorn_args`` starts with ``serve``, ``lessonlens serve`` with the rest of them."""
    env = {**os.environ, "LESSONLENS_DATA_DIR": str(data_dir), "LESSONLENS_WORKERS": str(workers),
           "LESSONLENS_QUEUE_LIMIT_PER_KEY": "1000", **(extra_env or {})}
    args = list(uvicorn_args or [])
    if args[:1] == ["serve"]:
        command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port), *args[1:]]
    else:
        command = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port",
                   str(port), "--log-level", "warning", "--no-access-log", *args]
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL,
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


Send = Callable[[], Awaitable[tuple[int, bytes]]]
Poll = Callable[[str], Awaitable[tuple[int, bytes]]]
TRANSPORT_ERRORS = (httpx.HTTPError, OSError, asyncio.IncompleteReadError)


async def client_loop(submit: Send, poll: Poll, until: float, poll_s: float, tally: Tally) -> None:
    """One client: submit a job, poll its status every ``poll_s`` until it ends, repeat."""
    while time.monotonic() < until:
        t0 = time.perf_counter()
        try:
            status, data = await submit()
        except TRANSPORT_ERRORS as e:
            tally.error(f"submit {type(e).__name__}")
            continue
        tally.submit_ms.append((time.perf_counter() - t0) * 1000)
        if status != 201:
            tally.error(f"submit HTTP {status}")
            continue
        job_id = json.loads(data)["id"]
        tally.accepted.add(job_id)
        while time.monotonic() < until:
            await asyncio.sleep(poll_s)
            t0 = time.perf_counter()
            try:
                status, data = await poll(job_id)
            except TRANSPORT_ERRORS as e:
                tally.error(f"status {type(e).__name__}")
                continue
            tally.status_ms.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                tally.error(f"status HTTP {status}")
                break
            if json.loads(data)["status"] in TERMINAL:
                tally.finished.add(job_id)
                break


async def httpx_client(c: httpx.AsyncClient, media: bytes, until: float, poll_s: float, tally: Tally) -> None:
    """``client_loop`` on httpx."""

    async def submit() -> tuple[int, bytes]:
        r = await c.post("/v1/jobs", files={"file": ("tiny.mp4", media, "video/mp4")})
        return r.status_code, r.content

    async def poll(job_id: str) -> tuple[int, bytes]:
        r = await c.get(f"/v1/jobs/{job_id}")
        return r.status_code, r.content

    await client_loop(submit, poll, until, poll_s, tally)


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams, for the load only.

    httpx costs the bench about a millisecond of CPU per request; on a 2-core machine that the
    server shares, the harness then delays its own measurements (see client_loop_lag_ms). This
    sends prebuilt requests and reads the status line, Content-Length and body: several times
    less CPU. The server answers with Content-Length (no chunked bodies on these routes).
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
        for attempt in (0, 1):  # an idle keep-alive connection the server closed: reconnect once
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            assert self.reader is not None
            try:
                self.writer.write(head + body)
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionResetError("server closed the connection")
                length = 0
                while (line := await self.reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                return int(status_line.split()[1]), await self.reader.readexactly(length)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _multipart(media: bytes) -> tuple[bytes, bytes]:
    boundary = b"benchboundary7d1f"
    body = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="tiny.mp4"\r\n'
            b"Content-Type: video/mp4\r\n\r\n" + media + b"\r\n--" + boundary + b"--\r\n")
    head = (b"POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary="
            + boundary + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    return head, body


async def raw_client(port: int, media: bytes, until: float, poll_s: float, tally: Tally) -> None:
    """``client_loop`` on a ``RawConnection``."""
    conn = RawConnection(port)
    head, body = _multipart(media)

    async def poll(job_id: str) -> tuple[int, bytes]:
        return await conn.request(f"GET /v1/jobs/{job_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())

    try:
        await client_loop(lambda: conn.request(head, body), poll, until, poll_s, tally)
    finally:
        conn.close()


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


def _processes(proc: psutil.Process) -> list[psutil.Process]:
    """The server, its HTTP processes and its job process (``lessonlens serve --workers N``; the job
    process and its keeper are named ``lessonlens-jobs`` and ``lessonlens-keep``)."""
    return [proc, *(p for p in proc.children(recursive=True) if any(
        word in p.name().lower() for word in ("python", "lessonlens")))]


def _cpu_s(proc: psutil.Process) -> float:
    """CPU seconds of the server's processes, their finished children (ffprobe) included."""
    total = 0.0
    for p in _processes(proc):
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def _memory(proc: psutil.Process, kind: str = "rss") -> int:
    """Memory of the server's processes, together: ``rss`` (the pages forks share counted once
    per process) or ``pss`` (each shared page counted once: ``serve`` forks its processes from one
    that imported the app; what they cost the machine)."""
    total = 0
    for p in _processes(proc):
        with contextlib.suppress(psutil.Error):
            total += getattr(p.memory_full_info() if kind == "pss" else p.memory_info(), kind)
    return total


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


def _server_latency(metrics_text: str, method: str, route: str) -> dict[str, Any]:
    """Server-side latency of one route from the app's histogram: the bucket bound under which 99 %
    of requests finished, and the share within 20 and 100 ms (time inside the app, no client)."""
    buckets: dict[float, float] = {}
    prefix = "lessonlens_http_request_seconds_bucket{"
    for line in metrics_text.splitlines():
        if line.startswith(prefix) and f'method="{method}"' in line and f'route="{route}"' in line:
            le = line.split('le="', 1)[1].split('"', 1)[0]
            bound = float("inf") if le == "+Inf" else float(le)
            buckets[bound] = buckets.get(bound, 0.0) + float(line.rsplit(" ", 1)[1])
    total = buckets.get(float("inf"), 0.0)
    if not total:
        return {}
    p99 = next(b for b in sorted(buckets) if buckets[b] >= 0.99 * total)
    return {"p99_le_ms": p99 * 1000, "within_20ms": round(buckets.get(0.02, 0) / total, 4),
            "within_100ms": round(buckets.get(0.1, 0) / total, 4)}


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


@dataclass
class Variant:
    """A server configuration to measure: ``name=LESSONLENS_X=1 --uvicorn-flag value ...``, or
    ``name=serve --workers 2`` for ``lessonlens serve``; ``CODE=/path`` runs the code checked out
    there (an older commit, say, for a before/after in one run)."""

    name: str
    env: dict[str, str]
    uvicorn_args: list[str]
    root: Path = ROOT

    @classmethod
    def parse(cls, spec: str) -> Variant:
        name, _, rest = spec.partition("=")
        env, args = {}, []
        for token in rest.split():
            if "=" in token and token.split("=", 1)[0].isupper():
                key, _, value = token.partition("=")
                env[key] = value
            else:
                args.append(token)
        root = Path(env.pop("CODE", ROOT))
        return cls(name or "default", env, args, root)


def measure_starts(n: int, workers: int, factory: str, variant: Variant) -> tuple[list[float], list[float]]:
    """Cold starts (fresh data folder each) until /healthz answers: seconds, and CPU seconds the
    server's processes used by then (what a busy shared machine inflates least)."""
    times, cpu = [], []
    for _ in range(n):
        with tempfile.TemporaryDirectory(prefix="bench-api-start-") as tmp:
            proc, seconds = start_server(Path(tmp), _free_port(), workers, factory,
                                         variant.env, variant.uvicorn_args, variant.root)
            cpu.append(round(_cpu_s(psutil.Process(proc.pid)), 3))
            proc.terminate()
            proc.wait(timeout=20)
            times.append(round(seconds, 3))
    return times, cpu


def _serve_variant(tmp: Path, args: argparse.Namespace,
                   variant: Variant) -> tuple[bytes, int, subprocess.Popen[bytes], float]:
    """A server of ``variant`` on a new data folder in ``tmp``, and the clip to submit to it:
    (media, port, process, seconds to its first answer)."""
    data_dir = tmp / "data"
    data_dir.mkdir()
    media = _make_media(tmp)
    port = _free_port()
    proc, start_s = start_server(data_dir, port, args.workers, args.app, variant.env, variant.uvicorn_args,
                                 variant.root)
    return media, port, proc, start_s


async def measure_cpu_per_request(args: argparse.Namespace, variant: Variant) -> dict[str, float]:
    """Server CPU per request, one request at a time: ``--cpu-requests`` submits (each job run to
    its end: the CPU of running it counts too), then as many status polls. CPU seconds of the
    server's processes, which a busy shared machine inflates far less than it does latency."""
    n = args.cpu_requests
    with tempfile.TemporaryDirectory(prefix="bench-api-cpu-") as tmp:
        media, port, proc, _ = _serve_variant(Path(tmp), args, variant)
        conn = RawConnection(port)
        try:
            server = psutil.Process(proc.pid)
            head, body = _multipart(media)

            async def submit() -> str:
                status, data = await conn.request(head, body)
                if status != 201:
                    raise SystemExit(f"submit answered HTTP {status}: {data[:200]!r}")
                return str(json.loads(data)["id"])

            async def poll(job_id: str) -> str:
                get = f"GET /v1/jobs/{job_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                _, data = await conn.request(get.encode())
                return str(json.loads(data)["status"])

            async def settled(job_ids: list[str]) -> None:
                for job_id in job_ids:
                    while await poll(job_id) not in TERMINAL:
                        await asyncio.sleep(0.05)

            await settled([await submit() for _ in range(5)])  # warm: first-use imports, caches
            cpu = _cpu_s(server)
            ids = [await submit() for _ in range(n)]
            await settled(ids)
            await asyncio.sleep(0.5)  # the last job's end (webhooks, metrics) is counted too
            submit_cpu = _cpu_s(server) - cpu
            cpu = _cpu_s(server)
            for i in range(n):
                await poll(ids[i])
            status_cpu = _cpu_s(server) - cpu
        finally:
            conn.close()
            proc.terminate()
            proc.wait(timeout=20)
    # the settling polls are in the submit figure: at most a few per job, a small share of a job
    return {"submit_and_job_cpu_ms": round(submit_cpu * 1000 / n, 2),
            "status_cpu_ms": round(status_cpu * 1000 / n, 3)}


async def run(args: argparse.Namespace, variant: Variant) -> dict[str, Any]:
    start_load = os.getloadavg()[0]
    starts, start_cpu = measure_starts(args.starts, args.workers, args.app, variant)
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        media, port, proc, start_s = _serve_variant(Path(tmp), args, variant)
        try:
            await asyncio.sleep(1.0)
            load_before = os.getloadavg()[0]
            server = psutil.Process(proc.pid)
            idle_rss, idle_pss = _memory(server), _memory(server, "pss")
            cpu_before = _cpu_s(server)
            tally = Tally()
            # Idle connections expire before uvicorn's 5 s keep-alive would close them under us.
            limits = httpx.Limits(max_connections=args.clients + 10, keepalive_expiry=2.0)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits) as c:
                until = time.monotonic() + args.seconds
                lag_ms: list[float] = []
                rng = random.Random(args.seed)

                async def one_client() -> None:
                    # Independent clients do not start in the same millisecond: with --stagger each
                    # one starts at a random moment within the first poll interval. Without it all
                    # 50 submit at once and stay in step, so every round is a burst of 50 submits.
                    if args.stagger:
                        await asyncio.sleep(rng.uniform(0, args.poll))
                    if args.client == "raw":
                        await raw_client(port, media, until, args.poll, tally)
                    else:
                        await httpx_client(c, media, until, args.poll, tally)

                clients = (one_client() for _ in range(args.clients))
                bench_cpu = time.process_time()
                await asyncio.gather(loop_lag(until, lag_ms), *clients)
                bench_cpu = time.process_time() - bench_cpu
                busy_rss = _memory(server)
                cpu_used = _cpu_s(server) - cpu_before
                load_after = os.getloadavg()[0]
                metrics_text = (await c.get("/metrics")).text
                media_step_ms = _mean_media_step_ms(metrics_text)
                server_side = {"submit": _server_latency(metrics_text, "POST", "/v1/jobs"),
                               "status": _server_latency(metrics_text, "GET", "/v1/jobs/{job_id}")}
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
        "variant": variant.name, "stagger": args.stagger, "app": args.app, "clients": args.clients, "seconds": args.seconds, "workers": args.workers, "poll_s": args.poll,
        "media": "1 s 32x32 H.264 video, no audio (subtitles stage skips at once; the workers are not "
                 "the bottleneck)",
        "server_start_s": round(statistics.median([*starts, start_s]), 3),
        "server_starts_s": [*starts, round(start_s, 3)], "server_start_cpu_s": start_cpu,
        "loadavg_1min_at_starts": round(start_load, 1),
        "idle_rss_mb": round(idle_rss / 2**20, 1),
        "idle_pss_mb": round(idle_pss / 2**20, 1),
        "rss_after_load_mb": round(busy_rss / 2**20, 1),
        "submits": len(tally.submit_ms), "status_polls": len(tally.status_ms),
        "submit_ms": {"p50": round(pct(tally.submit_ms, 50), 1), "p99": round(pct(tally.submit_ms, 99), 1)},
        # the first burst meets a cold server (first-use imports: PyAV, the thread pools); the rest is steady
        "first_burst_submit_ms_max": round(max(tally.submit_ms[: args.clients], default=0.0), 1),
        "submit_ms_after_first_burst": {"p50": round(pct(tally.submit_ms[args.clients:], 50), 1),
                                        "p99": round(pct(tally.submit_ms[args.clients:], 99), 1)},
        "status_ms": {"p50": round(pct(tally.status_ms, 50), 1), "p99": round(pct(tally.status_ms, 99), 1)},
        "submit_media_step_mean_ms": media_step_ms, "server_side_latency": server_side,
        "client_loop_lag_ms": {"p50": round(pct(lag_ms, 50), 1), "p99": round(pct(lag_ms, 99), 1)},
        "server_cpu_s": round(cpu_used, 2), "client": args.client, "bench_client_cpu_s": round(bench_cpu, 2),
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
    parser.add_argument("--stagger", action=argparse.BooleanOptionalAction, default=True,
                        help="Start each client at a random moment within the first poll interval "
                             "(--no-stagger: all at once, so they stay in step and submit in bursts).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the start stagger.")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="Load client: raw (a minimal HTTP/1.1 client, little CPU) or httpx.")
    parser.add_argument("--variant", action="append", default=[],
                        help="Server configuration to measure, as 'name=LESSONLENS_X=1 --uvicorn-flag value'; "
                             "give several to compare them in one run (measured in turn, --rounds times).")
    parser.add_argument("--rounds", type=int, default=1, help="Alternate the variants this many times.")
    parser.add_argument("--cpu-per-request", action="store_true",
                        help="Only measure the server's CPU per submit (its job included) and per status "
                             "poll, one request at a time (--cpu-requests of each, per variant and round).")
    parser.add_argument("--cpu-requests", type=int, default=200,
                        help="Requests of each kind for --cpu-per-request.")
    parser.add_argument("--starts-only", action="store_true",
                        help="Only time cold starts to the first /healthz (--starts per variant and round).")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    variants = [Variant.parse(v) for v in args.variant] or [Variant("default", {}, [])]
    if args.cpu_per_request:
        cpu_rows: dict[str, list[dict[str, float]]] = {v.name: [] for v in variants}
        for _ in range(args.rounds):  # alternated, so each variant sees the same machine load
            for variant in variants:
                cpu_rows[variant.name].append(asyncio.run(measure_cpu_per_request(args, variant)))
        log.info("%-14s %18s %14s  (server CPU, ms per request; median of rounds: %s)", "variant",
                 "submit+job p50", "status p50", args.rounds)
        for name, found in cpu_rows.items():
            log.info("%-14s %18.2f %14.3f  %s", name,
                     statistics.median(r["submit_and_job_cpu_ms"] for r in found),
                     statistics.median(r["status_cpu_ms"] for r in found), found)
        log.info("load average (1, 5, 15 min) after: %s", [round(x, 1) for x in os.getloadavg()])
        return
    if args.starts_only:
        rows: dict[str, tuple[list[float], list[float]]] = {v.name: ([], []) for v in variants}
        for _ in range(args.rounds):  # alternated, so each variant sees the same machine load
            for variant in variants:
                times, cpu = measure_starts(args.starts, args.workers, args.app, variant)
                rows[variant.name][0].extend(times)
                rows[variant.name][1].extend(cpu)
        log.info("%-14s %10s %10s  %s", "variant", "start p50", "cpu p50", "starts (s)")
        for name, (times, cpu) in rows.items():
            log.info("%-14s %9.2fs %9.2fs  %s", name, statistics.median(times), statistics.median(cpu), times)
        log.info("load average (1, 5, 15 min) after: %s", [round(x, 1) for x in os.getloadavg()])
        return
    results = []
    for _ in range(args.rounds):
        for variant in variants:
            result = asyncio.run(run(args, variant))
            targets = {"submit p99 < 100 ms": result["submit_ms"]["p99"] < 100,
                       "status p99 < 20 ms": result["status_ms"]["p99"] < 20,
                       "start < 1 s": result["server_start_s"] < 1, "idle PSS < 250 MB": result["idle_pss_mb"] < 250,
                       "lost jobs = 0": result["lost_jobs"] == 0}
            result["targets"] = {k: "met" if ok else "MISSED" for k, ok in targets.items()}
            log.info("%s", json.dumps(result, indent=2))
            results.append(result)
    if results:
        log.info("%-14s %8s %8s %8s %8s %7s %7s %6s %5s %9s", "variant", "sub p50", "sub p99", "st p50", "st p99",
                 "jobs", "cpu/job", "start", "lost", "load")
        for r in results:
            log.info("%-14s %8.1f %8.1f %8.1f %8.1f %7d %7.1f %6.2f %5d %4.1f-%4.1f", r["variant"],
                     r["submit_ms"]["p50"], r["submit_ms"]["p99"], r["status_ms"]["p50"], r["status_ms"]["p99"],
                     r["jobs_accepted"], r["server_cpu_ms_per_job"], r["server_start_s"], r["lost_jobs"],
                     *r["loadavg_1min_before_after"])


if __name__ == "__main__":
    main()
