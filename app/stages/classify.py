"""Stage ``classify``: is it learning content, of which kind, and why."""

from __future__ import annotations

import logging
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.jobs import StageStatus
from app.stages import ocr, subtitles
from app.stages.context import Stage, StageContext, StageOutcome, StageView, read_json, write_json
from pipelines import media

if TYPE_CHECKING:
    import numpy as np

    from pipelines.classify.classifier import ClassifyOptions

log = logging.getLogger(__name__)

NAME = "classify"
CLASSIFICATION_JSON = "classification.json"
NO_VIDEO = "no video track: classified from the transcript alone, without on-screen text or frames"


def options() -> type[ClassifyOptions]:
    """``pipelines.classify.classifier.ClassifyOptions`` (imported on first use: it loads NumPy)."""
    from pipelines.classify.classifier import ClassifyOptions

    return ClassifyOptions


def run(ctx: StageContext, options: ClassifyOptions) -> StageOutcome:
    """Classify from the transcript and the on-screen text (the files of earlier stages), or from
    a few frames when neither exists. Audio-only media is classified from its transcript (and
    the result says so); without speech it has nothing to classify, and the stage is skipped."""
    from pipelines.classify.visual_cues import VisualCues, visual_cues_from_frames

    subs = read_json(ctx.out_dir / subtitles.SUBTITLES_JSON)
    screen_doc = read_json(ctx.out_dir / ocr.OCR_JSON)
    cues = subs.get("cues") or []
    transcript = [{"text": " ".join(c["lines"]), "start": c["start"], "end": c["end"]} for c in cues]
    screen = screen_doc.get("events") or []
    visual = VisualCues(**screen_doc["visual"]) if screen_doc.get("visual") else None
    has_video = (ctx.info or media.probe(ctx.media_path)).has_video
    if not transcript and not screen and (visual is None or visual.is_empty()):
        if not has_video:
            return StageOutcome(StageStatus.SKIPPED, {"classify": "nothing to classify"}, (),
                                reason="nothing to classify: no speech was heard and the media has no video track")
        visual = visual_cues_from_frames(_sample_frames(ctx.media_path))
    classifier = ctx.models.classifier()
    result = classifier.classify(transcript=transcript or None, screen_text=screen or None, visual=visual,
                                 language=subs.get("language"), options=options)
    if not has_video:
        result = replace(result, notes=(*result.notes, NO_VIDEO))
    write_json(ctx.out_dir / CLASSIFICATION_JSON, asdict(result))
    summary: dict[str, Any] = {
        "label": result.label,
        "probability": round(result.probability, 3),
        "kind": result.kind,
        "method": result.method,
        "signals": list(result.signals),
        "weak": result.weak,
    }
    if not has_video:
        summary["note"] = NO_VIDEO
    log.info("classify: %s (p=%.2f), kind %s, from %s%s", result.label, result.probability, result.kind,
             ", ".join(result.signals), "" if has_video else f" ({NO_VIDEO})")
    return StageOutcome(StageStatus.SUCCEEDED, summary, (CLASSIFICATION_JSON,))


def _sample_frames(path: Path, every_s: float = 5.0, limit: int = 60) -> list[np.ndarray]:
    """A few frames for visual cues when neither speech nor on-screen text is available."""
    from pipelines.ocr.frames import sample_frames

    frames = []
    for _, _, frame in sample_frames(path, 1.0 / every_s):
        frames.append(frame)
        if len(frames) >= limit:
            break
    return frames


STAGE = Stage(NAME, options, run, label="Is it learning content?",
              description="Is it learning content, of which kind, and why.",
              needs=(subtitles.NAME,), uses=(ocr.NAME,), view=StageView("verdict", data=CLASSIFICATION_JSON))
