"""Stage ``ocr``: on-screen text as timed events, scenes and visual cues."""

from __future__ import annotations

import logging
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from app.allocator import give_back
from app.jobs import StageStatus
from app.stages.context import Stage, StageContext, StageOutcome, StageView, write_atomic, write_json
from pipelines import media
from pipelines.demux import VIDEO

if TYPE_CHECKING:
    import numpy as np

    from pipelines.ocr.captions import CaptionResult
    from pipelines.ocr.engines import OcrEngine, Reading
    from pipelines.ocr.frames import PixelBox
    from pipelines.ocr.reader import OcrOptions, OcrResult
    from pipelines.ocr.tracking import TextEvent

log = logging.getLogger(__name__)

NAME = "ocr"
OCR_JSON = "ocr.json"
OCR_VTT = "ocr.vtt"
ONSCREEN_TEXT_TXT = "onscreen_text.txt"
HARDSUBS_SRT = "hardsubs.srt"
HARDSUBS_VTT = "hardsubs.vtt"


def options() -> type[OcrOptions]:
    """``pipelines.ocr.reader.OcrOptions`` (imported on first use: it loads OpenCV)."""
    from pipelines.ocr.reader import OcrOptions

    return OcrOptions


def events_from_json(items: list[dict[str, Any]]) -> list[TextEvent]:
    """The on-screen text events of an ``ocr.json`` (its ``events``), as ``run`` wrote them; an
    older file's events, without script and flags, come back with none."""
    from pipelines.ocr.tracking import TextEvent

    def box(values: list[Any]) -> tuple[float, float, float, float]:
        left, top, right, bottom = (float(v) for v in values)
        return left, top, right, bottom

    return [TextEvent(float(e["start"]), float(e["end"]), box(e["box"]), str(e["text"]), float(e.get("confidence", 1.0)),
                      int(e.get("scene", 0)), str(e.get("script", "")), tuple(e.get("flags") or ()))
            for e in items]


def caption_bands(doc: dict[str, Any]) -> list[tuple[float, float, float, float]]:
    """The burned-in caption bands an ``ocr.json`` found (its ``hardsubs`` section; an older file
    has one ``band``), as normalised boxes; none when captions were not searched for."""
    found = doc.get("hardsubs") or {}
    bands = found.get("bands") or ([found["band"]] if found.get("band") else [])
    return [(float(b[0]), float(b[1]), float(b[2]), float(b[3])) for b in bands]


UNREAD_LINES = 3
UNREAD_SHARE = 0.25
"""Lines shaped like text but read as nothing (``ScriptAwareEngine.unread_lines``), at least
``UNREAD_LINES`` and this share of the lines found, for the stage to warn that text in a script it
does not read went unread (generated Korean and Hindi captions: 8 of 8, 3 of 5; the real UI
recordings: 0 of 177, 3 of 426, 0 of 62)."""


def unread_summary(unread: int, lines: int) -> dict[str, Any]:
    """The summary's word on lines shaped like text that were read as nothing: their count, and a
    warning naming the fix where they are ``UNREAD_LINES`` or more and ``UNREAD_SHARE`` of ``lines``."""
    if not unread:
        return {}
    out: dict[str, Any] = {"lines_unread": unread}
    if unread >= UNREAD_LINES and unread >= UNREAD_SHARE * lines:
        out["unread_warning"] = (
            f"{unread} of {lines} lines found were shaped like text but read as nothing: text in a script the "
            "OCR engine does not read without its language (Korean, Hindi, ...); set the ocr stage's languages "
            'to it (e.g. ["en", "ko"]) to have them read.')
    return out


