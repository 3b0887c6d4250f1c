"""On-screen text: sample frames, read what changed, merge the readings into timed events.

Engines (both offline; weights come through ``pipelines.models``):

- ``rapidocr`` (default): RapidOCR (onnxruntime) with the PP-OCRv5 detector/recogniser, model
  ``ppocrv5``. Reads Latin-script languages (English and the accented letters of most Western
  and Central European languages; a few letters such as French "î"/"ï" and Hungarian "ő" are
  missing from its alphabet), Chinese (simplified and traditional) and Japanese. Keeps the
  spaces between words. Not covered: Korean, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai...
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

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from pipelines.exceptions import OptionsError, PipelineError, UnsupportedLanguageError
from pipelines.frames import ChangeDetector, ChangeKind, ChangeOptions, PixelBox, merge_regions, sample_frames
from pipelines.models import model_path
from pipelines.text_tracking import (
    Box,
    Detection,
    FrameDetections,
    SceneText,
    TextEvent,
    TrackingOptions,
    normalise_text,
    track_text,
    unique_text,
)

log = logging.getLogger(__name__)

Progress = Callable[[float], None]

_LATIN = ("en", "fr", "de", "es", "it", "pt", "nl", "sv", "da", "no", "nb", "fi", "is", "pl", "cs",
          "sk", "sl", "hr", "ro", "tr", "id", "ms", "ca", "eu", "gl", "et", "lv", "lt", "sq", "af", "sw",
          "vi", "tl")
ENGINE_LANGUAGES: dict[str, frozenset[str]] = {
    "rapidocr": frozenset((*_LATIN, "zh", "zh-hans", "zh-hant", "zh-cn", "zh-tw", "ja")),
    "easyocr": frozenset(("en",)),
}
"""Languages (ISO 639-1 codes, lower case) each engine reads offline with its installed weights."""

ENGINE_MODELS = {"rapidocr": "ppocrv5", "easyocr": "easyocr-en"}
"""Registry name (``pipelines.models``) of the weights each engine needs."""


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
        change: how changed regions are found (see ``pipelines.frames.ChangeOptions``).
        tracking: how readings are joined into events.
    """

    engine: str = "rapidocr"
    sample_rate: float = 2.0
    roi: Box | None = None
    min_confidence: float = 0.5
    min_text_height: int = 8
    languages: tuple[str, ...] = ("en",)
    change: ChangeOptions = field(default_factory=ChangeOptions)
    tracking: TrackingOptions = field(default_factory=TrackingOptions)

    def __post_init__(self) -> None:
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
    missing = [lang for lang in languages if lang.lower() not in covered]
    if missing:
        others = [name for name, langs in ENGINE_LANGUAGES.items()
                  if name != engine and all(m.lower() in langs for m in missing)]
        hint = f" Engine {others[0]!r} covers it." if others else " No installed engine covers it."
        raise UnsupportedLanguageError(
            f"OCR engine {engine!r} cannot read {', '.join(missing)} offline; it covers "
            f"{', '.join(sorted(covered))}.{hint}"
        )


@dataclass(frozen=True)
class Reading:
    """One line of text an engine read: axis-aligned pixel box, text, confidence (0-1)."""

    box: PixelBox
    text: str
    confidence: float


class OcrEngine(Protocol):
    """What the pipeline needs from an OCR engine."""

    name: str

    def read(self, image: np.ndarray) -> list[Reading]:
        """Read every line of text in a BGR image; boxes in the image's pixels."""
        ...


def _quad_to_box(points: Any) -> PixelBox:
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    return (int(pts[:, 0].min()), int(pts[:, 1].min()), int(np.ceil(pts[:, 0].max())),
            int(np.ceil(pts[:, 1].max())))


