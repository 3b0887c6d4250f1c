"""Where a video's burned-in captions are: the caption band, and the static text that is not captions.

A few frames spread over the video are read whole (downscaled). Readings are grouped by place
and text across those frames:

- **static**: the same text at the same place in most samples (a watermark, a channel logo, a
  running title), or off-centre text that stays for half of them. Never a caption.
- **caption candidates**: horizontally centred readings that are not static.

Candidates are clustered by height; in the lower part of the frame, the cluster seen in the
most samples, with at least two samples, is the band (its lines, e.g. two-line or bilingual
captions, stay in one band). Captions can also persist higher up (a second language, notes at
the top): a cluster above the band seen in two samples or more with at least two readings that
differ (``other_texts``; a title does not change) is another band, followed like the first. A
video whose frames carry many other lines of text (a screencast, a slide) has no caption band:
its centred lines are screen content.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from pipelines.ocr.caption_frames import frames_at
from pipelines.ocr.engines import OcrEngine, frame_place, read_knowing
from pipelines.ocr.frames import open_video
from pipelines.ocr.tracking import Box, FrameDetections, iou, normalise_text, overlap, similarity

log = logging.getLogger(__name__)


STATIC_PLACE = 0.6
"""Boxes overlapping this much (intersection over union) are one place for text that stays: the
detector's box of a name over moving footage differs from sample to sample (0.64 for the Arabic
name's tighter box over the zoom)."""


@dataclass(frozen=True)
class BandOptions:
    """How the caption band is searched for.

    Attributes:
        samples_per_minute: frames read whole per minute of video (bounded by the next two): one
            every 6 s finds a band that captions fill a third of the time in several samples.
        min_samples: fewest frames read (short clips).
        max_samples: most frames read (long videos).
        read_width: frames wider than this are downscaled before reading.
        centre_tolerance: largest distance (share of the width) of a caption's centre from the
            frame's centre.
        static_share: share of the samples in which the same text at the same place is static.
        max_other_lines: a video whose samples carry more than this many other text lines (the
            median) is screen content, not captioned footage.
        min_centre: lowest position (share of the height) of the band's centre: captions sit low;
            centred text higher up is a title (a caption region up there can be given instead).
        min_texts: fewest different readings in the band (captions change; a title does not).
        other_texts: fewest readings, each unlike the others, of a further band above the first.
        static_seconds: a longer text at one place in ``static_share`` of the samples, over at
            least this long (no caption stays so long: subtitle styles end a cue within ~7 s), is
            static, however it was read.
    """

    samples_per_minute: float = 10.0
    min_samples: int = 8
    max_samples: int = 40
    read_width: int = 960
    centre_tolerance: float = 0.12
    static_share: float = 0.8
    max_other_lines: int = 4
    min_centre: float = 0.5
    min_texts: int = 1
    other_texts: int = 2
    static_seconds: float = 10.0


@dataclass(frozen=True)
class Band:
    """The caption band: normalised box, typical line height (share of the frame height), and
    half the width (share of the frame width) around the centre where captions were seen."""

    box: Box
    line_height: float
    half_width: float
    samples: int
    texts: int


@dataclass(frozen=True)
class StaticText:
    """Text that stays on screen (normalised box, reading, share of the samples it was in)."""

    box: Box
    text: str
    share: float


@dataclass(frozen=True)
class BandSearch:
    """The band (None: no captions found), the static text, why no band, the work done, and
    further bands where captions persist too (above the first, e.g. at the top)."""

    band: Band | None
    static: tuple[StaticText, ...]
    reason: str
    frames_decoded: int
    frames_ocred: int
    others: tuple[Band, ...] = ()


@dataclass
class _Group:
    box: Box
    text: str
    samples: set[int]


def _centre_x(box: Box) -> float:
    return (box[0] + box[2]) / 2


def _group(readings: list[tuple[int, Box, str]]) -> list[_Group]:
    groups: list[_Group] = []
    for sample, box, text in readings:
        for g in groups:
            if overlap(g.box, box) >= 0.5 and similarity(g.text, text) >= 0.7:
                g.samples.add(sample)
                break
        else:
            groups.append(_Group(box, text, {sample}))
    return groups


def _places(readings: list[tuple[int, Box, str]]) -> list[tuple[Box, set[int]]]:
    """Readings grouped by place alone (nearly the same box): each place's first box and samples."""
    places: list[tuple[Box, set[int]]] = []
    for sample, box, _ in readings:
        for first, shown in places:
            if iou(first, box) >= 0.7:
                shown.add(sample)
                break
        else:
            places.append((box, {sample}))
    return places