def run(ctx: StageContext, options: OcrOptions) -> StageOutcome:
    """Read the text on screen; write events and scenes (JSON), a WebVTT track and plain text."""
    from pipelines.classify.visual_cues import visual_cues_from_ocr_samples
    from pipelines.ocr.engines import SPARE_CORES
    from pipelines.ocr.reader import run_ocr
    from pipelines.ocr.scene_text import unique_text, without_captions
    from pipelines.ocr.scripts import ScriptAwareEngine, with_scripts
    from pipelines.ocr.tracking import CUT, SCRIPT_UNCERTAIN, to_webvtt

    info = ctx.info or media.probe(ctx.media_path)
    if not info.has_video:
        write_json(ctx.out_dir / OCR_JSON, {"status": "no video track", "events": []})
        return StageOutcome(StageStatus.SKIPPED, {"screen": "no video track"}, (OCR_JSON,),
                            reason="no video track: the media is audio only")
    aware = with_scripts(ctx.models.ocr(options.engine, threads=ctx.threads), options.languages)
    engine = _Trimmed(aware)
    feed = ctx.screen
    spare = SPARE_CORES.set(ctx.spare_cores)  # lines recognised on the cores Whisper leaves idle
    try:
        result = run_ocr(ctx.media_path, engine, options, progress=ctx.progress,
                         on_events=feed.publish if feed is not None else None, threads=ctx.threads, source=ctx.media)
    finally:
        SPARE_CORES.reset(spare)
    if feed is not None:
        feed.close(result.events)  # a subtitles stage running beside this one waits for these
    captions = _hardsubs(ctx, options, engine, result)
    # onscreen_text.txt and the scenes leave out the readings of the captions hardsubs.srt gives
    screen = (list(result.events) if captions is None
              else without_captions(result.events, captions.cues, captions.bands))
    scenes = unique_text(screen)
    visual = visual_cues_from_ocr_samples(result.samples)
    doc = {
        "engine": result.engine,
        "duration": result.duration,
        "frames_sampled": result.frames_sampled,
        "frames_ocred": result.frames_ocred,
        "frames_probed": result.frames_probed,
        "lines_kept": result.lines_kept,
        "events": [asdict(e) for e in result.events],
        "scenes": [asdict(s) for s in scenes],
        "visual": asdict(visual),
        "timing": asdict(result.timing),
    }
    files: tuple[str, ...] = (OCR_JSON, OCR_VTT, ONSCREEN_TEXT_TXT)
    if captions is not None:
        doc["hardsubs"] = _hardsubs_section(captions)
        if captions.cues or options.hardsubs == "on":
            files += (HARDSUBS_SRT, HARDSUBS_VTT)
    write_json(ctx.out_dir / OCR_JSON, doc)
    write_atomic(ctx.out_dir / OCR_VTT, to_webvtt(result.events))
    text = "\n\n".join("\n".join(s.texts) for s in scenes if s.texts)
    write_atomic(ctx.out_dir / ONSCREEN_TEXT_TXT, text + "\n")
    summary: dict[str, Any] = {
        "engine": result.engine,
        "events": len(result.events),
        "scenes": len({e.scene for e in result.events}),
        "unique_texts": sum(len(s.texts) for s in scenes),
        "glyphs": sum(len(s.glyphs) for s in scenes),  # icons read as text: in ocr.json, not onscreen_text.txt
        "variants": sum(len(s.variants) for s in scenes),  # a text's other readings: in ocr.json likewise
        "frames_sampled": result.frames_sampled,
        "frames_ocred": result.frames_ocred,
        "ocred_share": round(result.frames_ocred / max(1, result.frames_sampled), 3),
        # samples of moving footage the detector alone found no text in, on a smaller copy: not read
        "frames_probed": result.frames_probed,
        # of the sampled pixels, the share read: most reads are a typed word's region, not a frame
        "ocred_area_share": round(result.area_ocred / max(1, result.frames_sampled), 3),
        "lines_kept": result.lines_kept,
        "flagged": sum(1 for e in result.events if e.flags),
        "cut": sum(1 for e in result.events if CUT in e.flags),
        "seconds_per_video_second": round(result.timing.total / max(result.duration, 1e-6), 3),
    }
    if isinstance(aware, ScriptAwareEngine) and aware.identified:  # from their pixels: no language said
        summary["scripts_identified"] = dict(aware.identified)
        log.info("ocr: lines of another script identified from their pixels: %s (%d of them read in the "
                 "video's own script without every script looked at)",
                 ", ".join(f"{n} {script}" for script, n in aware.identified.most_common()), aware.read_as_learned)
    if isinstance(aware, ScriptAwareEngine):
        summary.update(unread_summary(aware.unread_lines, aware.lines_read))
        if "unread_warning" in summary:
            log.warning("ocr: %s", summary["unread_warning"])
    if captions is not None:
        summary["hardsubs"] = len(captions.cues)
        summary["caption_readings"] = len(result.events) - len(screen)  # left out of onscreen_text.txt
        if not captions.cues:  # "0" alone read as a failure to look; why none were read
            summary["hardsubs_reason"] = captions.reason or "none found"
    log.info("ocr: %d events in %d scenes (%d flagged %s, %d %s: part hidden); %d texts in %s, left out of it "
             "%d icons read as text and %d other readings of its texts; OCR'd %d of %d sampled frames, %d unchanged "
             "lines kept", summary["events"], summary["scenes"], sum(1 for e in result.events if SCRIPT_UNCERTAIN in e.flags),
             SCRIPT_UNCERTAIN, summary["cut"], CUT, summary["unique_texts"], ONSCREEN_TEXT_TXT, summary["glyphs"],
             summary["variants"], result.frames_ocred, result.frames_sampled, result.lines_kept)
    return StageOutcome(StageStatus.SUCCEEDED, summary, files)


