"""On-screen text: sample frames, read what changed, merge the readings into timed events.

Engines (both offline; weights come through ``pipelines.models``):

- ``rapidocr`` (default): RapidOCR (onnxruntime) with the PP-OCRv5 detector/recogniser, model
  ``ppocrv5``. Reads Chinese (simplified and traditional), Japanese, and the Latin-script
  languages whose letters its alphabet holds (``ENGINE_LANGUAGES``: English, French, German,
  Spanish, Italian, Portuguese, Dutch, the Nordic languages but Icelandic, Romanian, Turkish,
  Croatian, Slovenian, Indonesian...; French lacks only î ï œ ÿ). Keeps the spaces between
  words. Not covered: Korean, Cyrillic, Greek, Arabic, Hebrew, Indic scripts, Thai, Vietnamese,
  Czech, Slovak, Polish, Hungarian, Baltic languages.
- ``easyocr``: EasyOCR with the CRAFT detector and the ``english_g2`` recogniser, model
  ``easyocr-en``: English only (Latin letters without accents). An optional extra: it needs
  torchvision, which lives in ``.venv-easyocr`` (``./scripts/setup-easyocr``).

A language that the chosen engine does not cover raises ``UnsupportedLanguageError`` when the
options are made, never an empty result.

Typical use (the service loads the engine once per worker)::

    engine = load_engine("rapidocr", model_dir)
    result = run_ocr(video_path, engine, OcrOptions(), progress=lambda f: ...)
    vtt = to_webvtt(result.events)
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np

from pipelines.exceptions import MediaError, OptionsError, UnsupportedLanguageError
from pipelines.ocr.band import SearchFrames
from pipelines.ocr.captions import CaptionOptions
from pipelines.ocr.cut import flag_cut
from pipelines.ocr.engines import (
    ENGINE_LANGUAGES,
    KnownLine,
    OcrEngine,
    Reading,
    find_lines,
    frame_place,
    read_knowing,
    read_region,
    union_boxes,
)
from pipelines.ocr.frames import (
    ChangeDetector,
    ChangeKind,
    ChangeOptions,
    PixelBox,
    VideoSample,
    decoded_ahead,
    merge_regions,
    read_samples,
)
from pipelines.ocr.han_variants import in_one_form
from pipelines.ocr.lookalikes import settle_lookalikes
from pipelines.ocr.scene_text import SceneText, unique_text
from pipelines.ocr.scripts import LANGUAGE_PACKS, missing_pack_message
from pipelines.ocr.tracking import (
    Box,
    Detection,
    FrameDetections,
    TextEvent,
    TextTracker,
    TrackingOptions,
    iou,
    normalise_text,
)

if TYPE_CHECKING:
    from pipelines.demux import MediaPass

log = logging.getLogger(__name__)

Progress = Callable[[float], None]
OnEvents = Callable[[float, list[TextEvent]], None]
PUBLISH_EVERY = 20  # samples between two publications of the events so far (``on_events``)
# A line found now is where a line was read when their boxes overlap by this much (intersection
# over union): the detector's boxes of one line differ by a few pixels between crops.
KEEP_OVERLAP = 0.7
# Samples decoded ahead of the reads, on a thread of their own, when every frame is decoded (a
# job's single pass whose shot tracker looks at each frame: decoding is then ~15 % of the stage).
# bench_job's 2 minutes, two pairs: 35.4 / 35.4 -> 34.2 / 33.0 s; its 10 minutes 162.8 -> 159.3 s,
# the same events. With only the samples decoded (OCR alone) it gained nothing (bench_ocr real).
DECODE_AHEAD = 2


@dataclass(frozen=True)
class OcrOptions:
    """Options of the OCR stage.

    Attributes:
        engine: ``rapidocr`` (default; Latin scripts, Chinese, Japanese) or ``easyocr`` (English).
        sample_rate: frames read per second of video (events are timed to 1 / sample_rate).
        roi: region of interest as a normalised (left, top, right, bottom) box; None: whole frame.
        min_confidence: readings the engine is less sure of (0-1) are dropped.
        min_text_height: readings whose box is lower than this many pixels are dropped.
        languages: languages expected on screen (ISO 639-1); each must be covered by the engine.
        change: how changed regions are found (see ``pipelines.ocr.frames.ChangeOptions``).
        tracking: how readings are joined into events.
        hardsubs: burned-in captions to ``hardsubs`` cues: ``auto`` (when a caption band is
            found), ``on`` (always searched for; an empty result says why) or ``off``.
        caption_band: the captions' region as a normalised (left, top, right, bottom) box;
            None: found automatically. Giving it turns ``auto`` on (with ``off`` it is refused).
        captions: how captions are followed and read (``pipelines.ocr.captions.CaptionOptions``).
    """

    engine: str = "rapidocr"
    sample_rate: float = 2.0
    roi: Box | None = None
    min_confidence: float = 0.5
    min_text_height: int = 8
    languages: tuple[str, ...] = ("en",)
    change: ChangeOptions = field(default_factory=ChangeOptions)
    tracking: TrackingOptions = field(default_factory=TrackingOptions)
    hardsubs: Literal["auto", "on", "off"] = "auto"
    caption_band: Box | None = None
    captions: CaptionOptions = field(default_factory=CaptionOptions)

    def __post_init__(self) -> None:
        if self.hardsubs not in ("auto", "on", "off"):
            raise OptionsError(f"hardsubs must be auto, on or off, got {self.hardsubs!r}.")
        if self.caption_band is not None:
            CaptionOptions(band=self.caption_band)  # checks the box
            if self.hardsubs == "off":
                raise OptionsError("caption_band is given but hardsubs is off: set hardsubs to auto or on to read "
                                   "the captions there, or leave caption_band out.")
        if self.engine not in ENGINE_LANGUAGES:
            raise OptionsError(
                f"Unknown OCR engine {self.engine!r}. Choose one of: {', '.join(sorted(ENGINE_LANGUAGES))}."
            )
        if not 0 < self.sample_rate <= 60:
            raise OptionsError(f"sample_rate must be in (0, 60] samples per second, got {self.sample_rate}.")
        if not 0 <= self.min_confidence <= 1:
            raise OptionsError(f"min_confidence must be between 0 and 1, got {self.min_confidence}.")
        if self.min_text_height < 0:
            raise OptionsError(f"min_text_height must be >= 0 pixels, got {self.min_text_height}.")
        if self.roi is not None:
            x0, y0, x1, y1 = self.roi
            if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
                raise OptionsError(
                    f"roi must be a normalised box (left, top, right, bottom) with 0 <= left < right <= 1 "
                    f"and 0 <= top < bottom <= 1, got {self.roi}."
                )
        check_languages(self.engine, self.languages)


def check_languages(engine: str, languages: tuple[str, ...]) -> None:
    """Raise UnsupportedLanguageError naming what the engine covers when a language is not."""
    if not languages:
        raise OptionsError("languages must name at least one language, e.g. ('en',).")
    covered = ENGINE_LANGUAGES[engine]
    if engine == "rapidocr":  # other scripts through Tesseract's packs (pipelines.ocr.scripts)
        packs = [message for lang in languages if (message := missing_pack_message(lang))]
        if packs:
            raise UnsupportedLanguageError("; ".join(packs) + ".")
        covered = covered | {lang.lower() for lang in languages if lang.lower() in LANGUAGE_PACKS}
    missing = [lang for lang in languages if lang.lower() not in covered]
    if missing:
        others = [name for name, langs in ENGINE_LANGUAGES.items()
                  if name != engine and all(m.lower() in langs for m in missing)]
        hint = f" Engine {others[0]!r} covers it." if others else " No installed engine covers it."
        raise UnsupportedLanguageError(
            f"OCR engine {engine!r} cannot read {', '.join(missing)} offline; it covers "
            f"{', '.join(sorted(covered))}.{hint}"
        )


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as BGR, putting transparent parts on white (as a page shows them)."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise MediaError(f"{path}: not an image OpenCV can read.")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        white = np.full_like(image[:, :, :3], 255, dtype=np.float32)
        return (image[:, :, :3].astype(np.float32) * alpha + white * (1 - alpha)).astype(np.uint8)
    return image


def read_image(image: np.ndarray, engine: OcrEngine, options: OcrOptions | None = None) -> list[Detection]:
    """Read one image (a slide, a screenshot): detections with normalised boxes, in reading order.

    Applies the options' region of interest, minimum confidence and minimum text height.
    """
    options = options or OcrOptions(engine=engine.name)
    crop, (ox, oy) = _apply_roi(image, options.roi)
    readings = flag_cut(image, _filter(_offset(engine.read(crop), ox, oy), options))
    h, w = image.shape[:2]
    dets = [_normalise(r, w, h) for r in readings]
    return sorted(dets, key=lambda d: (round(d.box[1], 2), d.box[0]))


@dataclass(frozen=True)
class OcrTiming:
    """Wall-clock seconds spent decoding (waiting for the next sample, where it is decoded ahead
    on a thread of its own), comparing frames, reading text and tracking."""

    decode: float
    compare: float
    ocr: float
    track: float
    total: float


@dataclass(frozen=True)
class OcrResult:
    """What the OCR stage found in a video.

    Attributes:
        events: timed text events in reading order per scene.
        scenes: each scene's unique texts in reading order (what a translator needs once).
        samples: every sample's detections (all text on screen at that time).
        frames_sampled: frames taken at ``sample_rate``.
        frames_ocred: samples on which the engine ran (whole frame or changed regions).
        frames_probed: samples of moving footage the detector alone looked at on a smaller copy,
            finding no text where none was (``ChangeOptions.probe_scale``): not read.
        regions_ocred: engine calls on parts of a frame (included in ``frames_ocred``).
        area_ocred: the area read, in whole frames (a whole frame read counts 1, a typed word's
            region its share of the frame): over ``frames_sampled``, the share of the sampled
            pixels that were read, where ``frames_ocred`` counts a sample whatever was read of it.
        lines_kept: lines found again unchanged whose earlier reading was kept, not recognised
            again (``ChangeOptions.keep_threshold``).
        duration: seconds of video covered.
        engine: the engine's name.
        timing: where the time went.
        search_frames: the caption band search's frames, kept as they went by (``hardsubs`` not
            ``off`` and no ``caption_band`` given; ``pipelines.ocr.band.SearchFrames``), else None.
    """

    events: tuple[TextEvent, ...]
    scenes: tuple[SceneText, ...]
    samples: tuple[FrameDetections, ...]
    frames_sampled: int
    frames_ocred: int
    regions_ocred: int
    duration: float
    engine: str
    timing: OcrTiming
    search_frames: SearchFrames | None = field(default=None, repr=False, compare=False)
    lines_kept: int = 0
    area_ocred: float = 0.0
    frames_probed: int = 0


def _apply_roi(image: np.ndarray, roi: Box | None) -> tuple[np.ndarray, tuple[int, int]]:
    if roi is None:
        return image, (0, 0)
    h, w = image.shape[:2]
    x0, y0 = int(roi[0] * w), int(roi[1] * h)
    x1, y1 = max(x0 + 1, round(roi[2] * w)), max(y0 + 1, round(roi[3] * h))
    return image[y0:y1, x0:x1], (x0, y0)


def _offset(readings: list[Reading], dx: int, dy: int) -> list[Reading]:
    if not dx and not dy:
        return readings
    # Moved as they are: a reading's script and flags (look-alikes, text cut) go with it.
    return [replace(r, box=(r.box[0] + dx, r.box[1] + dy, r.box[2] + dx, r.box[3] + dy)) for r in readings]


def _filter(readings: list[Reading], options: OcrOptions) -> list[Reading]:
    # A reading with no letter or digit (a bullet, a divider) is nothing to translate.
    return [
        r for r in readings
        if any(ch.isalnum() for ch in r.text) and r.confidence >= options.min_confidence
        and r.box[3] - r.box[1] >= options.min_text_height
    ]


def _normalise(r: Reading, width: int, height: int) -> Detection:
    box = (r.box[0] / width, r.box[1] / height, r.box[2] / width, r.box[3] / height)
    return Detection(tuple(round(min(1.0, max(0.0, v)), 4) for v in box), r.text, round(r.confidence, 4),  # type: ignore[arg-type]
                     r.script, r.flags)


def _intersects(a: PixelBox, b: PixelBox) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _text_replaced(before: list[Reading], after: list[Reading], share: float = 0.6) -> bool:
    """A new slide on the same background: most of the text that was there is gone."""
    old = {normalise_text(r.text) for r in before}
    if len(old) < 2:
        return bool(old) and not after
    return len(old - {normalise_text(r.text) for r in after}) >= share * len(old)


def _near(a: PixelBox, b: PixelBox) -> bool:
    """Whether two boxes touch, allowing a gap of half the height of ``b`` (a text line)."""
    gap = max(2, (b[3] - b[1]) // 2)
    return _intersects(a, (b[0] - gap, b[1] - gap, b[2] + gap, b[3] + gap))


def _grow_regions(regions: list[PixelBox], current: list[Reading]) -> list[PixelBox]:
    """Grow changed regions over the text lines they touch, so a line is always re-read whole."""
    grown = list(regions)
    while True:
        before = len(grown), sum(sum(b) for b in grown)
        for r in current:
            for i, g in enumerate(grown):
                if _intersects(r.box, g):
                    grown[i] = (min(g[0], r.box[0]), min(g[1], r.box[1]), max(g[2], r.box[2]),
                                max(g[3], r.box[3]))
        grown = merge_regions(grown)
        if (len(grown), sum(sum(b) for b in grown)) == before:
            return grown


@dataclass
class _Reader:
    """Reads what changed, when it has settled, and writes the readings back to where it began."""

    engine: OcrEngine
    options: OcrOptions
    detector: ChangeDetector
    samples: list[list[Reading]] = field(default_factory=list)
    cuts: set[int] = field(default_factory=set)
    waiting: list[tuple[PixelBox, int]] = field(default_factory=list)  # (region, first sample)
    ocred: int = 0
    regions_ocred: int = 0
    area_ocred: float = 0.0  # in whole frames (``OcrResult.area_ocred``)
    kept: int = 0  # lines found again unchanged, their readings kept (``_known``)
    probed: int = 0  # whole frames looked at by the detector alone, no line found (``probe_scale``)
    read_sharpness: float | None = None  # of the last sample read
    read_in_motion: bool = False  # since the view last stood still
    moved: list[tuple[PixelBox, ...]] = field(default_factory=list)  # the last ``settle`` samples' moving boxes

    def step(self, image: Callable[[], np.ndarray], change: ChangeKind, regions: list[PixelBox],
             moving: tuple[PixelBox, ...], small: list[PixelBox] | None = None, final: bool = False,
             *, moving_fraction: float = 0.0) -> None:
        """``image()`` gives the sample in colour, made only when something is read;
        ``moving_fraction``: the sample's (``Change``)."""
        k = len(self.samples) - 1
        opts = self.options.change
        waiting = []
        # A small change is reported once it has stayed put for small_persist samples: it began then.
        for region, began in [(r, k) for r in regions] + [(r, max(0, k - opts.small_persist + 1))
                                                          for r in small or []]:
            starts = [s for b, s in self.waiting if _intersects(b, region)]
            waiting.append((region, min(starts, default=began)))
        # The view itself moving (an animated zoom or pan) may never settle while text is shown:
        # once in each such motion, a sample as sharp as the last one read is not blurred, and
        # what waited is read from it (a film's camera, always moving, would be read far more).
        in_motion = moving_fraction >= opts.camera_fraction
        self.read_in_motion = self.read_in_motion and in_motion
        sharpness = (self.detector.sharpness() if in_motion and not self.read_in_motion
                     and self.read_sharpness is not None else None)
        sharp_in_motion = (sharpness is not None and self.read_sharpness is not None
                           and sharpness >= opts.sharp_ratio * self.read_sharpness)
        self.moved = [*self.moved[-(opts.settle - 1):], moving] if opts.settle > 1 else [moving]
        ready = [(r, s) for r, s in waiting
                 if final or k - s >= opts.max_defer or (sharp_in_motion and k - s >= opts.motion_defer)
                 or not any(_intersects(r, m) for ms in self.moved for m in ms)]
        self.waiting = [w for w in waiting if w not in ready]
        if not ready:
            return
        self.read_sharpness = self.detector.sharpness() if sharpness is None else sharpness
        self.read_in_motion = in_motion
        frame = image()
        h, w = frame.shape[:2]
        grown = _grow_regions([r for r, _ in ready], self.samples[k])
        if sum((g[2] - g[0]) * (g[3] - g[1]) for g in grown) >= opts.full_fraction * w * h:
            grown = [(0, 0, w, h)]
        probe = max(opts.probe_scale, opts.probe_min_side / min(w, h))
        look = in_motion and not final and opts.probe_scale > 0 and probe < 1 and grown == [(0, 0, w, h)]
        if look and not self.samples[k] and find_lines(self.engine, frame, probe) == []:
            # No text as last read, and the detector finds no line now: a read would find none.
            self.probed += 1
            self.detector.absorb_all()
            self.waiting = []
            if change is ChangeKind.SCENE:  # as a read's: the text found next is of a new scene
                self.cuts.add(min(s for _, s in ready))
            return
        self.ocred += 1
        known = self._known(self.samples[k])
        self.area_ocred += sum((g[2] - g[0]) * (g[3] - g[1]) for g in grown) / (w * h)
        if grown == [(0, 0, w, h)]:
            # Moving footage's lines are found on a smaller copy (``motion_read_scale``; the probe's
            # own look where it made one at that scale): about half the detection.
            scale = min(1.0, max(probe, opts.motion_read_scale)) if look else 1.0
            readings = {grown[0]: _filter(read_knowing(self.engine, frame, known, frame_place(w, h), scale),
                                          self.options)}
            self.detector.absorb_all()
            self.waiting = []
        else:
            readings = {g: _filter(read_region(frame, g, self.engine, known), self.options) for g in grown}
            self.regions_ocred += len(grown)
            self.detector.absorb(grown)
            self.waiting = [(b, s) for b, s in self.waiting if not any(_intersects(b, g) for g in grown)]
        for g, read in readings.items():
            new = flag_cut(frame, read)
            first = min(s for r, s in ready if _intersects(r, g))
            before = self.samples[first - 1] if first > 0 else []
            for j in range(first, k + 1):
                self.samples[j] = [r for r in self.samples[j] if not _intersects(r.box, g)] + new
            if change is ChangeKind.SCENE or _text_replaced(before, self.samples[k]):
                self.cuts.add(first)

    def _known(self, read: list[Reading]) -> KnownLine | None:
        """The readings of ``read`` (what was on screen as last read) that a line found now keeps:
        one where it was (``KEEP_OVERLAP``) whose pixels have not changed since
        (``ChangeOptions.keep_threshold``), so a line re-read only because a change next to it
        grew the region over it is not recognised again, and reads the same."""
        threshold = self.options.change.keep_threshold
        if threshold <= 0 or not read:
            return None

        def known(box: PixelBox) -> Reading | None:
            best = max(read, key=lambda r: iou(r.box, box))
            if (iou(best.box, box) < KEEP_OVERLAP
                    or not self.detector.unchanged(union_boxes([box, best.box]), threshold)):
                return None
            self.kept += 1
            return best

        return known


