"""The allocator of a process that runs jobs (``app.allocator``): large blocks go back to the
system when freed, and what a job freed in the heap goes back when it ends. Measured on the
resident memory of a fresh Python process, with glibc's own sliding threshold as the baseline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.allocator import give_back, glibc, tune_allocator

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(glibc() is None, reason="not glibc: app.allocator does nothing here")

# A job's pattern: one large block freed (glibc then serves blocks up to its size from the heap),
# then frames of a few MB, a small object allocated after them, and the frames freed.
SCRIPT = """
import sys
import numpy as np
from app.allocator import give_back, tune_allocator

def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20

if sys.argv[1] == "tuned":
    assert tune_allocator(1024)
first = np.ones(16_000_000, np.uint8)
del first
frames = [np.ones(3_000_000 + 4096 * i, np.uint8) for i in range(10)]
pinned = [bytearray(64) for _ in range(1000)]
before = rss_mb()
del frames
freed = rss_mb()
give_back()
print(before, freed, rss_mb())
"""


def _run(mode: str) -> tuple[float, float, float]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    before, freed, trimmed = (float(v) for v in out.stdout.split())
    return before, freed, trimmed


def test_large_blocks_go_back_to_the_system_as_they_are_freed_once_tuned() -> None:
    before, freed, _ = _run("sliding")
    assert before - freed < 10, "glibc's sliding threshold kept the frames in the heap (the baseline)"
    before, freed, _ = _run("tuned")
    assert before - freed > 25, f"30 MB of frames freed, {before - freed:.0f} MB went back"


def test_giving_back_after_a_job_returns_what_the_heap_kept() -> None:
    _, freed, trimmed = _run("sliding")
    assert freed - trimmed > 25, f"30 MB of frames freed in the heap, {freed - trimmed:.0f} MB went back"


def test_a_threshold_is_set_once_and_zero_leaves_glibc_alone() -> None:
    assert tune_allocator(0) is False
    assert tune_allocator(32768) is True  # the default (a smaller one here would slow the other tests)
    assert tune_allocator(32768) is True  # again: nothing to do
    give_back()  # harmless at any time
