"""What stages share: atomic writes of result files with the modes the process's umask allows."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.stages import context
from app.stages.context import process_umask, write_atomic, write_json


@pytest.fixture
def group_umask() -> Iterator[int]:
    """The process's umask set to 002 (a team's shared folder) while the test runs, read afresh."""
    previous = os.umask(0o002)
    process_umask.cache_clear()
    yield 0o002
    os.umask(previous)
    process_umask.cache_clear()


def test_the_umask_is_read_from_proc_and_without_it(group_umask: int, monkeypatch: pytest.MonkeyPatch) -> None:
    assert process_umask() == group_umask
    monkeypatch.setattr(context, "_PROC_STATUS", Path("/nonexistent/status"))  # not Linux
    process_umask.cache_clear()
    assert process_umask() == group_umask
    assert os.umask(group_umask) == group_umask  # read, and left as it was


def test_result_files_get_the_mode_the_umask_allows(group_umask: int, tmp_path: Path) -> None:
    write_atomic(tmp_path / "out" / "subtitles.srt", "1\n00:00:00,000 --> 00:00:01,000\nhi\n")
    write_json(tmp_path / "out" / "result.json", {"ok": True})
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "out").iterdir()}
    assert modes == {"subtitles.srt": 0o664, "result.json": 0o664}  # not mkstemp's 0o600
