"""The keeper and the job process of ``lessonlens serve`` (``app.job_process``), in real processes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path
from types import FrameType

import psutil
import pytest

from app import job_process
from app.leader import LOCK_FILE, LeaderLock
from app.settings import Settings
from tests.app.server_proc import wait_for


def test_a_stop_while_the_keeper_starts_the_job_process_is_not_lost(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM to the keeper just after it forked the job process, before that set its own signal
    handlers: the child ran the keeper's handler, which took the signal, so the child kept running
    and the keeper waited for it (``serve`` stopping right after it started, its port in use, hung
    30 s before it killed the keeper, one run in two)."""
    settings = Settings(data_dir=tmp_path / "data")
    held = LeaderLock(settings.data_dir / LOCK_FILE)
    assert held.try_acquire()  # another server's: the job process waits for it, starting nothing
    fork = os.fork

    def slow_fork() -> int:  # the child's first moments, widened
        pid = fork()
        if pid == 0:
            time.sleep(1)
        return pid

    monkeypatch.setattr(os, "fork", slow_fork)
    keeper = multiprocessing.get_context("fork").Process(target=job_process.keep_running, args=(settings,))
    keeper.start()
    try:
        assert keeper.pid is not None
        wait_for(lambda: psutil.Process(keeper.pid).children(), 10, "the keeper to fork the job process",
                 every_s=0.01)
        os.kill(keeper.pid, signal.SIGTERM)
        keeper.join(10)
        assert keeper.exitcode == 0, "the keeper still waits for its job process"
    finally:
        if keeper.exitcode is None and keeper.pid is not None:
            for child in psutil.Process(keeper.pid).children():
                child.kill()
            keeper.kill()
            keeper.join(5)
        held.release()


def test_a_process_whose_parent_ended_before_it_asked_to_end_with_it_is_told(tmp_path: Path) -> None:
    """``die_with_parent`` compares with the parent that forked it, not with the one that adopted it."""
    told = tmp_path / "told"

    def orphan() -> None:
        forked_by = multiprocessing.parent_process()
        assert forked_by is not None
        wait_for(lambda: os.getppid() != forked_by.pid, 10, "the parent to end")
        def on_term(_signum: int, _frame: FrameType | None) -> None:
            told.write_text("SIGTERM")
            os._exit(0)

        signal.signal(signal.SIGTERM, on_term)
        job_process.die_with_parent("lessonlens-test")
        time.sleep(5)

    def parent() -> None:
        multiprocessing.get_context("fork").Process(target=orphan).start()
        os._exit(0)  # before its child asked to end with it

    middle = multiprocessing.get_context("fork").Process(target=parent)
    middle.start()
    middle.join(10)
    wait_for(told.exists, 15, "the orphan to be told its parent ended")
