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
from pipelines.linebreaks import join_words

if TYPE_CHECKING:
    import numpy as np

    from pipelines.classify.classifier import ClassifyOptions
    from pipelines.classify.screen_text import ScreenText

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
    a few frames when neither exists. Burned-in captions and watermarks are not read as on-screen
    text (``pipelines.classify.screen_text``); the note says which were left out. Audio-only
    media is classified from its transcript (and the result says so); without speech it has
    nothing to classify, and the stage is skipped."""
    from pipelines.classify.visual_cues import VisualCues, visual_cues_from_frames

    subs = read_json(ctx.out_dir / subtitles.SUBTITLES_JSON)
    screen_doc = read_json(ctx.out_dir / ocr.OCR_JSON)
    cues = subs.get("cues") or []
    transcript = [{"text": join_words(c["lines"]), "start": c["start"], "end": c["end"]} for c in cues]
    language = subs.get("language")
    doubted = _doubted(subs, screen_doc) if transcript else None
    if doubted is not None:
        transcript, language = doubted[0], None  # the captions' language is guessed from their text
    split = _screen_text(screen_doc)
    screen = list(split.content)
    visual = VisualCues(text_frame_share=split.text_frame_share, frames=int(screen_doc.get("frames_sampled") or 0))
    has_video = (ctx.info or media.probe(ctx.media_path)).has_video
    if not transcript and not screen:
        if not has_video:
            return StageOutcome(StageStatus.SKIPPED, {"classify": "nothing to classify"}, (),
                                reason="nothing to classify: no speech was heard and the media has no video track")
        # No text to read: the picture is all there is, so look at it (how still, how slide-like).
        visual = replace(visual_cues_from_frames(_sample_frames(ctx.media_path)),
                         text_frame_share=visual.text_frame_share)
    classifier = ctx.models.classifier()
    result = classifier.classify(transcript=transcript or None, screen_text=screen or None, visual=visual,
                                 language=language, options=options)
    extra = tuple(n for n in (doubted[1] if doubted else "", _left_out(split)) if n)
    if extra:
        result = replace(result, notes=(*result.notes, *extra))
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
    if split.captions or split.overlays:
        summary["screen_text_left_out"] = {"captions": len(split.captions), "overlays": len(split.overlays)}
    if not has_video:
        summary["note"] = NO_VIDEO
    log.info("classify: %s (p=%.2f), kind %s, from %s%s", result.label, result.probability, result.kind,
             ", ".join(result.signals), "" if has_video else f" ({NO_VIDEO})")
    return StageOutcome(StageStatus.SUCCEEDED, summary, (CLASSIFICATION_JSON,))


def _doubted(subs: dict[str, Any], screen_doc: dict[str, Any]) -> tuple[list[dict[str, Any]], str] | None:
    """When the subtitles stage is sure the speech is in another language than it transcribed
    (its ``language_doubt``: an English-only model's words over Chinese speech), its transcript
    is not read: the burned-in captions (``ocr.json``'s ``hardsubs`` cues), the dialogue read off
    the picture, stand in for it if there are any. Returns them and the note; None to keep it."""
    doubt = subs.get("language_doubt") or {}
    if not doubt.get("sure"):
        return None
    captions = [{"text": c["text"], "start": c["start"], "end": c["end"]}
                for c in (screen_doc.get("hardsubs") or {}).get("cues") or [] if c.get("text")]
    instead = "the burned-in captions were read in its place" if captions else "classified without it"
    return captions, (f"transcript not read: the speech sounds like {doubt.get('heard')!r}, not "
                      f"{doubt.get('asked')!r} as transcribed, so its words are likely wrong; {instead}")


def _screen_text(doc: dict[str, Any]) -> ScreenText:
    """The OCR stage's text events (``ocr.json``) split into screen content, burned-in captions
    (in the caption bands its ``hardsubs`` section found) and overlays (watermarks, logos)."""
    from pipelines.classify.screen_text import split_screen_text

    return split_screen_text(ocr.events_from_json(doc.get("events") or []), duration=float(doc.get("duration") or 0.0),
                             samples=int(doc.get("frames_sampled") or 0), caption_bands=ocr.caption_bands(doc))


def _left_out(split: ScreenText) -> str:
    """The note saying which on-screen text was not read as screen content ('' for none)."""
    parts = []
    if split.captions:
        parts.append(f"{len(split.captions)} in the burned-in caption band (dialogue)")
    if split.overlays:
        texts = list(dict.fromkeys(repr(e.text) for e in split.overlays))
        shown = ", ".join(texts[:3]) + (", ..." if len(texts) > 3 else "")
        parts.append(f"{len(split.overlays)} at the frame's edge all along (a watermark or logo: {shown})")
    if not parts:
        return ""
    return f"on-screen text lines not read as slides, code or UI: {' and '.join(parts)}"


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
