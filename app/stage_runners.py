"""Runners of the stages beyond subtitles: ``ocr``, ``classify`` and ``fit``.

Each parses its per-job options into the pipeline's frozen options (clear errors for unknown
keys), runs the pipeline with the worker's loaded models, writes its files atomically into the
job's output folder and returns a ``StageOutcome`` with a JSON-able summary. Later stages read
earlier stages' files (not memory), so a retried job or another worker sees the same inputs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from app.stage_io import StageContext, StageOutcome, write_atomic, write_json
from pipelines import media
from pipelines.exceptions import OptionsError

log = logging.getLogger(__name__)


def _check_keys(stage: str, options: Mapping[str, Any], valid: set[str]) -> None:
    unknown = set(options) - valid
    if unknown:
        raise OptionsError(
            f"Unknown {stage} option(s): {', '.join(sorted(unknown))}. Valid: {', '.join(sorted(valid))}."
        )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- ocr


def parse_ocr_options(options: Mapping[str, Any]) -> Any:
    """Per-job options of stage ``ocr`` -> ``pipelines.ocr.reader.OcrOptions``.

    Keys: engine, sample_rate, roi ([left, top, right, bottom], normalised), min_confidence,
    min_text_height, languages (list of codes).
    """
    from pipelines.ocr.reader import OcrOptions

    valid = {"engine", "sample_rate", "roi", "min_confidence", "min_text_height", "languages"}
    _check_keys("ocr", options, valid)
    values: dict[str, Any] = dict(options)
    try:
        if "roi" in values and values["roi"] is not None:
            values["roi"] = tuple(float(v) for v in values["roi"])
            if len(values["roi"]) != 4:
                raise ValueError("roi needs four numbers: left, top, right, bottom")
        if "languages" in values:
            langs = values["languages"]
            values["languages"] = (langs,) if isinstance(langs, str) else tuple(str(x) for x in langs)
        for key in ("sample_rate", "min_confidence"):
            if key in values:
                values[key] = float(values[key])
        if "min_text_height" in values:
            values["min_text_height"] = int(values["min_text_height"])
    except (TypeError, ValueError) as err:
        raise OptionsError(f"Bad ocr option: {err}.") from None
    return OcrOptions(**values)


def run_ocr_stage(ctx: StageContext, options: Mapping[str, Any]) -> StageOutcome:
    from pipelines.classify.visual_cues import visual_cues_from_ocr_samples
    from pipelines.ocr.reader import run_ocr
    from pipelines.ocr.tracking import to_webvtt, unique_text

    opts = parse_ocr_options(options)
    info = ctx.info or media.probe(ctx.media_path)
    if not info.has_video:
        write_json(ctx.out_dir / "ocr.json", {"status": "no video track", "events": []})
        return StageOutcome("skipped", {"screen": "no video track"}, ("ocr.json",),
                            reason="no video track: the media is audio only")
    engine = ctx.models.ocr(opts.engine)
    result = run_ocr(ctx.media_path, engine, opts, progress=ctx.progress)
    scenes = unique_text(result.events)
    visual = visual_cues_from_ocr_samples(result.samples)
    doc = {
        "engine": result.engine,
        "duration": result.duration,
        "frames_sampled": result.frames_sampled,
        "frames_ocred": result.frames_ocred,
        "events": [asdict(e) for e in result.events],
        "scenes": [asdict(s) for s in scenes],
        "visual": asdict(visual),
        "timing": asdict(result.timing),
    }
    write_json(ctx.out_dir / "ocr.json", doc)
    write_atomic(ctx.out_dir / "ocr.vtt", to_webvtt(result.events))
    text = "\n\n".join("\n".join(s.texts) for s in scenes if s.texts)
    write_atomic(ctx.out_dir / "onscreen_text.txt", text + "\n")
    summary = {
        "engine": result.engine,
        "events": len(result.events),
        "scenes": len(scenes),
        "unique_texts": sum(len(s.texts) for s in scenes),
        "frames_sampled": result.frames_sampled,
        "frames_ocred": result.frames_ocred,
        "ocred_share": round(result.frames_ocred / max(1, result.frames_sampled), 3),
        "seconds_per_video_second": round(result.timing.total / max(result.duration, 1e-6), 3),
    }
    log.info("ocr: %d events in %d scenes; OCR'd %d of %d sampled frames", summary["events"],
             summary["scenes"], result.frames_ocred, result.frames_sampled)
    return StageOutcome("succeeded", summary, ("ocr.json", "ocr.vtt", "onscreen_text.txt"))


# ---------------------------------------------------------------- classify


def parse_classify_options(options: Mapping[str, Any]) -> Any:
    """Per-job options of stage ``classify`` -> ``pipelines.classify.classifier.ClassifyOptions``."""
    from pipelines.classify.classifier import ClassifyOptions

    valid = {f.name for f in fields(ClassifyOptions)}
    _check_keys("classify", options, valid)
    try:
        return ClassifyOptions(**dict(options))
    except TypeError as err:
        raise OptionsError(f"Bad classify option: {err}.") from None


def run_classify_stage(ctx: StageContext, options: Mapping[str, Any]) -> StageOutcome:
    from pipelines.classify.visual_cues import VisualCues

    opts = parse_classify_options(options)
    subs = _read_json(ctx.out_dir / "subtitles.json") or {}
    ocr = _read_json(ctx.out_dir / "ocr.json") or {}
    cues = subs.get("cues") or []
    transcript = [{"text": " ".join(c["lines"]), "start": c["start"], "end": c["end"]} for c in cues]
    screen = ocr.get("events") or []
    visual = VisualCues(**ocr["visual"]) if ocr.get("visual") else None
    if not transcript and not screen and (visual is None or visual.is_empty()):
        from pipelines.classify.visual_cues import visual_cues_from_frames

        visual = visual_cues_from_frames(_sample_frames(ctx.media_path))
    classifier = ctx.models.classifier()
    result = classifier.classify(transcript=transcript or None, screen_text=screen or None, visual=visual,
                                 language=subs.get("language"), options=opts)
    write_json(ctx.out_dir / "classification.json", asdict(result))
    summary = {
        "label": result.label,
        "probability": round(result.probability, 3),
        "kind": result.kind,
        "method": result.method,
        "signals": list(result.signals),
        "weak": result.weak,
    }
    log.info("classify: %s (p=%.2f), kind %s, from %s", result.label, result.probability, result.kind,
             ", ".join(result.signals))
    return StageOutcome("succeeded", summary, ("classification.json",))


def _sample_frames(path: Path, every_s: float = 5.0, limit: int = 60) -> list[Any]:
    """A few frames for visual cues when neither speech nor on-screen text is available."""
    from pipelines.ocr.frames import sample_frames

    frames = []
    for _, _, frame in sample_frames(path, 1.0 / every_s):
        frames.append(frame)
        if len(frames) >= limit:
            break
    return frames


# ---------------------------------------------------------------- fit


def parse_fit_options(options: Mapping[str, Any], default_language: str | None) -> tuple[Any, str | None]:
    """Per-job options of stage ``fit`` -> (SubtitleFitOptions, subtitles text or None).

    Keys: ``subtitles`` (SRT or WebVTT text to fit, e.g. a translation; default: this job's own
    subtitles), mode, language, profile, syllables_per_second, similarity_floor, lm.
    """
    from pipelines.fit.subtitle_file import SubtitleFitOptions

    valid = {"subtitles", "mode", "language", "profile", "syllables_per_second", "similarity_floor", "lm"}
    _check_keys("fit", options, valid)
    values = {k: v for k, v in options.items() if k != "subtitles"}
    values.setdefault("language", default_language or "en")
    try:
        fit_options = SubtitleFitOptions(**values)
    except TypeError as err:
        raise OptionsError(f"Bad fit option: {err}.") from None
    content = options.get("subtitles")
    if content is not None and not isinstance(content, str):
        raise OptionsError("fit option 'subtitles' must be the text of an SRT or WebVTT file.")
    return fit_options, content


def run_fit_stage(ctx: StageContext, options: Mapping[str, Any]) -> StageOutcome:
    from pipelines.fit.subtitle_file import fit_subtitles

    subs = _read_json(ctx.out_dir / "subtitles.json") or {}
    fit_options, content = parse_fit_options(options, subs.get("language"))
    source = "uploaded"
    if content is None:
        srt = ctx.out_dir / "subtitles.srt"
        if not srt.is_file():
            return StageOutcome("skipped", {"fit": "nothing to fit"}, (),
                                reason="no subtitles to fit: the media has no speech track")
        content, source = srt.read_text(), "subtitles.srt"
    paraphraser = ctx.models.fitter()
    result = fit_subtitles(content, fit_options, paraphraser, progress=ctx.progress)
    suffix = "vtt" if result.format == "vtt" else "srt"
    name = f"subtitles.fit.{suffix}"
    write_atomic(ctx.out_dir / name, result.text)
    report = {"source": source, "format": result.format, "counts": result.counts,
              "cues": [asdict(c) for c in result.cues], "seconds": result.elapsed_s}
    write_json(ctx.out_dir / "fit_report.json", report)
    summary = {"source": source, **result.counts, "seconds": round(result.elapsed_s, 3)}
    log.info("fit: %s", ", ".join(f"{k} {v}" for k, v in result.counts.items()))
    return StageOutcome("succeeded", summary, (name, "fit_report.json"))