def run_ocr(
    path: str | Path,
    engine: OcrEngine,
    options: OcrOptions | None = None,
    progress: Progress | None = None,
    *,
    on_events: OnEvents | None = None,
    threads: int = 0,
    source: MediaPass | None = None,
) -> OcrResult:
    """Find the on-screen text of a video and time it.

    Each sample is compared with what was last read; a region that changed is read once it has
    settled (typing, scrolling and transitions are read when they stop, or every
    ``change.max_defer`` samples; while the whole view moves, once per motion at a sample as sharp
    as the last one read), and its readings are written back to the sample where the change
    began, so events start when the text appeared.

    Args:
        path: the video file.
        engine: from ``pipelines.ocr.engines.load_engine`` (loaded once per worker and reused).
        options: stage options; ``options.engine`` must name ``engine``.
        progress: called with the fraction done (0-1) now and then.
        on_events: called now and then with a watermark (seconds) and the events of the samples
            before it, which no later reading changes (``pipelines.screen_feed``).
        threads: the video decoder's threads (0: FFmpeg's choice).
        source: a pass over the file shared with the audio's reader (``pipelines.demux``).

    Raises:
        MediaError: the file is not a readable video.
        OptionsError: options that do not fit the engine.
    """
    options = options or OcrOptions(engine=engine.name)
    if options.engine != engine.name:
        raise OptionsError(
            f"options ask for engine {options.engine!r} but the loaded engine is {engine.name!r}."
        )
    keep = None
    if options.hardsubs != "off" and options.caption_band is None:  # captions may be searched for
        keep = SearchFrames(options.captions.band_search)
    info, frames = read_samples(path, options.sample_rate, threads, source, keep)
    if keep is not None:
        keep.plan(info.fps, info.frame_count)
    if source is None or source.shots() is None:
        return _run(path, engine, options, info.duration, frames, progress, on_events, keep)
    ahead = decoded_ahead(frames, DECODE_AHEAD)  # every frame decoded: beside the reads
    try:
        return _run(path, engine, options, info.duration, ahead, progress, on_events, keep)
    finally:
        ahead.close()  # a read that failed (a cancelled job): the decoding thread stops now


