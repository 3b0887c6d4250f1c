"""Which process of an embedded server runs the jobs: the holder of a lock file in the data folder.

``lessonlens serve --workers N`` starts N HTTP processes over one SQLite store. Every process
answers requests and stores jobs; exactly one, the leader, also runs the job workers, recovery,
the reaper and webhook resumption (``app.queue.EmbeddedQueue``). The leader is whoever holds an
exclusive ``flock`` on ``DATA_DIR/leader.lock``. The kernel releases the lock when its process
ends, however it ends (``kill -9`` included), so a lock that can be taken means no leader is
alive: the other processes try it every ``poll_s`` and the first to get it takes over.

``serve`` runs the jobs in a process of its own that serves no HTTP (``app.job_process``): it
takes the lock before the HTTP processes start, and they, started with a ``grace_s``, leave a
lock they find free for that long to the job process that ``serve`` starts again; only when none
takes it does one of them run the jobs.

A frozen leader (SIGSTOP) keeps the lock and so its role; the distributed setup (leases reaped by
any process) is the answer where that matters.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_FILE = "leader.lock"


class LeaderLock:
    """An exclusive, non-blocking ``flock`` on a file; the holder writes its pid into it.

    Locks belong to an open file: two ``LeaderLock`` objects of one process exclude each other too.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this object holds it now."""
        if self._fd is not None:
            return True
        fd = self._lock_fd()
        if fd is None:
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return True

    def free(self) -> bool:
        """Whether no process holds the lock now. Tests it by taking and releasing it at once,
        the pid of the holder left as it was; one taking it meanwhile finds it held (and tries
        again: a leader-to-be polls)."""
        if self._fd is not None:
            return False
        fd = self._lock_fd()
        if fd is None:
            return False
        os.close(fd)
        return True

    def _lock_fd(self) -> int | None:
        """A new descriptor of the file, locked; None when another holds the lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    def holder(self) -> int | None:
        """The pid the last leader wrote (it may have died since)."""
        try:
            return int(self.path.read_text().strip() or 0) or None
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        os.close(fd)  # closing the only descriptor of the open file releases its flock


class Leadership:
    """Tries the lock now, then every ``poll_s`` on a thread until it wins; on winning calls
    ``take_over`` once. ``stop`` calls ``hand_back`` (when this process leads) and then
    releases the lock, so another process takes over only after this one stopped its jobs.

    With ``grace_s``, the lock is taken only once it has been found free for that long (the job
    process of ``serve`` restarted meanwhile takes it first)."""

    def __init__(self, lock: LeaderLock, take_over: Callable[[], None], hand_back: Callable[[], None], *,
                 poll_s: float = 0.5, grace_s: float = 0.0) -> None:
        self._lock = lock
        self._take_over = take_over
        self._hand_back = hand_back
        self._poll_s = poll_s
        self._grace_s = grace_s
        self._free_since: float | None = None
        self._stop = threading.Event()
        self._guard = threading.Lock()  # a take-over and a stop never interleave
        self._thread: threading.Thread | None = None
        self.leader_seen = False  # the last try found the lock held elsewhere: a leader is alive

    @property
    def leading(self) -> bool:
        return self._lock.held

    def start(self) -> None:
        """Try once now (a lone server leads before it answers), then keep trying in the background."""
        if self._try():
            return
        if self.leader_seen:
            log.info("process %d follows: the leader (pid %s) runs the jobs", os.getpid(), self._lock.holder())
        self._thread = threading.Thread(target=self._run, name="leader-election", daemon=True)
        self._thread.start()

    def _try(self) -> bool:
        with self._guard:
            if self._stop.is_set():
                return False
            if self._grace_s and not self._lock.held and not self._grace_over():
                return False
            if not self._lock.try_acquire():
                self.leader_seen = True
                return False
            self.leader_seen = False
            log.info("process %d leads: it runs the jobs, recovery and webhooks", os.getpid())
            try:
                self._take_over()
            except BaseException:
                self._lock.release()  # leave the role to a process that can fill it
                raise
            return True

    def _grace_over(self) -> bool:
        """Whether the lock has been free for ``grace_s`` (checked each poll)."""
        if not self._lock.free():
            self.leader_seen, self._free_since = True, None
            return False
        self.leader_seen = False
        now = time.monotonic()
        if self._free_since is None:
            self._free_since = now
            log.info("process %d found the leader lock free: it takes it in %.1f s unless the job "
                     "process does", os.getpid(), self._grace_s)
        return now - self._free_since >= self._grace_s

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            try:
                if self._try():
                    return
            except Exception:
                log.exception("taking over as leader failed; trying again")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self._guard:
            if self._lock.held:
                try:
                    self._hand_back()
                finally:
                    self._lock.release()
