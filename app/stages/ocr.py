"""Stage ``ocr``: on-screen text as timed events, scenes and visual cues."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from app.jobs import StageStatus
from app.stages.context import Stage, StageContext, StageOutcome, StageView, write_atomic, write_json
from pipelines import media

if TYPE_CHECKING:
    from pipelines.ocr.reader import OcrOptions

log = logging.getLogger(__name__)

NAME = "ocr"
OCR_JSON = "ocr.json"
OCR_VTT = "ocr.vtt"
ONSCREEN_TEXT_TXT = "onscreen_text.txt"


def options() -> type[OcrOptions]:
    """``pipelines.ocr.reader.OcrOptions`` (imported on first use: it loads OpenCV)."""
    from pipelines.ocr.reader import OcrOptions

    return OcrOptions


def run(ctx: StageContext, options: OcrOptions) -> StageOutcome:
    """Read the text on screen; write events and scenes (JSON), a WebVTT track and plain text."""
    from pipelines.classify.visual_cues import visual_cues_from_ocr_samples
    from pipelines.ocr.reader import run_ocr
    from pipelines.ocr.tracking import to_webvtt, unique_text

    info = ctx.info or media.probe(ctx.media_path)
    if not info.has_video:
        write_json(ctx.out_dir / OCR_JSON, {"status": "no video track", "events": []})
        return StageOutcome(StageStatus.SKIPPED, {"screen": "no video track"}, (OCR_JSON,),
                            reason="no video track: the media is audio only")
    engine = ctx.models.ocr(options.engine)
    result = run_ocr(ctx.media_path, engine, options, progress=ctx.progress)
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
    write_json(ctx.out_dir / OCR_JSON, doc)
    write_atomic(ctx.out_dir / OCR_VTT, to_webvtt(result.events))
    text = "\n\n".join("\n".join(s.texts) for s in scenes if s.texts)
    write_atomic(ctx.out_dir / ONSCREEN_TEXT_TXT, text + "\n")
    summary: dict[str, Any] = {
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
    return StageOutcome(StageStatus.SUCCEEDED, summary, (OCR_JSON, OCR_VTT, ONSCREEN_TEXT_TXT))


# How changed regions are found and readings joined are tuned, not per-job choices.
STAGE = Stage(NAME, options, run, label="On-screen text",
              description="On-screen text as timed events (OCR).",
              fixed=frozenset({"change", "tracking"}),
              view=StageView("screen_text", data=OCR_JSON, track=OCR_VTT))