def _hardsubs(ctx: StageContext, options: OcrOptions, engine: OcrEngine, screen: OcrResult) -> CaptionResult | None:
    """Burned-in captions (option ``hardsubs``), written with cues (or ``on``) to
    ``hardsubs.srt``/``.vtt``. None when off.

    Whether to look is decided on what the on-screen-text reader read (``screen``), so a
    screencast pays nothing but that look (``extract_after_screen``); the band search reads the
    frames the reader kept for it.
    """
    from pipelines.ocr.captions import extract_after_screen
    from pipelines.subtitle_formats import to_srt, to_vtt

    if options.hardsubs == "off":
        return None
    caption_options = replace(options.captions, band=options.caption_band, languages=options.languages)
    result = extract_after_screen(ctx.media_path, engine, screen.samples, caption_options,
                                  frames=screen.search_frames, threads=ctx.threads, always=options.hardsubs == "on")
    if result.cues or options.hardsubs == "on":
        write_atomic(ctx.out_dir / HARDSUBS_SRT, to_srt(result.cues))
        write_atomic(ctx.out_dir / HARDSUBS_VTT, to_vtt(result.cues))
    log.info("ocr: %d burned-in captions (band %s, %s)%s", len(result.cues), result.band, result.band_source,
             f": {result.reason}" if result.reason else "")
    return result


def _hardsubs_section(result: CaptionResult) -> dict[str, Any]:
    """The ``hardsubs`` section of ocr.json."""
    return {
        "band": result.band,
        "bands": list(result.bands),
        "band_source": result.band_source,
        "reason": result.reason,
        "static_text": [asdict(s) for s in result.static],
        "cues": [{"start": c.start, "end": c.end, "lines": list(c.lines), "text": c.text,
                  "confidence": c.confidence, "flags": list(c.flags)} for c in result.cues],
        "frames_decoded": result.frames_decoded,
        "frames_sampled": result.frames_sampled,
        "frames_ocred": result.frames_ocred,
        "seconds": result.seconds,
    }


class _Trimmed:
    """An OCR engine that hands the heap's free memory back to the system after each read.

    ONNX Runtime (its memory arena off, as RapidOCR sets it) allocates a read's tensors anew,
    sized by the image; glibc keeps what they freed in a heap that other threads' allocations
    fragment, so RSS grew with every differently sized read (25 reads of regions of a 720p
    frame: 184 -> 571 MB; 2-minute bench job: 718 MB with the models warm, 1,293 MB at its
    peak). ``malloc_trim`` after each read returns those pages: the 25 reads peaked at 550 MB
    (675 without) and ended at 213 MB, for 3 % more CPU. (A fixed mmap threshold of 1-8 MB
    kept the peak lower but cost 46-210 % more CPU: every tensor a fresh mapping.)
    """

    def __init__(self, engine: OcrEngine) -> None:
        self.engine = engine
        self.name = engine.name
        self._trim = give_back

    def read(self, image: np.ndarray) -> list[Reading]:
        try:
            return self.engine.read(image)
        finally:
            self._trim()

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        return self.engine.read_line(image)  # a line's tensors are small

    def find_lines(self, image: np.ndarray, scale: float) -> list[PixelBox] | None:
        from pipelines.ocr.engines import find_lines

        return find_lines(self.engine, image, scale)


# How changed regions are found, readings joined and captions followed are tuned, not per-job choices.
STAGE = Stage(NAME, options, run, label="On-screen text",
              description="On-screen text as timed events (OCR).",
              fixed=frozenset({"change", "tracking", "captions"}), reads=(VIDEO,),
              view=StageView("screen_text", data=OCR_JSON, track=OCR_VTT, captions=HARDSUBS_VTT))
