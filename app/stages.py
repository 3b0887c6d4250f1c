"""The stage graph: which stages exist, what each needs, and how each runs on one media file.

A stage takes a ``StageContext`` (the media, the output folder, the worker's loaded models,
a progress callback and the outcomes of the stages it depends on) plus its parsed options,
writes its files into the output folder atomically, and returns a ``StageOutcome``. The CLI,
the in-process worker and the Celery worker all run stages through ``run_stages``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from app.stage_io import StageContext, StageOutcome, write_atomic, write_json
from app.stage_runners import (
    parse_classify_options,
    parse_fit_options,
    parse_ocr_options,
    run_classify_stage,
    run_fit_stage,
    run_ocr_stage,
)
from pipelines import media
from pipelines.asr import AsrOptions
from pipelines.exceptions import NoAudioError, OptionsError
from pipelines.subtitle_formats import to_srt, to_vtt
from pipelines.subtitles import PROFILES, StyleProfile, SubtitleResult, build_cues

log = logging.getLogger(__name__)

__all__ = ["STAGES", "Stage", "StageContext", "StageOutcome", "plan", "run_stages", "validate_options",
           "write_atomic", "write_json"]

@dataclass(frozen=True)
class Stage:
    """A node of the graph: its dependencies (run first when also requested) and its runner."""

    name: str
    run: Callable[[StageContext, Mapping[str, Any]], StageOutcome]
    needs: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()  # optional inputs: used when those stages ran
    description: str = ""
    validate: Callable[[Mapping[str, Any]], Any] | None = None


# ---------------------------------------------------------------- subtitles


def parse_subtitle_options(options: Mapping[str, Any]) -> tuple[AsrOptions, StyleProfile]:
    """Per-job options of stage ``subtitles`` -> ASR options and a style profile.

    Keys: ``model``, ``language`` ("auto" or a code), ``beam_size``, ``vad_filter``,
    ``initial_prompt``, ``hotwords``, ``profile`` (a name from PROFILES) and ``profile_overrides``
    (a dict of StyleProfile fields).
    """
    known = {
        "model",
        "language",
        "beam_size",
        "vad_filter",
        "initial_prompt",
        "hotwords",
        "profile",
        "profile_overrides",
    }
    unknown = set(options) - known
    if unknown:
        raise OptionsError(
            f"Unknown subtitles option(s): {', '.join(sorted(unknown))}. Valid: {', '.join(sorted(known))}."
        )
    asr_fields = {
        k: options[k]
        for k in ("model", "language", "beam_size", "vad_filter", "initial_prompt", "hotwords")
        if k in options
    }
    asr = AsrOptions.from_mapping(asr_fields)
    profile_name = str(options.get("profile", "netflix-en"))
    if profile_name not in PROFILES:
        raise OptionsError(
            f"Unknown subtitle profile {profile_name!r}. Valid profiles: {', '.join(sorted(PROFILES))}."
        )
    profile = PROFILES[profile_name]
    overrides = options.get("profile_overrides") or {}
    if overrides:
        profile = profile.with_overrides(dict(overrides))
    return asr, profile


def subtitles_payload(result: SubtitleResult) -> dict[str, Any]:
    """JSON document of a subtitle result: cues (with words and flags), language, model."""
    return asdict(result)


def run_subtitles(ctx: StageContext, options: Mapping[str, Any]) -> StageOutcome:
    asr_options, profile = parse_subtitle_options(options)
    info = ctx.info or media.probe(ctx.media_path)
    if not info.has_audio:
        write_json(ctx.out_dir / "subtitles.json", {"status": "no speech track", "cues": []})
        return StageOutcome(
            "skipped",
            {"speech": "no speech track"},
            ("subtitles.json",),
            reason="no speech track: the media has no audio stream",
        )
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    try:
        audio = media.load_audio(ctx.media_path)
    except NoAudioError:
        write_json(ctx.out_dir / "subtitles.json", {"status": "no speech track", "cues": []})
        return StageOutcome(
            "skipped",
            {"speech": "no speech track"},
            ("subtitles.json",),
            reason="no speech track: the audio stream holds no samples",
        )
    timings["decode_s"] = time.monotonic() - t0
    ctx.progress(0.05)

    engine = ctx.models.whisper(asr_options.resolved_model())
    t1 = time.monotonic()
    transcript = engine.transcribe(audio, asr_options, progress=lambda f: ctx.progress(0.05 + 0.85 * f))
    timings["asr_s"] = time.monotonic() - t1

    t2 = time.monotonic()
    result = build_cues(transcript, profile)
    srt, vtt = to_srt(result.cues), to_vtt(result.cues)
    write_atomic(ctx.out_dir / "subtitles.srt", srt)
    write_atomic(ctx.out_dir / "subtitles.vtt", vtt)
    write_json(ctx.out_dir / "subtitles.json", subtitles_payload(result))
    write_atomic(ctx.out_dir / "transcript.txt", result.text + "\n")
    timings["segment_write_s"] = time.monotonic() - t2
    ctx.progress(1.0)
    flagged = sum(1 for c in result.cues if c.flags)
    summary = {
        "language": result.language,
        "language_probability": round(result.language_probability, 3),
        "model": result.model,
        "profile": profile.name,
        "duration_s": round(info.duration, 3),
        "cues": len(result.cues),
        "flagged_cues": flagged,
        "words": sum(len(c.words) for c in result.cues),
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    if not result.cues:
        summary["speech"] = "no speech detected"
    log.info(
        "subtitles: %s cues (%s flagged), language %s, asr %.1f s for %.1f s of media",
        len(result.cues),
        flagged,
        result.language,
        timings["asr_s"],
        info.duration,
    )
    return StageOutcome(
        "succeeded", summary, ("subtitles.srt", "subtitles.vtt", "subtitles.json", "transcript.txt")
    )


STAGES: dict[str, Stage] = {
    s.name: s
    for s in (
        Stage("subtitles", run_subtitles, validate=parse_subtitle_options,
              description="Speech to style-checked subtitles (Whisper)."),
        Stage("ocr", run_ocr_stage, validate=parse_ocr_options,
              description="On-screen text as timed events (OCR)."),
        Stage("classify", run_classify_stage, needs=("subtitles",), uses=("ocr",),
              validate=parse_classify_options,
              description="Is it learning content, of which kind, and why."),
        Stage("fit", run_fit_stage, needs=("subtitles",),
              validate=lambda options: parse_fit_options(options, None),
              description="Shorten over-long subtitle cues to fit their time slots."),
    )
}


def validate_options(name: str, options: Mapping[str, Any]) -> None:
    """Parse a stage's options as its runner will, without running it (raises OptionsError)."""
    if name not in STAGES:
        raise OptionsError(f"Unknown stage {name!r}. Valid stages: {', '.join(STAGES)}.")
    validate = STAGES[name].validate
    if validate is not None:
        validate(options)


