"""A real lessonlens server in a subprocess (uvicorn on a free loopback port), for e2e tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str, every_s: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(every_s)


class ServerProcess:
    """``uvicorn --factory app.main:create_app`` with ``LESSONLENS_*`` settings from ``env``."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.env = env
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"server-{data_dir.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30) -> float:
        """Start and wait until /healthz answers; returns the start-up time in seconds."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        env = {**os.environ, "LESSONLENS_DATA_DIR": str(self.data_dir),
               **{f"LESSONLENS_{k.upper()}": v for k, v in self.env.items()}}
        started = time.monotonic()
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout_s, "the server to answer /healthz")
        return time.monotonic() - started

    def command(self) -> list[str]:
        return [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app", "--host", "127.0.0.1",
                "--port", str(self.port), "--log-level", "warning"]

    def kill(self) -> None:
        """SIGKILL to its process group: no shutdown handlers run (a crash)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> float:
        self.stop()
        return self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def wait_job(self, client: httpx.Client, job_id: str, until: Callable[[dict[str, Any]], bool],
                 timeout_s: float = 120) -> dict[str, Any]:
        """Poll a job until ``until(job)`` holds."""
        def check() -> dict[str, Any] | None:
            job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
            return job if until(job) else None

        result: dict[str, Any] = wait_for(check, timeout_s, f"job {job_id}", every_s=0.1)
        return result


class ServeProcess(ServerProcess):
    """``lessonlens serve --workers N``: the uvicorn supervisor, its N HTTP processes and, with the
    embedded queue, the job process (and its keeper) that holds ``DATA_DIR/leader.lock``."""

    def __init__(self, data_dir: Path, env: dict[str, str], processes: int) -> None:
        super().__init__(data_dir, env)
        self.processes = processes

    def command(self) -> list[str]:
        return [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--workers", str(self.processes)]

    def leader_pid(self) -> int | None:
        """The pid the leader wrote into its lock file (it may have died since)."""
        from app.leader import LOCK_FILE, LeaderLock

        return LeaderLock(self.data_dir / LOCK_FILE).holder()

    def descendants(self) -> set[int]:
        """Every process ``serve`` started (and they started), alive now."""
        import psutil

        assert self.proc is not None
        try:
            return {p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            return set()

    def http_pids(self) -> set[int]:
        """The HTTP processes alive now: the processes of the server listening on its port."""
        import psutil

        pids = set()
        for pid in self.descendants():
            try:
                sockets = psutil.Process(pid).net_connections("tcp")
            except psutil.Error:  # ended meanwhile
                continue
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == self.port for c in sockets):
                pids.add(pid)
        return pids

    def job_pids(self) -> set[int]:
        """The job processes alive now (``app.job_process``, named ``lessonlens-jobs``)."""
        import psutil

        pids = set()
        for pid in self.descendants():
            try:
                if psutil.Process(pid).name() == "lessonlens-jobs":
                    pids.add(pid)
            except psutil.Error:
                continue
        return pids
