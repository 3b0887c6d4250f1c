"""Fixtures of the service tests: tiny real media made with ffmpeg/espeak-ng, and real servers."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.app.cluster import Cluster, redis_namespace, throwaway_database, unreachable
from tests.app.server_proc import ServerProcess


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small media: ``tone.mp4`` (2 s tone + video), ``silent.mp4`` (video only), ``speech.mp4``
    (espeak-ng narration), ``truncated.mp4``, ``text.mp4`` (a text file), ``empty.mp4`` (0 bytes)."""
    d = tmp_path_factory.mktemp("media")
    ff = ("ffmpeg", "-loglevel", "error", "-y")
    _run(*ff, "-f", "lavfi", "-i", "sine=d=2", "-f", "lavfi", "-i", "color=s=64x64:d=2:r=10", "-shortest",
         "-c:v", "libx264", "-c:a", "aac", str(d / "tone.mp4"))
    _run(*ff, "-f", "lavfi", "-i", "color=s=32x32:d=1:r=5", "-c:v", "libx264", str(d / "silent.mp4"))
    _run("espeak-ng", "-w", str(d / "speech.wav"),
         "Welcome to the safety training. Always wear your helmet on the factory floor.")
    _run(*ff, "-i", str(d / "speech.wav"), "-f", "lavfi", "-i", "color=s=64x64:r=10", "-shortest",
         "-c:v", "libx264", "-c:a", "aac", "-movflags", "+faststart", str(d / "speech.mp4"))
    data = (d / "speech.mp4").read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 3])
    (d / "text.mp4").write_text("this is not a video\n" * 20)
    (d / "empty.mp4").write_bytes(b"")
    return d


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start real uvicorn servers (subprocesses) on free loopback ports; all are killed at the end."""
    started: list[ServerProcess] = []

    def start(data_dir: Path | None = None, **env: str) -> ServerProcess:
        server = ServerProcess(data_dir or tmp_path / "data", env)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# ---------------------------------------------------------------- the distributed setup

SECRET = "dist-secret"


@pytest.fixture
def database_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own, dropped at the end. Not shared between tests:
    every API and worker process reaps lapsed leases and publishes the outbox of its whole
    database, so a job an earlier test left behind would be run by the next test's workers."""
    reason = unreachable()
    if reason:
        if os.environ.get("CI") or os.environ.get("LESSONLENS_TEST_SERVICES") == "required":
            pytest.fail(f"{reason}: in CI the distributed tests must run (.ci/run starts the services)")
        pytest.skip(f"{reason}; start it to run the distributed tests")
    with throwaway_database() as url:
        yield url


@pytest.fixture
def cluster(database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """Settings for an API and workers sharing only Redis, Postgres and ``tmp_path/shared``."""
    with redis_namespace() as (broker_url, prefix):
        c = Cluster(database_url, broker_url, prefix, tmp_path / "shared",
                    env={"webhook_secret": SECRET, "allow_private_urls": "true", "webhook_backoff_s": "0.2",
                         "celery_restore_interval_s": "1", "celery_visibility_timeout_s": "60",
                         # a dead worker's job is reaped within seconds, not at the visibility timeout
                         "lease_s": "8", "upkeep_every_s": "0.5"})
        try:
            yield c
        finally:
            c.stop()