def _run(path: str | Path, engine: OcrEngine, options: OcrOptions, duration: float, frames: Iterable[VideoSample],
         progress: Progress | None, on_events: OnEvents | None, keep: SearchFrames | None = None) -> OcrResult:
    total_samples = max(1, int(duration * options.sample_rate) + 1)
    reader = _Reader(engine, options, ChangeDetector(options.change))
    # A sample's readings can still change this many samples later (written back to where a
    # change began); the ones before are settled.
    lag = max(options.change.max_defer, options.change.small_persist) + 1
    times: list[float] = []
    settled: list[FrameDetections] = []
    tracker = TextTracker(1.0 / options.sample_rate, options.tracking)  # the settled samples' events
    t_decode = t_compare = t_ocr = 0.0
    started = last = time.perf_counter()
    image: Callable[[], np.ndarray] = lambda: np.zeros((1, 1, 3), np.uint8)  # noqa: E731
    offset = (0, 0)
    size = (1, 1)
    for sample in frames:
        now = time.perf_counter()
        t_decode += now - last
        gray, offset = _apply_roi(sample.gray, options.roi)
        image = functools.partial(_colour, sample, options.roi)
        size = (sample.gray.shape[1], sample.gray.shape[0])
        change = reader.detector.update(gray)
        t_compare += time.perf_counter() - now
        now = time.perf_counter()
        current = list(reader.samples[-1]) if reader.samples else []
        reader.samples.append(current)
        times.append(sample.time)
        # Small steady changes matter only on text (a digit); elsewhere they are the cursor.
        small = [b for b in change.small if any(_near(b, r.box) for r in current)]
        reader.step(image, change.kind, list(change.regions), change.moving, small,
                    moving_fraction=change.moving_fraction)
        if on_events is not None and len(times) % PUBLISH_EVERY == 0 and len(times) > lag:
            new = _detections(reader, times, len(settled), len(times) - lag, size, offset)
            settled += new
            tracker.feed(new)
            on_events(times[len(settled)], tracker.events())
        t_ocr += time.perf_counter() - now
        if progress is not None and len(times) % 10 == 0:
            progress(min(0.99, len(times) / total_samples))
        last = time.perf_counter()
    now = time.perf_counter()
    if reader.waiting:  # the video ended while something was still changing: read it as it ends
        reader.step(image, ChangeKind.REGIONS, [b for b, _ in reader.waiting], (), final=True)
    t_ocr += time.perf_counter() - now
    now = time.perf_counter()
    rest = _detections(reader, times, len(settled), len(times), size, offset)
    samples = settled + rest
    tracker.feed(rest)
    # A sample's text lasts a sampling step, but not past the media's end (the last event of a
    # 0.3 s clip ran to 0.5 s).
    end = max(duration, times[-1] if times else 0.0) if duration > 0 else float("inf")
    events = [replace(e, end=round(end, 3)) if e.end > end > e.start else e for e in tracker.events()]
    # Chinese on screen in one written form (the recogniser slips a character of the other in).
    texts = in_one_form([e.text for e in events])
    events = [e if text == e.text else replace(e, text=text) for e, text in zip(events, texts, strict=True)]
    # Cyrillic or Greek read as flagged Latin look-alikes in some samples, sure in others: one text.
    events = settle_lookalikes(events, 1.0 / options.sample_rate)
    scenes = unique_text(events)
    t_track = time.perf_counter() - now
    if progress is not None:
        progress(1.0)
    timing = OcrTiming(round(t_decode, 3), round(t_compare, 3), round(t_ocr, 3), round(t_track, 3),
                       round(time.perf_counter() - started, 3))
    log.info("ocr %s: %d samples, %d read (%d regions, %.1f %% of the sampled pixels; %d lines kept unchanged; "
             "%d of moving footage looked at for text, none found), %d events, %.1f s", path, len(samples),
             reader.ocred, reader.regions_ocred, 100 * reader.area_ocred / max(1, len(samples)), reader.kept,
             reader.probed, len(events), timing.total)
    return OcrResult(
        events=tuple(events),
        scenes=tuple(scenes),
        samples=tuple(samples),
        frames_sampled=len(samples),
        frames_ocred=reader.ocred,
        frames_probed=reader.probed,
        regions_ocred=reader.regions_ocred,
        area_ocred=round(reader.area_ocred, 4),
        duration=(max(duration, times[-1] if times else 0.0) if duration > 0
                  else (times[-1] if times else 0.0) + 1.0 / options.sample_rate),
        engine=engine.name,
        timing=timing,
        search_frames=keep,
        lines_kept=reader.kept,
    )


def _colour(sample: VideoSample, roi: Box | None) -> np.ndarray:
    return _apply_roi(sample.bgr(), roi)[0]


def _detections(reader: _Reader, times: list[float], start: int, end: int, size: tuple[int, int],
                offset: tuple[int, int]) -> list[FrameDetections]:
    """Samples ``start`` to ``end`` (exclusive) as normalised detections."""
    w, h = size
    return [
        FrameDetections(times[i], tuple(_normalise(r, w, h) for r in _offset(reader.samples[i], *offset)),
                        new_scene=i in reader.cuts)
        for i in range(start, end)
    ]
