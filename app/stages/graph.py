"""The stage graph: which stages exist, what each needs, and how a job's stages run.

Adding a stage is one module under ``app/stages/`` (its name, options, file names and runner,
ending in a ``STAGE``) plus one line in ``STAGES`` below. The CLI, the job API, the folder
runner and the web page (through ``GET /v1/stages``) read names and options from here.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any

from app.allocator import give_back
from app.stages import classify, fit, ocr, subtitles
from app.stages.context import Stage, StageAborted, StageContext, StageOutcome
from pipelines.demux import MediaPass
from pipelines.exceptions import MediaError, OptionsError
from pipelines.screen_feed import ScreenFeed, ScreenFeedFailed

__all__ = ["DEFAULT_STAGES", "STAGES", "normalise_options", "plan", "run_stages", "stage", "validate_options"]

# Registry order is a valid topological order (a stage comes after what it needs or uses).
STAGES: dict[str, Stage[Any]] = {  # Any: each stage has its own options type
    s.name: s
    for s in (
        ocr.STAGE,  # before subtitles, which offers its on-screen text to Whisper (read as it is made)
        subtitles.STAGE,
        classify.STAGE,
        fit.STAGE,
    )
}

DEFAULT_STAGES: tuple[str, ...] = (subtitles.NAME,)  # what a request that names none runs

OnStage = Callable[[str, str, StageOutcome | None], None]
OnProgress = Callable[[str, float], None]


def stage(name: str) -> Stage[Any]:
    """The stage called ``name`` (raises OptionsError naming the valid ones)."""
    if name not in STAGES:
        raise OptionsError(f"Unknown stage {name!r}. Valid stages: {', '.join(STAGES)}.")
    return STAGES[name]


def validate_options(name: str, options: Mapping[str, object]) -> None:
    """Parse a stage's options as its runner will, without running it (raises OptionsError)."""
    stage(name).parse(options)


def normalise_options(stages: list[str],
                      options: Mapping[str, Mapping[str, object]]) -> dict[str, dict[str, object]]:
    """Canonical options of each planned stage (defaults filled in), as a job stores them.

    Raises:
        OptionsError: an unknown stage or option, or a bad value.
    """
    return {name: stage(name).normalise(options.get(name, {})) for name in plan(stages)}


def plan(requested: list[str] | tuple[str, ...]) -> list[str]:
    """Requested stages plus what they need, in dependency order.

    Raises:
        OptionsError: for an unknown stage name or an empty request.
    """
    if not requested:
        raise OptionsError(f"No stages requested. Valid stages: {', '.join(STAGES)}.")
    order: list[str] = []
    wanted = set(requested)

    def visit(name: str) -> None:
        node = stage(name)
        if name in order:
            return
        for dep in node.needs:
            visit(dep)
        for dep in node.uses:  # optional inputs run first when they were requested too
            if dep in wanted:
                visit(dep)
        order.append(name)

    for name in STAGES:  # registry order first: keeps the output stable
        if name in wanted:
            visit(name)
    for name in requested:
        visit(name)
    return order


def run_stages(
    ctx: StageContext,
    stages: list[str],
    options: Mapping[str, Mapping[str, object]],
    on_stage: OnStage = lambda name, state, outcome: None,
    *,
    on_progress: OnProgress | None = None,
    overlap: bool = True,
    threads: int = 0,
) -> dict[str, StageOutcome]:
    """Run a job's stages, each as soon as what it needs exists; with ``overlap``, stages that do
    not need each other (``subtitles`` and ``ocr``) run at the same time.

    ``on_stage(name, state, outcome)`` reports ``running`` and ``done`` (with the outcome), and
    when a stage raises, ``failed`` for it and ``stopped`` for each stage stopped because of it;
    ``on_progress(name, fraction)`` reports each stage's progress (default: ``ctx.progress``).
    ``threads`` is the job's CPU budget (0: the machine's cores), shared out between the stages
    running at once (CTranslate2 and ONNX Runtime threads; with one stage running, the engines'
    own default). A stage's exception stops the others at their next progress report and is
    raised once they ended; finished stages' outcomes stay in ``ctx.outputs``.
    """
    report = on_progress or (lambda name, fraction: ctx.progress(fraction))
    return _Run(ctx, plan(stages), options, on_stage, report, overlap, threads or os.cpu_count() or 1).run()


