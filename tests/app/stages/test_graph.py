"""The stage graph: the registry, planning, normalising options, running in order."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from app.jobs import StageStatus
from app.stages import subtitles
from app.stages.context import NoOptions, Stage, StageAborted, StageContext, StageOutcome
from app.stages.graph import DEFAULT_STAGES, STAGES, normalise_options, plan, run_stages, validate_options
from pipelines.exceptions import MediaError, OptionsError


def test_plan_validates_names() -> None:
    assert plan(["subtitles"]) == ["subtitles"]
    assert plan(["fit"]) == ["subtitles", "fit"]
    order = plan(["classify", "ocr"])
    assert sorted(order) == ["classify", "ocr", "subtitles"] and order[-1] == "classify"
    with pytest.raises(OptionsError, match="Unknown stage 'transcribe'"):
        plan(["transcribe"])
    with pytest.raises(OptionsError, match="No stages requested"):
        plan([])


def test_registry_order_is_a_run_order_and_names_match_modules() -> None:
    seen: set[str] = set()
    for name, stage in STAGES.items():
        assert stage.name == name
        assert set(stage.needs) | set(stage.uses) <= seen, name  # what it needs or uses comes first
        seen.add(name)
    assert set(DEFAULT_STAGES) <= set(STAGES)


def test_normalised_options_fill_defaults_and_are_stable() -> None:
    once = normalise_options(["fit"], {"subtitles": {"beam_size": "3"}, "fit": {"lm": "never"}})
    assert list(once) == ["subtitles", "fit"]  # every planned stage, in order
    assert once["subtitles"]["beam_size"] == 3 and once["subtitles"]["profile"] == subtitles.AUTO_PROFILE
    assert once["fit"]["lm"] == "never" and once["fit"]["language"] is None
    assert normalise_options(["fit"], once) == once  # canonical: parsing it again changes nothing


def test_validate_options_names_the_valid_stages() -> None:
    validate_options("subtitles", {"language": "de"})
    with pytest.raises(OptionsError, match="Valid stages: ocr, subtitles, classify, fit"):
        validate_options("nope", {})


def test_every_stage_describes_its_options() -> None:
    for stage in STAGES.values():
        info = stage.describe()
        assert info["name"] == stage.name and info["description"]
        names = [o["name"] for o in info["options"]]  # type: ignore[attr-defined]
        assert names and not set(names) & stage.fixed


def test_run_stages_reports_and_times_each_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def done(ctx: StageContext, options: NoOptions) -> StageOutcome:
        return StageOutcome(StageStatus.SUCCEEDED, {"ran": True})

    monkeypatch.setitem(STAGES, "subtitles", Stage("subtitles", lambda: NoOptions, done))
    states: list[tuple[str, str]] = []
    ctx = StageContext(media_path=tmp_path / "x.mp4", out_dir=tmp_path, models=None)  # type: ignore[arg-type]
    outcomes = run_stages(ctx, ["subtitles"], {}, lambda n, s, o: states.append((n, s)))
    assert states == [("subtitles", "running"), ("subtitles", "done")]
    assert outcomes["subtitles"].status is StageStatus.SUCCEEDED and outcomes["subtitles"].seconds >= 0
    assert ctx.outputs == outcomes


def _fake_graph(monkeypatch: pytest.MonkeyPatch, ocr_run: Any, subtitles_run: Any) -> list[str]:
    """ocr, subtitles (reads ocr live) and classify (needs both), with these runners."""
    log: list[str] = []

    def classify_run(ctx: StageContext, options: NoOptions) -> StageOutcome:
        log.append(f"classify after {sorted(ctx.outputs)}")
        return StageOutcome(StageStatus.SUCCEEDED, {})

    monkeypatch.setitem(STAGES, "ocr", Stage("ocr", lambda: NoOptions, ocr_run))
    monkeypatch.setitem(STAGES, "subtitles", Stage("subtitles", lambda: NoOptions, subtitles_run,
                                                   uses=("ocr",), overlaps=("ocr",)))
    monkeypatch.setitem(STAGES, "classify", Stage("classify", lambda: NoOptions, classify_run,
                                                  needs=("subtitles",), uses=("ocr",)))
    return log


def test_subtitles_and_ocr_run_at_once_with_a_share_of_the_threads(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    both = threading.Barrier(2, timeout=10)  # each waits for the other: only passes when they overlap
    seen: dict[str, tuple[int, bool]] = {}

    def ocr_run(ctx: StageContext, options: NoOptions) -> StageOutcome:
        both.wait()
        assert ctx.screen is not None
        ctx.progress(0.5)
        ctx.screen.close([])
        seen["ocr"] = (ctx.threads, True)
        return StageOutcome(StageStatus.SUCCEEDED, {})

    def subtitles_run(ctx: StageContext, options: NoOptions) -> StageOutcome:
        both.wait()
        assert ctx.screen is not None
        ctx.screen.wait(float("inf"))  # the live feed: answered when ocr closes it
        seen["subtitles"] = (ctx.threads, True)
        return StageOutcome(StageStatus.SUCCEEDED, {})

    log = _fake_graph(monkeypatch, ocr_run, subtitles_run)
    progress: list[tuple[str, float]] = []
    states: list[tuple[str, str]] = []
    ctx = StageContext(media_path=tmp_path / "x.mp4", out_dir=tmp_path, models=None)  # type: ignore[arg-type]
    run_stages(ctx, ["classify", "ocr"], {}, lambda n, s, o: states.append((n, s)),
               on_progress=lambda n, f: progress.append((n, f)), threads=4)
    assert seen == {"ocr": (2, True), "subtitles": (2, True)}  # 4 threads shared out
    assert log == ["classify after ['ocr', 'subtitles']"]  # classify waited for both
    assert progress == [("ocr", 0.5)]
    assert states[:2] == [("ocr", "running"), ("subtitles", "running")] and states[-1] == ("classify", "done")


def test_a_stage_is_lent_the_cores_another_leaves_idle_while_it_waits_on_the_feed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    both = threading.Barrier(2, timeout=10)
    measured = threading.Event()
    spare: dict[str, int] = {}

    def ocr_run(ctx: StageContext, options: NoOptions) -> StageOutcome:
        both.wait()
        spare["both busy"] = ctx.spare_cores()
        measured.set()
        assert ctx.screen is not None
        deadline = time.monotonic() + 10
        while ctx.screen.readers_waiting == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        spare["subtitles waiting"] = ctx.spare_cores()
        ctx.screen.close([])
        while "subtitles" not in spare and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)  # subtitles has returned: its thread is no longer counted
        spare["subtitles done"] = ctx.spare_cores()
        return StageOutcome(StageStatus.SUCCEEDED, {})

    def subtitles_run(ctx: StageContext, options: NoOptions) -> StageOutcome:
        both.wait()
        assert ctx.screen is not None and measured.wait(10)  # busy (not waiting) until ocr has looked
        ctx.screen.wait(float("inf"))
        spare["subtitles"] = ctx.spare_cores()
        return StageOutcome(StageStatus.SUCCEEDED, {})

    _fake_graph(monkeypatch, ocr_run, subtitles_run)
    ctx = StageContext(media_path=tmp_path / "x.mp4", out_dir=tmp_path, models=None)  # type: ignore[arg-type]
    run_stages(ctx, ["classify", "ocr"], {}, threads=2)
    assert spare == {"both busy": 0, "subtitles waiting": 1, "subtitles": 0, "subtitles done": 1}


def test_without_overlap_the_stages_run_one_after_another(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []

    def runner(name: str) -> Any:
        def run(ctx: StageContext, options: NoOptions) -> StageOutcome:
            order.append(f"{name} start")
            assert ctx.screen is None and ctx.threads == 0
            time.sleep(0.05)
            order.append(f"{name} end")
            return StageOutcome(StageStatus.SUCCEEDED, {})

        return run

    _fake_graph(monkeypatch, runner("ocr"), runner("subtitles"))
    ctx = StageContext(media_path=tmp_path / "x.mp4", out_dir=tmp_path, models=None)  # type: ignore[arg-type]
    run_stages(ctx, ["subtitles", "ocr"], {}, overlap=False)
    assert order == ["ocr start", "ocr end", "subtitles start", "subtitles end"]


def test_a_failing_stage_stops_the_one_beside_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stopped = threading.Event()

    def ocr_run(ctx: StageContext, options: NoOptions) -> StageOutcome:
        time.sleep(0.1)
        raise MediaError("the video stream is corrupt")

    def subtitles_run(ctx: StageContext, options: NoOptions) -> StageOutcome:
        deadline = time.monotonic() + 10
        try:
            while time.monotonic() < deadline:  # a long decode that reports progress
                ctx.progress(0.1)
                time.sleep(0.01)
        except StageAborted:
            stopped.set()
            raise
        return StageOutcome(StageStatus.SUCCEEDED, {})

    log = _fake_graph(monkeypatch, ocr_run, subtitles_run)
    states: list[tuple[str, str]] = []
    ctx = StageContext(media_path=tmp_path / "x.mp4", out_dir=tmp_path, models=None)  # type: ignore[arg-type]
    started = time.monotonic()
    with pytest.raises(MediaError, match="corrupt"):  # the first error, not the stop it caused
        run_stages(ctx, ["classify", "ocr"], {}, lambda n, s, o: states.append((n, s)))
    assert stopped.is_set() and time.monotonic() - started < 5 and not log
    assert ("ocr", "failed") in states and ("subtitles", "stopped") in states


def test_a_reader_waiting_on_the_feed_stops_when_ocr_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def ocr_run(ctx: StageContext, options: NoOptions) -> StageOutcome:
        time.sleep(0.1)
        raise MediaError("the video stream is corrupt")

    def subtitles_run(ctx: StageContext, options: NoOptions) -> StageOutcome:
        assert ctx.screen is not None
        ctx.screen.wait(float("inf"), lambda: ctx.progress(0.0))
        return StageOutcome(StageStatus.SUCCEEDED, {})

    _fake_graph(monkeypatch, ocr_run, subtitles_run)
    ctx = StageContext(media_path=tmp_path / "x.mp4", out_dir=tmp_path, models=None)  # type: ignore[arg-type]
    with pytest.raises(MediaError, match="corrupt"):
        run_stages(ctx, ["subtitles", "ocr"], {})
    assert "subtitles" not in ctx.outputs
