"""Job threads run at a lower priority than the HTTP threads of the same process, and what they
start (threads, programs) inherits it (``app.queue.lower_priority``, ``LESSONLENS_JOB_NICE``)."""

from __future__ import annotations

import os
import subprocess
import threading

from app.queue import lower_priority


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _in_thread(nice: int) -> dict[str, int]:
    seen: dict[str, int] = {}

    def job() -> None:
        lower_priority(nice)
        seen["job"] = _nice()
        child = threading.Thread(target=lambda: seen.__setitem__("child", _nice()))
        child.start()
        child.join()
        out = subprocess.run(["sh", "-c", "cut -d' ' -f19 /proc/self/stat"], capture_output=True, text=True,
                             check=True)
        seen["program"] = int(out.stdout)

    thread = threading.Thread(target=job)
    thread.start()
    thread.join()
    return seen


def test_a_job_thread_and_what_it_starts_run_niced_while_the_server_thread_does_not() -> None:
    before = _nice()
    seen = _in_thread(before + 7)
    assert seen == {"job": before + 7, "child": before + 7, "program": before + 7}
    assert _nice() == before  # the calling (HTTP) thread keeps its priority


def test_zero_leaves_the_priority_and_a_lower_value_never_raises_it() -> None:
    before = _nice()
    assert _in_thread(0)["job"] == before
    seen: list[int] = []

    def already_niced() -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), before + 5)
        lower_priority(before + 2)
        seen.append(_nice())

    thread = threading.Thread(target=already_niced)
    thread.start()
    thread.join()
    assert seen == [before + 5]