def plan(requested: list[str] | tuple[str, ...]) -> list[str]:
    """Requested stages plus what they need, in dependency order.

    Raises:
        OptionsError: for an unknown stage name or an empty request.
    """
    if not requested:
        raise OptionsError(f"No stages requested. Valid stages: {', '.join(STAGES)}.")
    order: list[str] = []

    def visit(name: str) -> None:
        if name not in STAGES:
            raise OptionsError(f"Unknown stage {name!r}. Valid stages: {', '.join(STAGES)}.")
        if name in order:
            return
        for dep in STAGES[name].needs:
            visit(dep)
        for dep in STAGES[name].uses:  # optional inputs run first when they were requested too
            if dep in wanted:
                visit(dep)
        order.append(name)

    wanted = set(requested)
    for name in STAGES:  # registry order is a valid topological order; keeps output stable
        if name in wanted:
            visit(name)
    for name in requested:
        visit(name)
    return order


def run_stages(
    ctx: StageContext,
    stages: list[str],
    options: Mapping[str, Mapping[str, Any]],
    on_stage: Callable[[str, str, StageOutcome | None], None] = lambda name, state, outcome: None,
) -> dict[str, StageOutcome]:
    """Run stages in dependency order. ``on_stage(name, "running"|"done", outcome)`` reports state.

    A stage's exception propagates (the caller marks the job failed); earlier outcomes stay in
    ``ctx.outputs``.
    """
    for name in plan(stages):
        stage = STAGES[name]
        on_stage(name, "running", None)
        started = time.monotonic()
        outcome = stage.run(ctx, options.get(name, {}))
        outcome = StageOutcome(
            outcome.status,
            outcome.summary,
            outcome.files,
            outcome.reason,
            round(time.monotonic() - started, 3),
        )
        ctx.outputs[name] = outcome
        on_stage(name, "done", outcome)
    return ctx.outputs
