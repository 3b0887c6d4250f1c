"""Local folder storage for job inputs and results.

Layout under the root: ``incoming/`` (uploads being received; removed on any failure),
``inputs/<job id>/<file>`` and ``results/<job id>/<file>``. Every file is written under a
temporary name and renamed into place, so a reader never sees one half written. A shared
folder (NFS, a mounted bucket) mounted at the same path on every machine is the distributed
variant: same code, another root.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Protocol

from app.stages.context import write_atomic

log = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def safe_filename(name: str | None, default: str = "media") -> str:
    """A file name safe to store: no folders, no leading dot, limited characters."""
    base = Path((name or "").replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip("._")[:100]
    return base or default


class Storage(Protocol):
    """Where inputs and results live."""

    root: Path

    def incoming_path(self, suffix: str = "") -> Path: ...

    def receive(self, stream: BinaryIO, max_bytes: int) -> tuple[Path, int]: ...

    def commit_input(self, job_id: str, tmp: Path, name: str) -> Path: ...

    def results_dir(self, job_id: str) -> Path: ...

    def result_file(self, job_id: str, name: str) -> Path | None: ...

    def write_result(self, job_id: str, name: str, data: str | bytes) -> Path: ...

    def delete(self, job_id: str) -> None: ...


class LocalStorage:
    """``Storage`` in a local (or shared, mounted) folder."""

    def __init__(self, root: Path, durable: bool = True) -> None:
        """``durable``: an input is flushed to the disk before a job may point at it (so that a
        job row that survives a power loss finds its file); False where the job store's own
        commits survive a crashed process but not a power loss (SQLite in WAL mode with
        ``synchronous=NORMAL``), which the page cache gives the file as well."""
        self.root = root.resolve()
        self.durable = durable
        for sub in ("incoming", "inputs", "results"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def cleanup_incoming(self, max_age_s: float = 3600) -> int:
        """Remove uploads left in ``incoming/`` by a crash (older than ``max_age_s``: another
        process sharing the folder may be receiving one right now). Returns how many."""
        cutoff = time.time() - max_age_s
        removed = 0
        for path in (self.root / "incoming").iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        if removed:
            log.info("removed %d stale upload(s) from %s", removed, self.root / "incoming")
        return removed

    def _job_dir(self, kind: str, job_id: str) -> Path:
        if not _SAFE_NAME.match(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        return self.root / kind / job_id

    def incoming_path(self, suffix: str = "") -> Path:
        """A fresh, empty temporary file under ``incoming/`` (the caller removes it on failure)."""
        fd, name = tempfile.mkstemp(prefix="up-", suffix=suffix, dir=self.root / "incoming")
        os.close(fd)
        return Path(name)

    def receive(self, stream: BinaryIO, max_bytes: int) -> tuple[Path, int]:
        """Copy ``stream`` into a temporary incoming file; stops past ``max_bytes``.

        Returns the path and the byte count (``max_bytes + 1`` means the limit was exceeded; the
        file is then already removed).
        """
        path = self.incoming_path()
        size = 0
        try:
            with path.open("wb") as out:
                while chunk := stream.read(1 << 20):
                    size += len(chunk)
                    if size > max_bytes:
                        break
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        if size > max_bytes:
            path.unlink(missing_ok=True)
            return path, max_bytes + 1
        return path, size

    def commit_input(self, job_id: str, tmp: Path, name: str) -> Path:
        """Move a received file into ``inputs/<job id>/<name>`` (same file system: atomic)."""
        dest = self._job_dir("inputs", job_id) / safe_filename(name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if self.durable:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, dest)
        return dest

    def results_dir(self, job_id: str) -> Path:
        path = self._job_dir("results", job_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def result_file(self, job_id: str, name: str) -> Path | None:
        """A result file by plain name, or None (never a path outside the job's folder)."""
        if not _SAFE_NAME.match(name):
            return None
        path = self._job_dir("results", job_id) / name
        return path if path.is_file() else None

    def write_result(self, job_id: str, name: str, data: str | bytes) -> Path:
        path = self.results_dir(job_id) / safe_filename(name)
        write_atomic(path, data)
        return path

    def delete(self, job_id: str) -> None:
        """Remove the job's inputs and results (idempotent)."""
        for kind in ("inputs", "results"):
            shutil.rmtree(self._job_dir(kind, job_id), ignore_errors=True)
        log.info("deleted files of %s", job_id)
