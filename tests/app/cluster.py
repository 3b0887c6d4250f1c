"""A real distributed lessonlens on loopback, for tests and the benchmark: a throwaway PostgreSQL
database, a Redis namespace of its own, ``lessonlens worker`` processes and the API (uvicorn)."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.app.server_proc import ROOT, ServerProcess, wait_for

PG_ADMIN_URL = os.environ.get("LESSONLENS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("LESSONLENS_TEST_REDIS", "redis://127.0.0.1:6379")


def unreachable() -> str | None:
    """Why PostgreSQL or Redis cannot be used here, or None when both answer."""
    import psycopg
    import redis

    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            pass
    except psycopg.Error as e:
        return f"PostgreSQL at {PG_ADMIN_URL} is unreachable ({e})"
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=3).ping()
    except redis.RedisError as e:
        return f"Redis at {REDIS_URL} is unreachable ({e})"
    return None


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A new database ``lessonlens_test_<random>``; its SQLAlchemy URL; dropped at the end."""
    import psycopg

    name = f"lessonlens_test_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def redis_namespace() -> Iterator[tuple[str, str]]:
    """A broker URL on a Redis database number of its own and a key prefix; keys removed at the end."""
    import redis

    db = 8 + secrets.randbelow(8)  # 8..15: away from db 0, where people's own setups live
    prefix = f"lltest-{secrets.token_hex(4)}:"
    url = f"{REDIS_URL}/{db}"
    try:
        yield url, prefix
    finally:
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)


@dataclass
class Cluster:
    """Settings shared by the API and the workers: only the database, the broker and a folder."""

    database_url: str
    broker_url: str
    key_prefix: str
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    workers: list[WorkerProcess] = field(default_factory=list)

    def settings_env(self, **extra: str) -> dict[str, str]:
        """``LESSONLENS_*`` names (without the prefix, lower case) -> values."""
        return {"queue": "celery", "database_url": self.database_url, "broker_url": self.broker_url,
                "celery_key_prefix": self.key_prefix, "cpu_threads": "1", **self.env, **extra}

    def api(self, **extra: str) -> ServerProcess:
        server = ServerProcess(self.data_dir, self.settings_env(**extra))
        server.start(timeout_s=60)
        return server

    def worker(self, name: str, queues: str | None = None, **extra: str) -> WorkerProcess:
        return self.start_workers(name, queues=queues, **extra)[0]

    def start_workers(self, *names: str, queues: str | None = None, **extra: str) -> list[WorkerProcess]:
        """Start the workers side by side and return once every one of them is ready, so none
        of them gets a head start on the queued jobs."""
        workers = [WorkerProcess(name, self.data_dir, self.settings_env(**extra), queues) for name in names]
        for worker in workers:
            worker.spawn()
            self.workers.append(worker)
        for worker in workers:
            worker.wait_ready()
        return workers

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


# Celery node names are broker-wide (RabbitMQ's pidbox queues are exclusive): a run's own suffix
# keeps two test runs on one machine's broker from taking each other's worker names.
RUN_ID = secrets.token_hex(3)


def node_name(name: str) -> str:
    """The Celery node name (``--hostname``) of a test worker called ``name``."""
    return f"{name}-{RUN_ID}@%h"


class WorkerProcess:
    """``lessonlens worker`` in its own session (process group), so a kill takes all of it."""

    def __init__(self, name: str, data_dir: Path, env: dict[str, str], queues: str | None = None) -> None:
        self.name = name
        self.queues = queues
        self.data_dir = data_dir
        self.env = env
        self.log_path = data_dir.parent / f"worker-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 90) -> None:
        self.spawn()
        self.wait_ready(timeout_s)

    def spawn(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "LESSONLENS_DATA_DIR": str(self.data_dir),
               **{f"LESSONLENS_{k.upper()}": v for k, v in self.env.items()}}
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from app.cli import main; main()", "worker",
             "--hostname", node_name(self.name), "--concurrency", "1",
             *(["--queues", self.queues] if self.queues else [])],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def wait_ready(self, timeout_s: float = 90) -> None:
        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"worker {self.name} exited with {self.proc.returncode}:\n{self.log()}")
            return node_name(self.name).split("%")[0] in self.log() and " ready." in self.log()

        wait_for(ready, timeout_s, f"worker {self.name} to be ready", every_s=0.1)

    def kill(self) -> None:
        """SIGKILL to the whole process group: a machine or container dying mid-job."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def started_jobs(self) -> list[str]:
        """Ids of the jobs this worker started (from its log)."""
        return [line.split(": started")[0].rsplit(" ", 1)[-1] for line in self.log().splitlines()
                if ": started (attempt" in line]


class BrokerProxy:
    """A TCP forwarder on a loopback port of its own in front of Redis: ``down()`` closes it and
    every connection through it (the broker is unreachable, for this setup only: the shared Redis
    other tests use keeps running), ``up()`` listens again on the same port."""

    def __init__(self, target: str = REDIS_URL) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(target)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self._server: Any = None
        self._sockets: list[Any] = []

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def up(self) -> None:
        import socket
        import socketserver
        import threading

        proxy = self

        class Pipe(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                upstream = socket.create_connection(proxy._target)
                proxy._sockets += [self.request, upstream]

                def pump(src: Any, dst: Any) -> None:
                    try:
                        while data := src.recv(65536):
                            dst.sendall(data)
                    except OSError:
                        pass
                    finally:
                        for s in (src, dst):
                            with contextlib.suppress(OSError):
                                s.shutdown(socket.SHUT_RDWR)

                t = threading.Thread(target=pump, args=(upstream, self.request), daemon=True)
                t.start()
                pump(self.request, upstream)
                t.join()

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Pipe)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        import socket

        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()
        self._sockets.clear()
