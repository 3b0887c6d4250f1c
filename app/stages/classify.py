"""Stage ``classify``: is it learning content, of which kind, and why."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.jobs import StageStatus
from app.stages import ocr, subtitles
from app.stages.context import Stage, StageContext, StageOutcome, StageView, read_json, write_json

if TYPE_CHECKING:
    import numpy as np

    from pipelines.classify.classifier import ClassifyOptions

log = logging.getLogger(__name__)

NAME = "classify"
CLASSIFICATION_JSON = "classification.json"


def options() -> type[ClassifyOptions]:
    """``pipelines.classify.classifier.ClassifyOptions`` (imported on first use: it loads NumPy)."""
    from pipelines.classify.classifier import ClassifyOptions

    return ClassifyOptions


def run(ctx: StageContext, options: ClassifyOptions) -> StageOutcome:
    """Classify from the transcript and the on-screen text (the files of earlier stages), or from
    a few frames when neither exists."""
    from pipelines.classify.visual_cues import VisualCues, visual_cues_from_frames

    subs = read_json(ctx.out_dir / subtitles.SUBTITLES_JSON)
    screen_doc = read_json(ctx.out_dir / ocr.OCR_JSON)
    cues = subs.get("cues") or []
    transcript = [{"text": " ".join(c["lines"]), "start": c["start"], "end": c["end"]} for c in cues]
    screen = screen_doc.get("events") or []
    visual = VisualCues(**screen_doc["visual"]) if screen_doc.get("visual") else None
    if not transcript and not screen and (visual is None or visual.is_empty()):
        visual = visual_cues_from_frames(_sample_frames(ctx.media_path))
    classifier = ctx.models.classifier()
    result = classifier.classify(transcript=transcript or None, screen_text=screen or None, visual=visual,
                                 language=subs.get("language"), options=options)
    write_json(ctx.out_dir / CLASSIFICATION_JSON, asdict(result))
    summary: dict[str, Any] = {
        "label": result.label,
        "probability": round(result.probability, 3),
        "kind": result.kind,
        "method": result.method,
        "signals": list(result.signals),
        "weak": result.weak,
    }
    log.info("classify: %s (p=%.2f), kind %s, from %s", result.label, result.probability, result.kind,
             ", ".join(result.signals))
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