class RapidOcrEngine:
    """RapidOCR (onnxruntime) with the PP-OCRv5 models; loads on first use, once."""

    name = "rapidocr"

    def __init__(self, model_folder: Path) -> None:
        self.model_folder = Path(model_folder)
        self._engine: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                d = self.model_folder
                started = time.monotonic()
                # Detection at the image's own resolution (limit "max" 2000): the default
                # ("min" 736) blows small regions up to 736 pixels, slow and no better.
                self._engine = RapidOCR(
                    det_model_path=str(d / "det" / "det.onnx"),
                    rec_model_path=str(d / "rec" / "rec.onnx"),
                    rec_keys_path=str(d / "ppocrv5_dict.txt"),
                    cls_model_path=str(d / "cls" / "cls.onnx"),
                    det_limit_type="max",
                    det_limit_side_len=2000,
                )
                log.info("loaded RapidOCR PP-OCRv5 from %s in %.2f s", d, time.monotonic() - started)
            return self._engine

    def read(self, image: np.ndarray) -> list[Reading]:
        """Read the text lines of a BGR image.

        Detection, then words that the detector split apart on one line are joined into that
        line, then each line is recognised: a line reads the same whether the whole frame or
        only a region around it was given (the detector splits lines differently in crops).
        """
        engine = self._load()
        h, w = image.shape[:2]
        pad = max(0, 32 - h)  # the detector needs some height
        src = cv2.copyMakeBorder(image, 0, pad, 0, 0, cv2.BORDER_REPLICATE) if pad else image
        quads, _ = engine.text_det(src)
        if quads is None or len(quads) == 0:
            return []
        groups = join_line_boxes([_quad_to_box(q) for q in quads])
        crops = []
        for members in groups:
            if len(members) == 1:  # keep the detector's own (possibly slanted) crop
                crops.append(engine.get_crop_img_list(src, [quads[members[0]]])[0])
            else:
                x0, y0, x1, y1 = _union([_quad_to_box(quads[i]) for i in members])
                crops.append(src[y0:y1, x0:x1])
        texts, _ = engine.text_rec(crops)
        out = []
        for members, (text, score) in zip(groups, texts, strict=True):
            x0, y0, x1, y1 = _union([_quad_to_box(quads[i]) for i in members])
            box = (max(0, x0), max(0, y0), min(w, x1), min(h, y1))
            if text.strip() and box[2] > box[0] and box[3] > box[1]:
                out.append(Reading(box, str(text).strip(), float(score)))
        return out


def _union(boxes: list[PixelBox]) -> PixelBox:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
            max(b[3] for b in boxes))


def join_line_boxes(boxes: list[PixelBox], max_gap: float = 0.5) -> list[list[int]]:
    """Group boxes that are pieces of one line: side by side (gap under ``max_gap`` x height)
    and overlapping vertically by most of the lower one. Returns index groups, left to right."""
    order = sorted(range(len(boxes)), key=lambda i: boxes[i][0])
    groups: list[list[int]] = []
    spans: list[PixelBox] = []
    for i in order:
        b = boxes[i]
        for g, span in enumerate(spans):
            last = boxes[groups[g][-1]]
            height = min(b[3] - b[1], last[3] - last[1])
            v_overlap = min(b[3], last[3]) - max(b[1], last[1])
            gap = b[0] - span[2]
            if height > 0 and v_overlap >= 0.6 * height and gap <= max_gap * max(b[3] - b[1], last[3] - last[1]):
                groups[g].append(i)
                spans[g] = _union([span, b])
                break
        else:
            groups.append([i])
            spans.append(b)
    return groups


