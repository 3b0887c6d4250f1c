"""The C allocator of a process that runs jobs: a fixed mmap threshold, and freed memory handed
back when a job ends (glibc only; elsewhere these do nothing).

glibc serves a block from its heap when the block is below its mmap threshold, and it raises
that threshold (and the heap's trim threshold, twice it) to the largest block freed so far, up
to 32 MB. A job frees many blocks of 1-30 MB (video frames, Whisper's features, ONNX Runtime's
tensors: its arena is off), so the heap soon kept up to 64 MB free at its top and holes between.
Setting the threshold fixes both: the trim threshold stays at glibc's 128 KB.

``bench/bench_job.py --minutes 2`` (one run, variants in turn; same transcript and events):

| threshold | CPU | peak RSS (warm) |
|---|---|---|
| glibc's sliding one | 66 s | 709 MB (405) |
| 4 MB | 84 s | 617 MB (353) |
| 12 MB | 75 s | 640 MB (360) |
| 32 MB | 71 s | 646 MB (352) |

Below ~12 MB ONNX Runtime's per-inference tensors are mapped and unmapped on every call (with
1 MB the CPU doubled), hence 32 MB. ``give_back`` after a job makes the warm worker ~50 MB
smaller.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import threading

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # mallopt's parameter numbers (malloc.h)
_lock = threading.Lock()
_tuned: set[int] = set()


@functools.cache
def glibc() -> ctypes.CDLL | None:
    """The process's C library when it is glibc (``mallopt`` and ``malloc_trim``), else None;
    looked up once, on first use (the symbols the process already has: no ``ldconfig`` run)."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def tune_allocator(mmap_threshold_kb: int) -> bool:
    """Map blocks of ``mmap_threshold_kb`` KB and more on their own (0: glibc's sliding default).

    Once per process and value; True when glibc took it.
    """
    libc = glibc()
    if libc is None or mmap_threshold_kb <= 0:
        return False
    with _lock:
        if mmap_threshold_kb in _tuned:
            return True
        ok = bool(libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold_kb * 1024))
        if ok:
            _tuned.add(mmap_threshold_kb)
            log.info("allocator: blocks of %d KB and more mapped on their own", mmap_threshold_kb)
        else:
            log.warning("allocator: glibc refused an mmap threshold of %d KB (at most 32 MB)", mmap_threshold_kb)
        return ok


def give_back() -> int | None:
    """Hand the heap's free memory back to the system (after a job, the worker idles smaller;
    after an OCR read, ``app.stages.ocr``): glibc's answer, 1 when it released memory, else 0;
    None where the C library is not glibc."""
    libc = glibc()
    return None if libc is None else int(libc.malloc_trim(0))
