"""The stage graph: the registry, planning, normalising options, running in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.jobs import StageStatus
from app.stages import subtitles
from app.stages.context import NoOptions, Stage, StageContext, StageOutcome
from app.stages.graph import DEFAULT_STAGES, STAGES, normalise_options, plan, run_stages, validate_options
from pipelines.exceptions import OptionsError


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
    assert once["subtitles"]["beam_size"] == 3 and once["subtitles"]["profile"] == subtitles.DEFAULT_PROFILE
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