class EasyOcrEngine:
    """EasyOCR (CRAFT + english_g2) on CPU; loads on first use, once. Needs ``.venv-easyocr``."""

    name = "easyocr"

    def __init__(self, model_folder: Path, languages: tuple[str, ...] = ("en",)) -> None:
        self.model_folder = Path(model_folder)
        self.languages = languages
        self._reader: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._reader is None:
                try:
                    import easyocr
                except ImportError as err:
                    raise PipelineError(
                        "The easyocr engine is an optional extra that this environment lacks "
                        f"({err}). Install it with ./scripts/setup-easyocr and run lessonlens from "
                        ".venv-easyocr, or use engine 'rapidocr'."
                    ) from err
                started = time.monotonic()
                self._reader = easyocr.Reader(
                    list(self.languages),
                    model_storage_directory=str(self.model_folder),
                    download_enabled=False,
                    gpu=False,
                    verbose=False,
                )
                log.info("loaded EasyOCR from %s in %.2f s", self.model_folder, time.monotonic() - started)
            return self._reader

    def read(self, image: np.ndarray) -> list[Reading]:
        """Read the text lines of a BGR image (EasyOCR merges words of a line, ``width_ths``)."""
        reader = self._load()
        result = reader.readtext(image, width_ths=1.0)
        return [Reading(_quad_to_box(quad), str(text), float(score)) for quad, text, score in result]


def load_engine(name: str, model_dir: Path) -> OcrEngine:
    """An OCR engine by name, its weights found in ``model_dir``; the model loads on first read.

    Raises:
        OptionsError: unknown engine name.
        ModelNotInstalledError: the engine's weights are not installed (says how to install).
    """
    if name not in ENGINE_MODELS:
        raise OptionsError(f"Unknown OCR engine {name!r}. Choose one of: {', '.join(sorted(ENGINE_MODELS))}.")
    folder = model_path(ENGINE_MODELS[name], model_dir)
    if name == "easyocr":
        return EasyOcrEngine(folder)
    return RapidOcrEngine(folder)


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as BGR, putting transparent parts on white (as a page shows them)."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        from pipelines.exceptions import MediaError

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
    readings = _filter(_offset(engine.read(crop), ox, oy), options)
    h, w = image.shape[:2]
    dets = [_normalise(r, w, h) for r in readings]
    return sorted(dets, key=lambda d: (round(d.box[1], 2), d.box[0]))


@dataclass(frozen=True)
class OcrTiming:
    """Wall-clock seconds spent decoding, comparing frames, reading text and tracking."""

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
        regions_ocred: engine calls on parts of a frame (included in ``frames_ocred``).
        duration: seconds of video covered.
        engine: the engine's name.
        timing: where the time went.
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
    return [Reading((r.box[0] + dx, r.box[1] + dy, r.box[2] + dx, r.box[3] + dy), r.text, r.confidence)
            for r in readings]


def _filter(readings: list[Reading], options: OcrOptions) -> list[Reading]:
    return [
        r for r in readings
        if r.text.strip() and r.confidence >= options.min_confidence
        and r.box[3] - r.box[1] >= options.min_text_height
    ]


def _normalise(r: Reading, width: int, height: int) -> Detection:
    box = (r.box[0] / width, r.box[1] / height, r.box[2] / width, r.box[3] / height)
    return Detection(tuple(round(min(1.0, max(0.0, v)), 4) for v in box), r.text, round(r.confidence, 4))  # type: ignore[arg-type]


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


def _read_changes(
    frame: np.ndarray, regions: tuple[PixelBox, ...], current: list[Reading], engine: OcrEngine,
    options: OcrOptions,
) -> tuple[list[Reading], int]:
    """Re-read the changed regions of ``frame``; keep the readings elsewhere. Returns (readings, calls)."""
    h, w = frame.shape[:2]
    grown = _grow_regions(list(regions), current)
    if sum((g[2] - g[0]) * (g[3] - g[1]) for g in grown) >= options.change.full_fraction * w * h:
        return _filter(engine.read(frame), options), 0
    kept = [r for r in current if not any(_intersects(r.box, g) for g in grown)]
    for region in grown:
        kept += _filter(_read_region(frame, region, engine), options)
    return kept, len(grown)