def spread_indices(fps: float, frame_count: int, options: BandOptions) -> list[int]:
    """The frames the band search reads, by index: ``samples_per_minute`` (within the bounds)
    spread evenly over the video, and two more."""
    duration = frame_count / fps if fps > 0 else 0.0
    count = int(min(options.max_samples, max(options.min_samples, options.samples_per_minute * duration / 60)))
    step = fps / (count / max(duration, 1e-3))
    return sorted({round(k * step) for k in range(count + 2) if round(k * step) < max(1, frame_count)})


def _downscale(frame: np.ndarray, width: int) -> np.ndarray:
    h, w = frame.shape[:2]
    scale = min(1.0, width / w)
    if scale >= 1.0:
        return frame
    return cv2.resize(frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


class SearchFrames:
    """The band search's frames, kept by a pass that decodes the video anyway (the on-screen
    text reader's, which decodes them for it: ``pipelines.ocr.frames.FrameTap``), so that the
    search decodes none of its own: seeking to a frame every few seconds decoded from the
    keyframe before each (2.25 s of a 60 s 720p clip's 21 s).

    The frames are the ones the search would decode (``spread_indices``; frames a few samples
    apart read differently where a caption changes, and a band placed 3 pixels higher lost a
    cue of a real clip), downscaled as the search reads them and kept losslessly compressed
    (PNG, ~0.5 MB for a 960-pixel frame of footage, far less for a screen). Nothing is kept
    until ``plan`` says which frames.
    """

    def __init__(self, options: BandOptions) -> None:
        self.options = options
        self.wanted: frozenset[int] = frozenset()
        self.fps = 0.0
        self.kept: dict[int, np.ndarray] = {}

    def plan(self, fps: float, frame_count: int) -> None:
        """Keep the search's frames of a video of ``frame_count`` frames at ``fps``."""
        self.wanted = frozenset(spread_indices(fps, frame_count, self.options))
        self.fps = fps

    def wants(self, index: int) -> bool:
        """Whether frame ``index`` is one of the search's."""
        return index in self.wanted

    def offer(self, index: int, bgr: Callable[[], np.ndarray]) -> None:
        """Keep frame ``index`` if it is one of the search's (``bgr()`` made only then)."""
        if index in self.wanted and index not in self.kept:
            ok, png = cv2.imencode(".png", _downscale(bgr(), self.options.read_width),
                                   [cv2.IMWRITE_PNG_COMPRESSION, 1])
            if ok:
                self.kept[index] = png

    @property
    def complete(self) -> bool:
        """Whether every frame the search needs was kept."""
        return bool(self.wanted) and len(self.kept) == len(self.wanted)

    def frames(self) -> Iterator[np.ndarray]:
        """The kept frames (BGR, downscaled), in order."""
        for index in sorted(self.kept):
            yield np.asarray(cv2.imdecode(self.kept[index], cv2.IMREAD_COLOR))

    def times(self) -> list[float]:
        """The kept frames' times (seconds), in order."""
        return [index / self.fps for index in sorted(self.kept)] if self.fps > 0 else []


def find_band(path: str | Path, engine: OcrEngine, options: BandOptions | None = None,
              frames: SearchFrames | None = None) -> BandSearch:
    """Search a video for its caption band (see the module doc). ``frames``: the spread frames
    kept by the reader's pass (used when complete; else they are decoded here).

    Raises:
        MediaError: the file is not a readable video.
    """
    options = options or BandOptions()
    own = frames is None or not frames.complete
    if own:
        cap, info = open_video(path)
        cap.release()
        # The spread frames, without decoding them all (``frames_at``).
        wanted = spread_indices(info.fps, info.frame_count, options)
        times: list[float] = []

        def spread() -> Iterator[np.ndarray]:
            for index, frame in frames_at(path, wanted):
                times.append(index / info.fps if info.fps > 0 else 0.0)
                yield _downscale(frame, options.read_width)

        images: Iterator[np.ndarray] = spread()
    else:
        assert frames is not None
        images, times = frames.frames(), frames.times()
    readings: list[tuple[int, Box, str]] = []
    n = 0
    for n, small in enumerate(images, 1):
        sh, sw = small.shape[:2]
        # Read as the whole frame it is (``LINE_PLACE``): a line read as nothing where captions sit
        # is identified from its pixels (``pipelines.ocr.scripts.CAPTION_PLACE``).
        for r in read_knowing(engine, small, None, frame_place(sw, sh)):
            if any(ch.isalnum() for ch in r.text):
                readings.append((n - 1, (r.box[0] / sw, r.box[1] / sh, r.box[2] / sw, r.box[3] / sh), r.text))
    search = analyse(readings, n, options, times if len(times) == n else None)
    log.info("band search %s: %d frames read whole (%s): band %s%s", path, n,
             "decoded for it" if own else "kept by the on-screen text reader",
             search.band.box if search.band else None, f" ({search.reason})" if search.reason else "")
    return replace(search, frames_decoded=n if own else 0, frames_ocred=n)


def band_from_samples(samples: Sequence[FrameDetections], options: BandOptions | None = None,
                      static: Sequence[StaticText] = ()) -> BandSearch:
    """The band search on what the on-screen-text reader already read (no OCR of its own).

    Its samples list all text on screen at each sample time; at most ``max_samples`` of them,
    spread evenly, are looked at. ``static``: text known to stay (a search's on frames read whole),
    besides what the samples show staying.
    """
    options = options or BandOptions()
    if not samples:
        return BandSearch(None, (), "no frame could be read", 0, 0)
    count = min(len(samples), options.max_samples)
    picked = [samples[round(i * (len(samples) - 1) / max(1, count - 1))] for i in range(count)]
    readings = [(k, d.box, d.text) for k, frame in enumerate(picked) for d in frame.detections]
    return analyse(readings, count, options, [frame.time for frame in picked], static)


def analyse(readings: list[tuple[int, Box, str]], samples: int, options: BandOptions | None = None,
            times: Sequence[float] | None = None, known: Sequence[StaticText] = ()) -> BandSearch:
    """The band and the static text from readings ``(sample, normalised box, text)`` of ``samples``
    frames; ``times``: each sample's time in seconds (None: unknown, and text that stays is told
    only by its short readings and by the share of samples it is read the same in); ``known``:
    static text found before (readings of it are no caption either)."""
    options = options or BandOptions()
    if samples == 0:
        return BandSearch(None, (), "no frame could be read", 0, 0)
    groups = _group(readings)
    static = list(known)
    # A short reading at one place in most samples, however differently read (a logo read as
    # "MV", "NV", "VV"), is static; a long one that changes there is a caption that stays.
    for box, shown in _places(readings):
        said = [t for s, b, t in readings if b == box]
        common = max(set(said), key=said.count)
        if len(shown) >= max(2, options.static_share * samples) and sum(ch.isalnum() for ch in common) <= 4:
            static.append(StaticText(box, common, round(len(shown) / samples, 3)))
            continue
        # A longer text at one place (about the same box) in most samples, over longer than a
        # caption stays (``static_seconds``): a channel's name over moving footage, however it
        # was read there ("한국요육방송 채널", "合", "Aukal le" for "한국교육방송 채널" and
        # "قناة التعليم"; the detector's box of it moves a little with the picture behind).
        # Captions come and go, each at a box of its own length; in a clip of a few seconds
        # one caption may fill most samples.
        there = [(s, t) for s, b, t in readings if iou(b, box) >= STATIC_PLACE]
        near = {s for s, _ in there}
        if (times is None or len(near) < max(2, options.static_share * samples)
                or times[max(near)] - times[min(near)] < options.static_seconds):
            continue
        # Read the same twice or more there: the name, and nothing else (captions of about one
        # length at one place each recur, while a name's misreadings over moving footage differ).
        long = [normalise_text(t) for _, t in there if sum(ch.isalnum() for ch in t) > 4]
        recurring = [t for t in dict.fromkeys(long) if long.count(t) >= 2]
        if len(recurring) != 1:
            continue
        name = next(t for _, t in there if normalise_text(t) == recurring[0])
        static.append(StaticText(box, name, round(len(near) / samples, 3)))
    for g in groups:
        share = len(g.samples) / samples
        centred = abs(_centre_x(g.box) - 0.5) <= options.centre_tolerance
        if any(iou(g.box, s.box) >= 0.7 for s in static):
            continue
        if len(g.samples) >= 2 and (share >= options.static_share or (not centred and share >= 0.5)):
            static.append(StaticText(g.box, g.text, round(share, 3)))
    def is_static(box: Box, text: str) -> bool:
        # A long reading where a short one stays is no logo misread: a caption of another script,
        # read as a few garbled letters at first ("РРО п"), then whole at the same place.
        return any((iou(box, s.box) >= 0.7 and not _longer_than_logo(text, s.text))
                   or (sum(ch.isalnum() for ch in s.text) > 4 and _inside(box, s.box))
                   or (overlap(box, s.box) >= 0.5 and similarity(text, s.text) >= 0.7) for s in static)

    moving = [r for r in readings if not is_static(r[1], r[2])]
    middle = [r for r in moving if abs(_centre_x(r[1]) - 0.5) <= options.centre_tolerance]
    candidates = [r for r in middle if (r[1][1] + r[1][3]) / 2 >= options.min_centre]
    if not candidates:
        return BandSearch(None, tuple(static), "no centred changing text in the lower half", 0, 0)
    clusters = _clusters(candidates)
    # Seen in most samples, then lower on the frame (where captions usually are).
    best = max(clusters, key=lambda cl: len({s for s, _, _ in cl}) + 0.5 * cl[0][1][1])
    seen = {s for s, _, _ in best}
    texts = {t for _, _, t in best}
    if len(seen) < 2 or len(texts) < options.min_texts:
        return BandSearch(None, tuple(static), "caption-like text in fewer than two samples, or never changing", 0, 0)
    # Other text in the samples that show a caption: a screencast has many lines, footage few.
    chosen = set(map(id, best))
    other_lines = statistics.median(sum(1 for r in moving if r[0] == k and id(r) not in chosen) for k in seen)
    if other_lines > options.max_other_lines:
        return BandSearch(None, tuple(static),
                          f"centred text among {other_lines:g} other lines a frame: screen content, not captions", 0, 0)
    band = _band_of(best)
    others: list[Band] = []
    # Higher up, clusters whose readings change (a title is read the same, or nearly) and that
    # were seen twice, above the band and apart from it.
    for cluster in _clusters([r for r in middle if (r[1][1] + r[1][3]) / 2 < options.min_centre]):
        distinct: list[str] = []
        for _, _, text in cluster:
            if all(similarity(text, t) < 0.7 for t in distinct):
                distinct.append(text)
        other = _band_of(cluster)
        if other.samples >= 2 and len(distinct) >= options.other_texts and other.box[3] <= band.box[1]:
            others.append(other)
    log.info("caption band %s from %d samples, %d texts; others %s; static: %s", band.box, len(seen), len(texts),
             [o.box for o in others], [s.text for s in static])
    return BandSearch(band, tuple(static), "", 0, 0, tuple(others))


def _inside(box: Box, static: Box) -> bool:
    """Whether a reading's ``box`` lies within a static text's box (most of its area, and not
    larger): the static text read in part, its box cut by the picture behind it."""
    return (overlap(box, static) >= 0.8
            and (box[2] - box[0]) * (box[3] - box[1]) <= 1.25 * (static[2] - static[0]) * (static[3] - static[1]))


def _longer_than_logo(text: str, static: str) -> bool:
    """Whether ``text`` holds more than twice a short static text's letters and digits (``static``
    of four or fewer, a logo's), and more than eight."""
    n, short = sum(ch.isalnum() for ch in text), sum(ch.isalnum() for ch in static)
    return short <= 4 and n > max(8, 2 * short)


def _clusters(candidates: list[tuple[int, Box, str]]) -> list[list[tuple[int, Box, str]]]:
    """Readings clustered by height: one joins a cluster when its centre lies within a line
    height below the cluster's lowest box."""
    clusters: list[list[tuple[int, Box, str]]] = []
    for c in sorted(candidates, key=lambda c: (c[1][1] + c[1][3]) / 2):
        centre = (c[1][1] + c[1][3]) / 2
        if clusters:
            last = clusters[-1]
            bottom = max(b[3] for _, b, _ in last)
            height = statistics.median(b[3] - b[1] for _, b, _ in last)
            if centre - bottom <= 1.0 * height:
                last.append(c)
                continue
        clusters.append([c])
    return clusters


def _band_of(cluster: list[tuple[int, Box, str]]) -> Band:
    """The band around a cluster of readings: a line's height of margin above and below."""
    line = statistics.median(b[3] - b[1] for _, b, _ in cluster)
    top = max(0.0, min(b[1] for _, b, _ in cluster) - 1.0 * line)
    bottom = min(1.0, max(b[3] for _, b, _ in cluster) + 1.0 * line)
    # Captions longer than the ones seen are likely: a fifth more, and a few letters.
    half = min(0.5, 1.2 * max(max(0.5 - b[0], b[2] - 0.5) for _, b, _ in cluster) + 0.05)
    return Band((0.0, round(top, 4), 1.0, round(bottom, 4)), round(line, 4), round(half, 4),
                len({s for s, _, _ in cluster}), len({t for _, _, t in cluster}))


def band_pixels(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """A normalised box in pixels (left, top, right, bottom; right/bottom exclusive)."""
    x0, y0 = int(box[0] * width), int(box[1] * height)
    return x0, y0, max(x0 + 1, round(box[2] * width)), max(y0 + 1, round(box[3] * height))

