"""The folder runner (``lessonlens batch`` and ``watch``): a folder tree processed resumably, and a
hot folder that processes arrivals. (API batches are ``app.batches``.)

Every file under the input folder is probed (media is recognised by content, not by name).
Results for ``IN/a/b/talk.mp4`` go to ``OUT/a/b/talk.mp4/``. A file is done when its folder
holds a ``result.json`` whose key (content hash + stages + options) matches: running again skips
it, and redoes it when the file or the options changed. Each file's results are built in a
temporary folder and renamed into place, so an interrupted run loses nothing finished and
leaves nothing half written. Failures are recorded per file (``error.json``, naming the stage
that failed) and never stop the batch; when a stage fails, the stages that finished before it
keep their files in the file's folder beside ``error.json`` (no ``result.json``: the next run
redoes the file).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.model_cache import ModelCache
from app.stages import classify, subtitles
from app.stages.context import StageContext, StageOutcome, dir_mode, write_atomic, write_json
from app.stages.graph import DEFAULT_STAGES, normalise_options, run_stages
from pipelines import media
from pipelines.exceptions import MediaError, PipelineError

log = logging.getLogger(__name__)

MEDIA_SUFFIXES = frozenset(
    ".mp4 .m4v .mov .mkv .webm .avi .wmv .flv .mpg .mpeg .ts .mts .3gp .ogv "
    ".mp3 .wav .m4a .aac .flac .ogg .opus .wma".split()
)
PARTIAL = ".partial-"
RESULT_JSON = "result.json"  # a finished file's folder: every stage's outcome and the batch key
ERROR_JSON = "error.json"  # a failed file's folder: what failed, where, and what finished before
REPORT_FIELDS = ("file", "status", "duration_s", "language", "label", "cues", "seconds", "error")


class FolderError(PipelineError):
    """The batch as a whole cannot run (e.g. the input folder is missing)."""


@dataclass(frozen=True)
class FolderOptions:
    """What to run on every file, and how many files at once."""

    stages: tuple[str, ...] = DEFAULT_STAGES
    stage_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    concurrency: int = 1


@dataclass
class FileReport:
    """One line of the batch report."""

    file: str
    status: str  # done | skipped | failed | not_media | refused (a link leaving the folder) | interrupted
    duration_s: float | None = None
    language: str | None = None
    label: str | None = None
    cues: int | None = None
    seconds: float = 0.0
    error: str | None = None


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def options_key(options: FolderOptions) -> str:
    """What a finished file's results were made with: the planned stages and their normalised
    options (so spelling a default out, or leaving it out, keeps the results).

    Raises:
        OptionsError: an unknown stage or option, or a bad value.
    """
    normalised = normalise_options(list(options.stages), options.stage_options)
    doc = {"stages": sorted(normalised), "options": normalised}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def discover(in_dir: Path, refused: list[tuple[Path, str]] | None = None) -> Iterator[Path]:
    """Every regular file under ``in_dir``, skipping hidden entries and symlinks that leave it.

    Links that are broken or point outside ``in_dir`` are logged and, when ``refused`` is given,
    appended to it with the reason (the API lists them among a batch's rejected files).
    """
    root = in_dir.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            try:
                real = path.resolve(strict=True)
            except OSError:
                log.warning("skipping %s: broken link", path)
                if refused is not None:
                    refused.append((path, "a broken link: it points to nothing"))
                continue
            if not real.is_relative_to(root):
                log.warning("refusing %s: it is a link to %s, outside %s", path, real, root)
                if refused is not None:
                    refused.append((path, "a link to a file outside the folder; links must stay inside it"))
                continue
            if real.is_file():
                yield path


def _summary_fields(report: FileReport, result: Mapping[str, Any]) -> None:
    report.duration_s = result.get("media", {}).get("duration")
    stages = result.get("stages", {})
    sub = stages.get(subtitles.NAME, {}).get("summary", {})
    report.language = sub.get("language")
    report.cues = sub.get("cues")
    report.label = stages.get(classify.NAME, {}).get("summary", {}).get("label")


class FolderRunner:
    """Processes files into an output tree with a shared model cache."""

    def __init__(self, in_dir: Path, out_dir: Path, options: FolderOptions, models: ModelCache) -> None:
        if not in_dir.is_dir():
            raise FolderError(f"{in_dir}: no such folder.")
        self.in_dir = in_dir.resolve()
        self.out_dir = out_dir.resolve()
        if self.out_dir.is_relative_to(self.in_dir):
            raise FolderError(f"the output folder {out_dir} must not be inside the input folder {in_dir}.")
        self.options = options
        self.key = options_key(options)
        self.options_normalised = normalise_options(list(options.stages), options.stage_options)
        self.models = models
        self.stop = threading.Event()

    def target(self, path: Path) -> Path:
        return self.out_dir / path.resolve().relative_to(self.in_dir)

    def clean_partials(self) -> None:
        """Remove temporary folders an interrupted run left."""
        if self.out_dir.is_dir():
            for p in self.out_dir.rglob(f"*{PARTIAL}*"):
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)

    def is_done(self, path: Path, digest: str) -> dict[str, Any] | None:
        result = self.target(path) / RESULT_JSON
        try:
            doc = json.loads(result.read_text())
        except (OSError, ValueError):
            return None
        ok = doc.get("batch", {}).get("sha256") == digest and doc["batch"].get("options_key") == self.key
        return doc if ok else None

    def process(self, path: Path, progress: Callable[[float], None] = lambda f: None) -> FileReport:
        """Process one file (or skip it when done); never raises for a bad file."""
        rel = str(path.resolve().relative_to(self.in_dir))
        report = FileReport(rel, "failed")
        started = time.monotonic()
        target = self.target(path)
        work: Path | None = None
        ctx: StageContext | None = None
        failed: list[str] = []  # the stage that raised, as run_stages reports it

        def on_stage(name: str, state: str, outcome: StageOutcome | None) -> None:
            if state == "failed":
                failed.append(name)

        try:
            digest = file_hash(path)
            done = self.is_done(path, digest)
            if done is not None:
                report.status = "skipped"
                _summary_fields(report, done)
                return report
            try:
                info = media.probe(path)
            except MediaError as err:
                if path.suffix.lower() not in MEDIA_SUFFIXES:
                    report.status, report.error = "not_media", str(err)
                    return report
                raise
            target.parent.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix=f"{target.name}{PARTIAL}", dir=target.parent))
            os.chmod(work, dir_mode())  # mkdtemp's is owner-only; the results are for others too
            ctx = StageContext(media_path=path, out_dir=work, models=self.models, info=info, progress=progress)
            outcomes = run_stages(ctx, list(self.options.stages), self.options_normalised, on_stage)
            result = {
                "media": asdict(info),
                "stages": {name: asdict(o) for name, o in outcomes.items()},
                "batch": {"file": rel, "sha256": digest, "options_key": self.key},
                "seconds": round(time.monotonic() - started, 3),
            }
            write_json(work / RESULT_JSON, result)  # last: marks the folder complete
            _move_into_place(work, target)
            report.status = "done"
            _summary_fields(report, result)
        except (PipelineError, OSError) as err:
            stage = failed[0] if failed else None
            report.status, report.error = "failed", f"stage {stage}: {err}" if stage else str(err)
            log.warning("batch: %s failed: %s", rel, report.error)
            finished = ctx.outputs if ctx is not None else {}
            doc = {"file": rel, "stage": stage, "error": str(err), "options_key": self.key,
                   "stages": {name: asdict(o) for name, o in finished.items()}}
            _record_failure(work, target, doc)
        finally:
            if work is not None and work.exists():  # interrupted: nothing half written is left
                shutil.rmtree(work, ignore_errors=True)
            report.seconds = round(time.monotonic() - started, 3)
        return report

    def run(
        self,
        on_file: Callable[[FileReport], None] = lambda r: None,
        on_start: Callable[[Path], Callable[[float], None]] | None = None,
    ) -> list[FileReport]:
        """Process every file with ``concurrency`` workers; Ctrl-C stops cleanly."""
        self.clean_partials()
        refused: list[tuple[Path, str]] = []
        files = list(discover(self.in_dir, refused))
        # Links that are broken or leave the folder are never read; the report says so.
        turned_away = [FileReport(str(p.relative_to(self.in_dir)), "refused", error=reason) for p, reason in refused]
        reports: dict[Path, FileReport] = {}
        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            futures: dict[Future[FileReport], Path] = {}
            for path in files:
                progress = on_start(path) if on_start else (lambda f: None)
                futures[pool.submit(self._guarded, path, progress)] = path
            try:
                for fut, path in futures.items():
                    reports[path] = fut.result()
                    on_file(reports[path])
            except KeyboardInterrupt:
                self.stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
                for fut, path in futures.items():
                    if path not in reports:
                        done = fut.done() and not fut.cancelled() and fut.exception() is None
                        reports[path] = (
                            fut.result()
                            if done
                            else FileReport(str(path.resolve().relative_to(self.in_dir)), "interrupted")
                        )
                self.write_report([reports[p] for p in files] + turned_away)
                raise
        ordered = [reports[p] for p in files] + turned_away
        self.write_report(ordered)
        return ordered

    def _guarded(self, path: Path, progress: Callable[[float], None]) -> FileReport:
        if self.stop.is_set():
            return FileReport(str(path.resolve().relative_to(self.in_dir)), "interrupted")
        return self.process(path, progress)

    def write_report(self, reports: list[FileReport]) -> None:
        """``batch_report.json`` and ``batch_report.csv`` in the output folder."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        rows = [{k: getattr(r, k) for k in REPORT_FIELDS} for r in reports]
        counts: dict[str, int] = {}
        for r in reports:
            counts[r.status] = counts.get(r.status, 0) + 1
        write_json(
            self.out_dir / "batch_report.json",
            {"input": str(self.in_dir), "options_key": self.key, "counts": counts, "files": rows},
        )
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=REPORT_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
        write_atomic(self.out_dir / "batch_report.csv", buf.getvalue())


def _move_into_place(work: Path, target: Path) -> None:
    """Rename a file's finished work folder to its place, replacing what an earlier run left."""
    if target.exists():
        shutil.rmtree(target)
    os.replace(work, target)


def _record_failure(work: Path | None, target: Path, doc: dict[str, Any]) -> None:
    """Put ``error.json`` in the file's folder. When stages ran, their work folder (with what
    finished before the failure) becomes the file's folder, so nothing finished is lost."""
    try:
        if work is not None and work.is_dir():
            write_json(work / ERROR_JSON, doc)
            _move_into_place(work, target)
            return
    except OSError:
        log.warning("batch: could not keep the finished stages of %s", doc["file"], exc_info=True)
    try:
        target.mkdir(parents=True, exist_ok=True)
        write_json(target / ERROR_JSON, doc)
    except OSError:
        pass


def watch(
    runner: FolderRunner,
    *,
    interval: float = 2.0,
    stable_checks: int = 2,
    on_file: Callable[[FileReport], None] = lambda r: None,
    until: Callable[[], bool] = lambda: False,
) -> None:
    """Process files as they arrive, once their size and mtime stop changing.

    A file is looked at again only when it changes; its outcome is in its output folder
    (``result.json`` when done, ``error.json`` when it failed).
    """
    runner.clean_partials()
    seen: dict[Path, tuple[tuple[int, float], int]] = {}
    handled: dict[Path, tuple[int, float]] = {}
    while not until():
        for path in discover(runner.in_dir):
            try:
                st = path.stat()
            except OSError:
                continue
            sig = (st.st_size, st.st_mtime)
            if handled.get(path) == sig:
                continue
            previous, count = seen.get(path, (None, 0))
            count = count + 1 if previous == sig else 1
            seen[path] = (sig, count)
            if count >= stable_checks and st.st_size > 0:
                report = runner.process(path)
                handled[path] = sig
                log.info(
                    "watch: %s %s%s", report.file, report.status, f" ({report.error})" if report.error else ""
                )
                on_file(report)
        if until():
            break
        time.sleep(interval)