def _read_region(frame: np.ndarray, region: PixelBox, engine: OcrEngine) -> list[Reading]:
    """Read one region of a frame, framed by a replicated border.

    The detector splits lines into words, or drops punctuation, in a crop that ends close to the
    text; a uniform border about as wide as the region is high (not more of the frame, which may
    cut a neighbouring line) makes it read the line as it does in the whole frame.
    """
    x0, y0, x1, y1 = region
    border = min(max(32, y1 - y0), 160)
    padded = cv2.copyMakeBorder(frame[y0:y1, x0:x1], border, border, border, border, cv2.BORDER_REPLICATE)
    out = []
    for r in engine.read(padded):
        box = (max(x0, r.box[0] + x0 - border), max(y0, r.box[1] + y0 - border),
               min(x1, r.box[2] + x0 - border), min(y1, r.box[3] + y0 - border))
        if box[2] > box[0] and box[3] > box[1]:
            out.append(Reading(box, r.text, r.confidence))
    return out


def run_ocr(
    path: str | Path,
    engine: OcrEngine,
    options: OcrOptions | None = None,
    progress: Progress | None = None,
) -> OcrResult:
    """Find the on-screen text of a video and time it.

    Args:
        path: the video file.
        engine: from ``load_engine`` (loaded once per worker and reused).
        options: stage options; ``options.engine`` must name ``engine``.
        progress: called with the fraction done (0-1) now and then.

    Raises:
        MediaError: the file is not a readable video.
        OptionsError / UnsupportedLanguageError: options that cannot work.
    """
    options = options or OcrOptions(engine=engine.name)
    if options.engine != engine.name:
        raise OptionsError(
            f"options ask for engine {options.engine!r} but the loaded engine is {engine.name!r}."
        )
    from pipelines.frames import open_video

    cap, info = open_video(path)
    cap.release()
    total_samples = max(1, int(info.duration * options.sample_rate) + 1)
    detector = ChangeDetector(options.change)
    current: list[Reading] = []
    samples: list[FrameDetections] = []
    ocred = regions_ocred = 0
    t_decode = t_compare = t_ocr = 0.0
    started = last = time.perf_counter()
    last_time = 0.0
    for _, t, frame in sample_frames(path, options.sample_rate):
        now = time.perf_counter()
        t_decode += now - last
        crop, (ox, oy) = _apply_roi(frame, options.roi)
        change = detector.update(crop)
        t_compare += time.perf_counter() - now
        now = time.perf_counter()
        regions = change.regions
        if change.small:
            # Small steady changes matter only on text (a digit); elsewhere they are the cursor.
            touching = tuple(b for b in change.small if any(_near(b, r.box) for r in current))
            detector.absorb(touching)
            regions += touching
        new_scene = change.kind is ChangeKind.SCENE
        if regions:
            ocred += 1
            before = current
            if regions == ((0, 0, crop.shape[1], crop.shape[0]),):
                current = _filter(engine.read(crop), options)
            else:
                current, calls = _read_changes(crop, regions, current, engine, options)
                regions_ocred += calls
            new_scene = new_scene or _text_replaced(before, current)
        t_ocr += time.perf_counter() - now
        h, w = frame.shape[:2]
        dets = tuple(_normalise(r, w, h) for r in _offset(current, ox, oy))
        samples.append(FrameDetections(t, dets, new_scene=new_scene))
        last_time = t
        if progress is not None and len(samples) % 10 == 0:
            progress(min(0.99, len(samples) / total_samples))
        last = time.perf_counter()
    now = time.perf_counter()
    events = track_text(samples, 1.0 / options.sample_rate, options.tracking)
    scenes = unique_text(events)
    t_track = time.perf_counter() - now
    if progress is not None:
        progress(1.0)
    timing = OcrTiming(round(t_decode, 3), round(t_compare, 3), round(t_ocr, 3), round(t_track, 3),
                       round(time.perf_counter() - started, 3))
    log.info("ocr %s: %d samples, %d read (%d regions), %d events, %.1f s", path, len(samples), ocred,
             regions_ocred, len(events), timing.total)
    return OcrResult(
        events=tuple(events),
        scenes=tuple(scenes),
        samples=tuple(samples),
        frames_sampled=len(samples),
        frames_ocred=ocred,
        regions_ocred=regions_ocred,
        duration=max(info.duration, last_time + 1.0 / options.sample_rate),
        engine=engine.name,
        timing=timing,
    )
