"""Batch and hot-folder processing: discovery, resumability, interruption, bad files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.folders import FolderOptions, FolderRunner, discover, watch
from app.stages.context import process_umask
from pipelines.asr import AsrOptions, Segment, Transcript, Word
from pipelines.exceptions import ModelNotInstalledError

LESSONLENS = str(Path(sys.executable).with_name("lessonlens"))


class FakeEngine:
    name = "fake"
    calls = 0

    def transcribe(self, audio: Any, options: AsrOptions, progress: Any = None, screen: Any = ()) -> Transcript:
        FakeEngine.calls += 1
        words = tuple(Word(0.5 + i * 0.4, 0.8 + i * 0.4, f" word{i}", 0.9) for i in range(5))
        return Transcript((Segment(0.5, 2.5, "", words),), "en", 1.0, 3.0, "fake")


class FakeModels:
    def whisper(self, name: str, engine: str = "faster-whisper", threads: int = 0) -> FakeEngine:
        return FakeEngine()


@pytest.fixture
def folder(tmp_path: Path, samples: Path) -> Path:
    src = tmp_path / "in"
    (src / "course" / "week1").mkdir(parents=True)
    shutil.copy(samples / "lesson.mp4", src / "course" / "week1" / "intro.mp4")
    shutil.copy(samples / "lesson.mp4", src / "course" / "lesson-copy.MOV")  # found by content, not name
    shutil.copy(samples / "silent.mp4", src / "course" / "silent.mp4")
    data = (samples / "lesson.mp4").read_bytes()
    (src / "course" / "broken.mp4").write_bytes(data[: len(data) // 3])
    (src / "course" / "syllabus.txt").write_text("Week 1: introduction\n")
    outside = tmp_path / "secret.mp4"
    shutil.copy(samples / "silent.mp4", outside)
    os.symlink(outside, src / "course" / "escape.mp4")
    return src


def runner(src: Path, out: Path) -> FolderRunner:
    return FolderRunner(src, out, FolderOptions(), FakeModels())  # type: ignore[arg-type]


def test_discover_refuses_links_out_of_the_folder(folder: Path) -> None:
    names = sorted(p.name for p in discover(folder))
    assert names == ["broken.mp4", "intro.mp4", "lesson-copy.MOV", "silent.mp4", "syllabus.txt"]


def test_batch_reports_every_file_and_mirrors_results(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    reports = {r.file: r for r in runner(folder, out).run()}
    assert reports["course/week1/intro.mp4"].status == "done"
    assert reports["course/lesson-copy.MOV"].status == "done"
    assert reports["course/silent.mp4"].status == "done"
    assert reports["course/broken.mp4"].status == "failed"
    assert "truncated" in (reports["course/broken.mp4"].error or "")
    assert reports["course/syllabus.txt"].status == "not_media"
    assert reports["course/escape.mp4"].status == "refused"  # a link out of the folder: never read
    assert "outside the folder" in (reports["course/escape.mp4"].error or "")
    assert not (out / "course" / "escape.mp4").exists()
    assert (out / "course" / "week1" / "intro.mp4" / "subtitles.srt").is_file()
    assert (out / "course" / "broken.mp4" / "error.json").is_file()
    report = json.loads((out / "batch_report.json").read_text())
    assert report["counts"] == {"done": 3, "failed": 1, "not_media": 1, "refused": 1}
    csv_lines = (out / "batch_report.csv").read_text().splitlines()
    assert csv_lines[0].startswith("file,status,duration_s,language,label")
    assert len(csv_lines) == 7


def test_rerun_skips_done_and_redoes_changed(folder: Path, tmp_path: Path, samples: Path) -> None:
    out = tmp_path / "out"
    runner(folder, out).run()
    FakeEngine.calls = 0
    again = {r.file: r.status for r in runner(folder, out).run()}
    assert again["course/week1/intro.mp4"] == "skipped"
    assert FakeEngine.calls == 0
    shutil.copy(samples / "silent.mp4", folder / "course" / "week1" / "intro.mp4")  # content changed
    changed = {r.file: r.status for r in runner(folder, out).run()}
    assert changed["course/week1/intro.mp4"] == "done"
    assert changed["course/lesson-copy.MOV"] == "skipped"


def test_changed_options_redo_the_work(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner(folder, out).run()
    options = FolderOptions(stage_options={"subtitles": {"profile": "bbc"}})
    redo = FolderRunner(folder, out, options, FakeModels())  # type: ignore[arg-type]
    assert {r.file: r.status for r in redo.run()}["course/week1/intro.mp4"] == "done"


class NoClassifierModels(FakeModels):
    def classifier(self) -> Any:
        raise ModelNotInstalledError("the classifier head is missing; run `lessonlens models pull`.")


def test_a_failed_stage_keeps_the_finished_ones_beside_an_error_naming_it(tmp_path: Path, samples: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    shutil.copy(samples / "lesson.mp4", src / "talk.mp4")
    options = FolderOptions(stages=("subtitles", "classify"))
    failing = FolderRunner(src, out, options, NoClassifierModels())  # type: ignore[arg-type]
    [report] = failing.run()
    assert report.status == "failed"
    assert (report.error or "").startswith("stage classify: ")
    folder = out / "talk.mp4"
    error = json.loads((folder / "error.json").read_text())
    assert error["stage"] == "classify"
    assert "classifier head is missing" in error["error"]
    assert list(error["stages"]) == ["subtitles"]
    for name in error["stages"]["subtitles"]["files"]:  # the finished stage's files are all there
        assert (folder / name).stat().st_size > 0
    assert not (folder / "result.json").exists()  # not done: the next run redoes it
    assert not list(out.rglob("*.partial-*"))
    [again] = FolderRunner(src, out, options, NoClassifierModels()).run()  # type: ignore[arg-type]
    assert again.status == "failed"


def test_results_are_readable_as_the_umask_allows(tmp_path: Path, samples: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    shutil.copy(samples / "lesson.mp4", src / "talk.mp4")
    previous = os.umask(0o002)  # a team's shared folder
    process_umask.cache_clear()
    try:
        [report] = runner(src, out).run()
    finally:
        os.umask(previous)
        process_umask.cache_clear()
    assert report.status == "done"
    folder = out / "talk.mp4"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o775  # not mkdtemp's 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o664}  # not mkstemp's 0o600


def test_output_inside_input_is_refused(folder: Path) -> None:
    from app.folders import FolderError

    with pytest.raises(FolderError, match="must not be inside"):
        runner(folder, folder / "out")


def test_watch_processes_a_slowly_written_file_once(tmp_path: Path, samples: Path) -> None:
    src, out = tmp_path / "hot", tmp_path / "out"
    src.mkdir()
    data = (samples / "lesson.mp4").read_bytes()
    target = src / "arriving.mp4"
    handled: list[Any] = []
    writes = iter(range(0, len(data), len(data) // 4))

    def step() -> bool:  # the folder poller's stop check doubles as the slow writer
        offset = next(writes, None)
        if offset is not None:
            with open(target, "ab") as f:
                f.write(data[offset : offset + len(data) // 4])
        return bool(handled)

    watch(runner(src, out), interval=0.05, stable_checks=3, on_file=handled.append, until=step)
    assert [(r.file, r.status) for r in handled] == [("arriving.mp4", "done")]
    assert target.stat().st_size == len(data)


@pytest.mark.slow
def test_cli_batch_interrupt_then_resume(folder: Path, tmp_path: Path, model_dir: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "LESSONLENS_MODEL_DIR": str(model_dir)}
    proc = subprocess.Popen(
        [LESSONLENS, "batch", str(folder), "--out", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(out.rglob("result.json")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert not list(out.rglob("*.partial-*")), "an interrupted run left half-written output"
    finished = {p.parent for p in out.rglob("result.json")}
    assert finished, stderr
    for folder_done in finished:  # every file a finished result names is there, whole
        result = json.loads((folder_done / "result.json").read_text())
        for name in result["stages"]["subtitles"]["files"]:
            assert (folder_done / name).stat().st_size > 0
    resumed = subprocess.run(
        [LESSONLENS, "batch", str(folder), "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert resumed.returncode == 1  # one corrupt file in the folder
    report = json.loads((out / "batch_report.json").read_text())
    statuses = {f["file"]: f["status"] for f in report["files"]}
    assert statuses["course/broken.mp4"] == "failed"
    assert sum(s == "skipped" for s in statuses.values()) >= len(finished)
    assert statuses["course/escape.mp4"] == "refused"
    assert {s for f, s in statuses.items() if f.endswith((".mp4", ".MOV")) and f != "course/escape.mp4"
            and "broken" not in f} <= {
        "done",
        "skipped",
    }
    intro = json.loads((out / "course" / "week1" / "intro.mp4" / "result.json").read_text())
    assert intro["stages"]["subtitles"]["summary"]["language"] == "en"
