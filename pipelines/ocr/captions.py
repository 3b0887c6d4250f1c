"""Burned-in (hard) subtitles: find the caption band(s), follow their text layer, read each caption once.

Three steps, each cheap where the generic on-screen-text reader would be slow or fooled by
moving footage:

1. **Band** (``find_band`` in ``pipelines.ocr.band``): a few frames spread over the video are
   read whole; text at the same place with the same reading in most of them is static
   (a watermark, a logo); centred text that changes, at one height, is the caption band; one
   higher up whose readings change too is a further band, followed alongside (each frame is
   decoded once for all bands; their cues are merged apart, then put in time order).
2. **Text layer** (``text_mask`` in ``pipelines.ocr.caption_layer``): in the band only, pixels that are bright, next to a dark
   pixel (a caption's outline, shadow or box) and unchanged since the previous frame. Moving
   footage changes from frame to frame, a caption does not, so the mask follows the caption and
   not the picture. Samples are taken at ``sample_rate`` (10 a second by default).
3. **Reading, once per caption**: a stretch of samples is read (the band crop, with detection)
   once its layer held for a second sample. From then on only a change within its lines' boxes
   counts, checked by the lines' letters' pixels where those plainly hold
   (``pipelines.ocr.caption_signature``), else by recognising the lines where they are (no
   detection): footage moving around or behind a caption changes the layer but not the reading. New strokes beside the
   lines that held for two samples (a line or words added; ``lost_and_new``) have the band read
   again. An empty band is read again when strokes appear and hold, or now and then while its
   layer changes at all (a faint caption without an outline hardly shows in it). Where a
   caption changed, the frame is found by binary search over the frames since two samples
   before (kept, cropped to the band), so a cue's start and end are frame-exact; its edges are
   checked by recognising its lines (``pipelines.ocr.caption_edges``). Static text is dropped,
   identical readings of neighbouring stretches are merged into one cue
   (``pipelines.ocr.caption_cues``), and lines stay apart (``caption_lines``).

Every frame is decoded once, and only the band's rows are converted to colour; the band search
decodes few frames besides the ones it reads (``pipelines.ocr.caption_frames``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pipelines.ocr.band import (
    Band,
    BandSearch,
    SearchFrames,
    StaticText,
    band_from_samples,
    band_pixels,
    find_band,
)
from pipelines.ocr.caption_cues import CaptionCue, Span, merge_spans
from pipelines.ocr.caption_frames import bands_frames
from pipelines.ocr.caption_options import CaptionOptions
from pipelines.ocr.caption_tracker import CaptionTracker
from pipelines.ocr.engines import OcrEngine
from pipelines.ocr.frames import open_video
from pipelines.ocr.han_variants import Form, in_form, written_form
from pipelines.ocr.scripts import IDENTIFY_UNREAD
from pipelines.ocr.tracking import FrameDetections
from pipelines.ocr.word_spacing import split_run_together

__all__ = ["CaptionOptions", "CaptionResult", "extract_after_screen", "extract_captions"]

log = logging.getLogger(__name__)

Progress = Callable[[float], None]


@dataclass(frozen=True)
class CaptionResult:
    """The burned-in captions of a video and how they were found.

    Attributes:
        cues: the captions in time order.
        band: the caption region (normalised), or None when no caption band was found.
        band_source: ``user`` (given) or ``auto`` (found), or ``none``.
        static: text that stays on screen (watermarks, logos): not captions.
        reason: why there are no cues, when there are none.
        frames_decoded: frames decoded in the dense pass (plus the band search's samples).
        frames_sampled: samples whose text layer was compared.
        frames_ocred: engine calls (band crops and the band search's whole frames).
        duration: seconds of video.
        seconds: wall time of the whole extraction.
        bands: every band followed, ``band`` first (others: captions that persist higher up).
    """

    cues: tuple[CaptionCue, ...]
    band: tuple[float, float, float, float] | None
    band_source: str
    static: tuple[StaticText, ...]
    reason: str
    frames_decoded: int
    frames_sampled: int
    frames_ocred: int
    duration: float
    seconds: float
    bands: tuple[tuple[float, float, float, float], ...] = ()

def _tracker(box: tuple[float, float, float, float], band: Band | None, engine: OcrEngine, options: CaptionOptions,
             search: BandSearch, width: int, height: int, fps: float) -> CaptionTracker:
    """The dense pass over one band (normalised ``box``; ``band``: as found, None when given)."""
    pixels = band_pixels(box, width, height)
    line = band.line_height * height if band else (pixels[3] - pixels[1]) / 2
    # The layer is compared where a caption line is about 24 pixels high: enough for its
    # strokes, little work.
    scale = min(1.0, 24.0 / max(1.0, line))
    half = band.half_width if band else 0.5
    return CaptionTracker(engine, options, list(search.static), pixels, (width, height), fps, scale, line, half)


def _cleaned(spans: list[Span], options: CaptionOptions, form: Form | None) -> tuple[list[Span], int, int]:
    """``spans`` before they are merged, with the words their lines ran together split
    (``CaptionOptions.split_words``: "Pressit" and "Press it" are then one reading) and, where the
    captions are Chinese of one ``form``, their characters of the other form converted to it;
    and how many lines each changed."""
    out, split, converted = [], 0, 0
    for span in spans:
        lines = span.lines
        if options.split_words:
            spaced = tuple(split_run_together(line, options.languages) for line in lines)
            split += sum(a != b for a, b in zip(lines, spaced, strict=True))
            lines = spaced
        if form is not None:
            formed = tuple(in_form(line, form) for line in lines)
            converted += sum(a != b for a, b in zip(lines, formed, strict=True))
            lines = formed
        if lines != span.lines:
            log.debug("caption lines cleaned: %r -> %r", span.lines, lines)
        out.append(replace(span, lines=lines))
    return out, split, converted


def extract_captions(
    path: str | Path,
    engine: OcrEngine,
    options: CaptionOptions | None = None,
    progress: Progress | None = None,
    search: BandSearch | None = None,
    threads: int = 0,
) -> CaptionResult:
    """Burned-in captions of a video as timed cues (see the module doc).

    Args:
        path: the video.
        engine: an OCR engine (``pipelines.ocr.engines``), loaded once and reused.
        options: extraction options; ``options.band`` skips the band search.
        progress: called with the fraction done (0-1) now and then.
        search: a band search already made (the stage may have run it to decide on captions).
        threads: the video decoder's threads (0: FFmpeg's choice, the cores).

    Raises:
        MediaError: the file is not a readable video.
    """
    options = options or CaptionOptions()
    started = time.perf_counter()
    cap, info = open_video(path)
    cap.release()
    band: tuple[float, float, float, float] | None = options.band
    source = "user"
    if band is None:
        search = search or find_band(path, engine, options.band_search)
        band, source = (search.band.box, "auto") if search.band else (None, "none")
    else:
        search = search or BandSearch(None, (), "", 0, 0)
    if band is None:
        return CaptionResult((), None, "none", search.static, search.reason or "no caption band found",
                             search.frames_decoded, 0, search.frames_ocred, info.duration,
                             round(time.perf_counter() - started, 3))
    # The band, then any other band found (a user's region is the only one).
    found = [(band, search.band)] + ([(o.box, o) for o in search.others] if source == "auto" else [])
    trackers = [_tracker(box, found_band, engine, options, search, info.width, info.height, info.fps)
                for box, found_band in found]
    step = max(1, round(info.fps / options.sample_rate))
    total = max(1, info.frame_count)
    index = 0
    unread = IDENTIFY_UNREAD.set(True)  # a caption line read as nothing is identified, not dropped
    try:
        for index, rows in enumerate(bands_frames(path, [(t.box[1], t.box[3]) for t in trackers], threads), 1):
            for tracker, band_rows in zip(trackers, rows, strict=True):
                tracker.frame(index - 1, band_rows, (index - 1) % step == 0)
            if progress is not None and (index - 1) % (50 * step) == 0:
                progress(min(0.99, (index - 1) / total))
        for tracker in trackers:
            tracker.finish(index)
    finally:
        IDENTIFY_UNREAD.reset(unread)
    cues = []
    form = (written_form(line for t in trackers for s in t.spans for line in s.lines)
            if options.unify_chinese else None)
    split = converted = 0
    for tracker in trackers:
        spans, words, chars = _cleaned(tracker.spans, options, form)
        split, converted = split + words, converted + chars
        # Each band's cues merged on their own: the same words in two bands are two captions.
        cues += merge_spans(spans, options.merge_gap, options.same_text)
    cues.sort(key=lambda c: (c.start, c.end))
    duration = index / info.fps if index else info.duration
    if progress is not None:
        progress(1.0)
    seconds = round(time.perf_counter() - started, 3)
    ex = trackers[0]
    log.info("captions %s: bands %s (%s), %d cues; %d frames decoded, %d sampled, %d layer changes, %d checked by "
             "their lines, %d read (%d beside lines, %d empty band, %d as bright strokes), %d lines read wider "
             "(%d recognised out to their mirror, %d CJK lines recognised alone, %d spaced at a pause between "
             "phrases), %d read as a caption faded out "
             "(no cue), %d doubtful read better on another sample; readings' lines with words "
             "run together split %d, with characters converted to %s Chinese %d; %.1f s", path,
             [b for b, _ in found], source, len(cues), index, ex.sampled, ex.candidates, ex.checked,
             sum(t.ocred for t in trackers), ex.beside_reads, ex.empty_reads, sum(t.stroke_reads for t in trackers),
             sum(t.widener.wider for t in trackers), sum(t.widener.recognised for t in trackers),
             sum(t.widener.alone_reads for t in trackers), sum(t.widener.spaced_lines for t in trackers),
             sum(t.faded_echoes for t in trackers),
             sum(t.doubtful_reread for t in trackers), split,
             form or "one form of", converted, seconds)
    return CaptionResult(
        cues=tuple(cues),
        band=band,
        band_source=source,
        static=search.static,
        reason="" if cues else "no caption text was read in the band",
        frames_decoded=index + search.frames_decoded,
        frames_sampled=ex.sampled,
        frames_ocred=sum(t.ocred for t in trackers) + search.frames_ocred,
        bands=tuple(b for b, _ in found),
        duration=duration,
        seconds=seconds,
    )


def extract_after_screen(
    path: str | Path,
    engine: OcrEngine,
    samples: Sequence[FrameDetections],
    options: CaptionOptions | None = None,
    progress: Progress | None = None,
    frames: SearchFrames | None = None,
    threads: int = 0,
    always: bool = False,
) -> CaptionResult:
    """Burned-in captions of a video whose on-screen text was read already (``samples``: the
    OCR stage's, ``pipelines.ocr.reader``, which kept the band search's ``frames`` as it went),
    as the OCR stage extracts them. ``threads``: the video decoder's (0: FFmpeg's choice).

    The samples say whether to look (``band_from_samples``): without centred text that changes
    (a screencast, a lecture's slides) no frame is read again, so a screencast pays nothing for
    the look; ``always`` (captions said to be there: ``hardsubs`` ``on``) looks all the same
    (the reader seldom reads footage that keeps moving, and may have seen no caption). Where
    they hold caption-like text, or ``always``, the band is placed by the caption search
    (``find_band``) on frames read whole for it: the screen reader reads a region once it has
    settled and writes its readings back, so its boxes place a band badly (on the eight real
    clips, three lost words or whole cues to a band cut too short or placed a line too high).
    A band the search does not confirm is taken from the samples. A user's region skips both.
    """
    options = options or CaptionOptions()
    if options.band is not None:
        return extract_captions(path, engine, options, progress, threads=threads)
    seen = band_from_samples(samples, options.band_search)
    if seen.band is None and not always:
        return extract_captions(path, engine, options, progress, search=seen, threads=threads)
    search = find_band(path, engine, options.band_search, frames)
    if search.band is None and seen.band is not None:
        # The samples looked at again knowing the search's static text: a name that stays, read
        # in some samples only (the picture behind it moving), is not a caption that changes.
        seen = band_from_samples(samples, options.band_search, search.static)
        if seen.band is None:
            log.info("captions %s: the screen samples' band holds the static text %s; no caption followed", path,
                     [s.text for s in search.static])
        else:
            log.info("captions %s: the band search found none (%s); the screen samples' band %s is followed",
                     path, search.reason, seen.band.box)
            search = replace(seen, frames_decoded=search.frames_decoded, frames_ocred=search.frames_ocred)
    return extract_captions(path, engine, options, progress, search=search, threads=threads)
