"""The job process of ``lessonlens serve``: the embedded queue's jobs in a process that serves no HTTP.

With the jobs in one of the HTTP processes, half of that process's GIL time went to the job
threads (py-spy --gil; niceness is per thread, the GIL per process), and 50 clients in step saw
submit p99 140-149 ms. So ``serve`` forks, before uvicorn starts and before it has any thread:

- a *keeper* (``lessonlens-keep``), which starts the job process, starts another when it dies
  (logging how it ended) and, on SIGTERM or SIGINT, stops it and waits for it;
- the *job process* (``lessonlens-jobs``), which takes ``DATA_DIR/leader.lock`` before anything
  else, lowers its own priority (``LESSONLENS_JOB_NICE``, every thread it starts inherits it),
  builds the services as an HTTP process does (``app.services``) and so leads: recovery, the
  worker threads, the outbox relay, the lease reaper and webhook resumption. SIGTERM hands
  running jobs back to the queue (``EmbeddedQueue.stop``).

Both end with their parent (``PR_SET_PDEATHSIG``): a SIGKILLed ``serve`` leaves no job process.
The HTTP processes start once the job process holds the lock, with ``leader_grace_s`` set: a lock
they find free they leave for that long to the job process the keeper starts again, and only when
none takes it does one of them run the jobs, as before.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.context import ForkProcess
from types import FrameType

from app.leader import LOCK_FILE, LeaderLock
from app.metrics import Metrics, process_exited
from app.queue import lower_priority
from app.services import build_services, stop_services
from app.settings import Settings

log = logging.getLogger(__name__)

GRACE_S = 3.0  # the HTTP processes' leader_grace_s: a restarted job process takes the lock in ~0.1 s
LOCK_WAIT_S = 5.0  # how long ``serve`` waits for the job process to hold the lock before it starts HTTP
QUICK_DEATH_S = 30.0  # one that fails (exit code > 0) younger than this again is restarted after a pause
GAUGE_EVERY_S = 1.0  # how often the job process publishes its queue depth and busy workers

_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
_PR_SET_NAME = 15
_PR_SET_PDEATHSIG = 1


def die_with_parent(name: str) -> None:
    """Get SIGTERM when the parent ends, however it ends; name the process (``ps``, ``top``)."""
    # The pid multiprocessing took before the fork: the parent may have ended since (getppid says 1 then).
    started_by = multiprocessing.parent_process()
    parent = (started_by.pid if started_by is not None else None) or os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        libc.prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)
    except (OSError, AttributeError) as e:  # not Linux: the parent's ``finally`` still stops it
        log.warning("%s (pid %d) will not end with its parent if that is killed: %s", name, os.getpid(), e)
    if os.getppid() != parent:  # the parent ended before the signal was asked for
        os.kill(os.getpid(), signal.SIGTERM)


def _describe(exitcode: int | None) -> str:
    if exitcode is None:
        return "no exit code"
    if exitcode < 0:
        return f"killed by {signal.Signals(-exitcode).name}"
    return f"exit code {exitcode}"


def run_jobs(settings: Settings) -> None:
    """The job process: take the leader lock, run the jobs until SIGTERM or SIGINT, hand them back."""
    die_with_parent("lessonlens-jobs")
    stopping = threading.Event()  # no thread yet: an Event is just a flag a signal handler can set
    for signum in _STOP_SIGNALS:
        signal.signal(signum, lambda _signum, _frame: stopping.set())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # held back by the keeper until now
    if stopping.is_set():  # stopped while it started: take no lock, run nothing
        return
    lower_priority(settings.job_nice)  # before any thread: all of this process's threads inherit it
    lock = LeaderLock(settings.data_dir / LOCK_FILE)
    if not lock.try_acquire():
        log.info("job process %d waits for the leader lock (pid %s holds it)", os.getpid(), lock.holder())
        while not lock.try_acquire():
            if stopping.wait(0.1):
                return
    log.info("job process %d started (niceness %d) and holds the leader lock", os.getpid(),
             os.getpriority(os.PRIO_PROCESS, 0))
    metrics = Metrics()
    services = build_services(settings, metrics, leader_lock=lock)
    try:
        while not stopping.wait(GAUGE_EVERY_S):
            metrics.queue_depth.set(services.queue.depth())
            metrics.workers_busy.set(services.queue.busy())
    finally:
        log.info("job process %d stopping: running jobs go back to the queue", os.getpid())
        stop_services(services)
        lock.release()
        log.info("job process %d stopped", os.getpid())


def keep_running(settings: Settings) -> None:
    """The keeper: run ``run_jobs`` in a child and start another when it dies, until told to stop."""
    die_with_parent("lessonlens-keep")
    fork = multiprocessing.get_context("fork")
    stopping = False
    child: ForkProcess | None = None

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.pid is not None and child.exitcode is None:
            os.kill(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    failures = 0
    while not stopping:
        started = time.monotonic()
        child = fork.Process(target=run_jobs, args=(settings,), name="lessonlens-jobs")
        # A stop signal is held back while the child starts: until ``run_jobs`` sets its own
        # handlers the child runs this process's ``stop``, which would take the signal and leave
        # the child running (the keeper then waited for it in vain, and ``serve`` killed it after 30 s).
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            child.start()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        if stopping:  # the signal came while it started
            child.terminate()
        child.join()
        assert child.pid is not None
        process_exited(child.pid)  # its live gauges (queue depth, busy workers) no longer count
        if stopping:
            break
        # A failure at start-up (the store unreachable, say) would fail again at once: pause, more
        # each time. A process killed (the OOM killer, an operator) is replaced at once.
        failed_young = (child.exitcode or 0) > 0 and time.monotonic() - started < QUICK_DEATH_S
        failures = failures + 1 if failed_young else 0
        pause = 0.0 if failures <= 1 else min(30.0, 2.0 ** (failures - 1))
        log.error("job process %d ended (%s); starting another%s", child.pid, _describe(child.exitcode),
                  f" in {pause:.0f} s (it failed {failures} times in a row within {QUICK_DEATH_S:.0f} s "
                  "of starting)" if pause else "")
        deadline = time.monotonic() + pause
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)


class JobProcess:
    """``serve``'s handle on the keeper: ``start`` forks it and waits until the job process holds
    the leader lock; ``stop`` ends both (the job process hands its running jobs back)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._keeper = multiprocessing.get_context("fork").Process(
            target=keep_running, args=(settings,), name="lessonlens-keep")

    def start(self, timeout_s: float = LOCK_WAIT_S) -> bool:
        """Start it; True once some process holds the leader lock, False after ``timeout_s``."""
        started = time.monotonic()
        self._keeper.start()
        lock = LeaderLock(self._settings.data_dir / LOCK_FILE)
        while time.monotonic() - started < timeout_s:
            if not lock.free():
                log.info("job process %s holds the leader lock after %.2f s", lock.holder(),
                         time.monotonic() - started)
                return True
            if self._keeper.exitcode is not None:
                break
            time.sleep(0.01)
        log.error("the job process took no leader lock within %.0f s (keeper: %s); an HTTP process "
                  "runs the jobs after %.0f s; see the log above", timeout_s, _describe(self._keeper.exitcode),
                  GRACE_S)
        return False

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s`` (running jobs are then recovered on the next start)."""
        if self._keeper.pid is None or self._keeper.exitcode is not None:
            return
        self._keeper.terminate()
        self._keeper.join(timeout_s)
        if self._keeper.exitcode is None:
            log.error("the job process did not stop within %.0f s; killing it", timeout_s)
            self._keeper.kill()
            self._keeper.join(5)