class _Run:
    """One job's stage graph in flight: starts what is ready, collects outcomes, stops on error."""

    def __init__(self, ctx: StageContext, order: list[str], options: Mapping[str, Mapping[str, object]],
                 on_stage: OnStage, report: OnProgress, overlap: bool, cores: int) -> None:
        self.ctx, self.order, self.options = ctx, order, options
        self.on_stage, self.report, self.overlap, self.cores = on_stage, report, overlap, cores
        self.abort = threading.Event()
        self.error: BaseException | None = None
        self.failed: str | None = None
        self.stop_error: tuple[str, BaseException] | None = None
        live = {dep for name in order for dep in STAGES[name].overlaps if dep in order} if overlap else set()
        self.live = live  # stages read while they run
        self.feed = ScreenFeed() if live else None
        self.media = self._media_pass() if overlap else None
        self.active: set[str] = set()  # stages running now (their threads started, not ended)

    def _media_pass(self) -> MediaPass | None:
        """One pass over the file for the stages that decode it, when more than one does."""
        readers = [STAGES[name].reads for name in self.order if STAGES[name].reads]
        if len(readers) < 2:
            return None
        try:
            return MediaPass(self.ctx.media_path, {track for reads in readers for track in reads})
        except MediaError:  # not readable: each stage says so in its own words
            return None

    def _ready(self, name: str, done: set[str], running: set[str]) -> bool:
        node = STAGES[name]
        inputs = (set(node.needs) | set(node.uses)) & set(self.order)
        if not self.overlap:
            return not running and inputs <= done
        return inputs - (set(node.overlaps) & self.live) <= done

    def _context(self, name: str, threads: int) -> StageContext:
        def progress(fraction: float) -> None:
            if self.abort.is_set():
                raise StageAborted(f"stopped: stage {self.failed} ended first" if self.failed else "stopped")
            self.report(name, fraction)

        reads_live = name in self.live or bool(set(STAGES[name].overlaps) & self.live)
        return replace(self.ctx, progress=progress, threads=threads, screen=self.feed if reads_live else None,
                       media=self.media if STAGES[name].reads else None,
                       spare_cores=lambda: self._spare_cores(name) if threads else 0)

    def _spare_cores(self, name: str) -> int:
        """The cores of the job that neither ``name`` nor another running stage uses now: a stage
        waiting on the screen feed (Whisper waiting for OCR to pass its next stretch) uses none."""
        others = len(self.active - {name})
        if self.feed is not None:
            others -= self.feed.readers_waiting
        return max(0, self.cores - 1 - max(0, others))

    def _one(self, name: str, threads: int) -> StageOutcome:
        started = time.monotonic()
        feed = self.feed if name in self.live else None
        self.active.add(name)
        try:
            outcome = STAGES[name].run(self._context(name, threads), self.options.get(name, {}))
        except BaseException:
            if feed is not None:  # its readers stop waiting now, not at their next progress report
                feed.fail(f"stage {name} failed")
            raise
        finally:
            self.active.discard(name)
            if self.media is not None:
                for track in STAGES[name].reads:
                    self.media.release(track)  # the pass keeps nothing more for it
        if feed is not None:
            feed.close(())  # ended without text (skipped); a no-op after the stage closed it with its events
        return replace(outcome, seconds=round(time.monotonic() - started, 3))

    def _fail(self, name: str, err: BaseException) -> None:
        if self.error is None:
            self.error, self.failed = err, name
            self.abort.set()
            if self.feed is not None:
                self.feed.fail(f"stage {name} failed")

    def run(self) -> dict[str, StageOutcome]:
        try:
            return self._run()
        finally:
            if self.media is not None:
                self.media.close()
            give_back()  # what the job freed, back to the system while the worker waits for the next

    def _run(self) -> dict[str, StageOutcome]:
        pending, done, stopped = list(self.order), set[str](), list[str]()
        running: dict[Future[StageOutcome], str] = {}
        with ThreadPoolExecutor(max_workers=len(self.order), thread_name_prefix="stage") as pool:
            try:
                while pending or running:
                    self._start_ready(pool, pending, done, running)
                    if not running:
                        break
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        name = running.pop(future)
                        self._collect(name, future, done, stopped)
            except BaseException:  # an interrupt (Ctrl-C) in this thread: the stages stop at their next report
                self.abort.set()
                if self.feed is not None:
                    self.feed.fail("the job was interrupted")
                raise
        if self.error is None and self.stop_error is not None:
            self.failed, self.error = self.stop_error
            stopped.remove(self.failed)
        if self.error is not None:
            assert self.failed is not None
            self.on_stage(self.failed, "failed", None)
            for name in stopped:
                self.on_stage(name, "stopped", None)
            raise self.error
        return self.ctx.outputs

    def _start_ready(self, pool: ThreadPoolExecutor, pending: list[str], done: set[str],
                     running: dict[Future[StageOutcome], str]) -> None:
        if self.error is not None or self.abort.is_set():
            return
        ready = [n for n in pending if self._ready(n, done, set(running.values()))]
        at_once = len(running) + len(ready)
        share = max(1, self.cores // at_once) if at_once > 1 else 0  # alone: the engines' default
        for name in ready:
            pending.remove(name)
            try:
                self.on_stage(name, "running", None)
            except BaseException as err:  # a cancel found while marking it running
                self._fail(name, err)
                return
            running[pool.submit(self._one, name, share)] = name

    def _collect(self, name: str, future: Future[StageOutcome], done: set[str], stopped: list[str]) -> None:
        try:
            outcome = future.result()
        except (StageAborted, ScreenFeedFailed) as err:
            # Stopped because of another stage, whose own error may not be collected yet: that
            # one is the job's error. Only when none comes is this one.
            stopped.append(name)
            self.stop_error = self.stop_error or (name, err)
            self.abort.set()
            return
        except BaseException as err:
            if self.error is None:
                self._fail(name, err)
            else:
                stopped.append(name)  # it failed too, after the first error: report it stopped
            return
        self.ctx.outputs[name] = outcome
        done.add(name)
        try:
            self.on_stage(name, "done", outcome)
        except BaseException as err:  # a cancel found while recording it
            self._fail(name, err)
