"""Burned-in (hard) subtitles: find the caption band, follow its text layer, read each caption once.

Three steps, each cheap where the generic on-screen-text reader would be slow or fooled by
moving footage:

1. **Band** (``find_band`` in ``pipelines.ocr.band``): a few frames spread over the video are
   read whole; text at the same place with the same reading in most of them is static
   (a watermark, a logo); centred text that changes, at one height, is the caption band.
2. **Text layer** (``text_mask``): in the band only, pixels that are bright, next to a dark
   pixel (a caption's outline, shadow or box) and unchanged since the previous frame. Moving
   footage changes from frame to frame, a caption does not, so the mask follows the caption and
   not the picture. Samples are taken at ``sample_rate`` (10 a second by default).
3. **Reading, once per caption**: a stretch of samples is read (the band crop, with detection)
   once its layer held for a second sample. From then on only a change within its lines' boxes
   counts, checked by recognising the lines where they are (no detection: cheap): footage moving
   around or behind a caption changes the layer but not the reading. New strokes beside the
   lines that held for two samples (a line or words added; ``lost_and_new``) have the band read
   again. An empty band is read again when strokes appear and hold, or now and then while its
   layer changes at all (a faint caption without an outline hardly shows in it). Where a
   caption changed, the frame is found by binary search over the frames since two samples
   before (kept, cropped to the band), so a cue's start and end are frame-exact; its edges are
   checked by recognising its lines (``pipelines.ocr.caption_edges``). Static text is dropped,
   identical readings of neighbouring stretches are merged into one cue
   (``pipelines.ocr.caption_cues``), and lines stay apart (``caption_lines``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from pipelines.exceptions import OptionsError
from pipelines.ocr.band import BandOptions, BandSearch, StaticText, band_pixels, find_band
from pipelines.ocr.caption_cues import CaptionCue, Span, merge_spans, same_caption
from pipelines.ocr.caption_edges import EdgeSamples, settle_edges, shows, vanishes
from pipelines.ocr.engines import OcrEngine, Reading
from pipelines.ocr.frames import PixelBox, open_video
from pipelines.ocr.tracking import overlap, similarity

log = logging.getLogger(__name__)

Progress = Callable[[float], None]


@dataclass(frozen=True)
class CaptionOptions:
    """How burned-in captions are extracted.

    Attributes:
        band: a normalised (left, top, right, bottom) caption region given by the user; None:
            found automatically (``band_search``).
        sample_rate: samples per second in the band (at least 8: a 0.4 s caption is 4 samples).
        bright: lowest brightness (max of B, G, R; 0-255) of a caption's letters.
        dark: highest grey level of the outline, shadow or box next to them.
        steady: largest grey-level change from the previous frame of a pixel of the text layer.
        change: share of the text layer (pixels of either mask, with one pixel of tolerance) that
            must differ for "the caption changed"...
        change_letters: ...and how many letters' worth of pixels at least (a letter is about
            ``0.05 * line height²`` pixels of layer), so that footage that looks like strokes
            (a tiled floor) neither hides a short caption nor splits a long one. This is for the
            layer against the stretch's reference (its first sample, or the last one whose lines
            were checked), which drifts as the footage moves.
        step_letters: the same for the layer against the sample just before, a tenth of a
            second away, where the footage drifts little: two changed characters of a CJK
            caption, whose dense strokes mostly lie within a pixel of the old ones, are enough.
        beside_letters: once a caption's lines are known, letters' worth of new strokes beside
            them (a line or words added) for the band to be read again; the footage around a
            caption often changes by a few letters' worth.
        empty_every: an empty band whose layer keeps changing is read again this many seconds
            after it was last read (a faint caption without an outline hardly shows in the
            layer; its start is then found by recognising it in the samples before)...
        empty_every_max: ...the wait doubling, up to this, while the band reads empty.
        min_layer: share of the band's pixels the text layer must cover to hold a caption; below
            it the band is empty and is not read.
        min_duration: stretches shorter than this (seconds: fades, a frame of transition) are
            not read on their own.
        merge_gap: identical readings at most this far apart (seconds) are one cue.
        min_confidence: readings the engine is less sure of (0-1) are dropped.
        same_text: similarity (1 - normalised edit distance) of two readings of one caption.
        band_search: how the band is found.
    """

    band: tuple[float, float, float, float] | None = None
    sample_rate: float = 10.0
    bright: int = 165
    dark: int = 100
    steady: int = 28
    change: float = 0.04
    change_letters: float = 2.5
    step_letters: float = 1.5
    beside_letters: float = 5.0
    empty_every: float = 0.5
    empty_every_max: float = 1.0
    min_layer: float = 0.002
    min_duration: float = 0.06
    merge_gap: float = 0.25
    min_confidence: float = 0.5
    same_text: float = 0.9
    band_search: BandOptions = field(default_factory=BandOptions)

    def __post_init__(self) -> None:
        if not 8 <= self.sample_rate <= 60:
            raise OptionsError(f"caption sample_rate must be in [8, 60] per second, got {self.sample_rate}.")
        if self.band is not None:
            x0, y0, x1, y1 = self.band
            if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
                raise OptionsError(
                    "caption band must be a normalised box (left, top, right, bottom) with "
                    f"0 <= left < right <= 1 and 0 <= top < bottom <= 1, got {self.band}."
                )


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


def text_mask(band: np.ndarray, previous: np.ndarray | None, options: CaptionOptions,
              following: np.ndarray | None = None) -> np.ndarray:
    """The caption text layer of a band crop (BGR) as a boolean mask (see the module doc).

    ``previous`` and ``following`` are the same crop of the frames before and after (None: not
    known). A pixel of the layer is steady with at least one of them: the first frame of a
    caption differs from the one before, its last frame from the one after, and both belong to
    it; moving footage is steady with neither. Without either, there is no steadiness test.
    """
    gray = cv2.cvtColor(band, cv2.COLOR_BGR2GRAY)
    bright = (band.max(axis=2) >= options.bright).astype(np.uint8)
    # Letters are strokes: thin bright lines. A bright area wider than a stroke (sky, a face, a
    # drawn figure next to its outline) survives an opening by a stroke-sized square; letters don't.
    wide = cv2.morphologyEx(bright, cv2.MORPH_OPEN, np.ones((6, 6), np.uint8))
    near_dark = cv2.erode(gray, np.ones((5, 5), np.uint8)) <= options.dark
    mask = (bright > wide) & near_dark
    neighbours = [n for n in (previous, following) if n is not None]
    if neighbours:
        steady = np.zeros_like(mask)
        for n in neighbours:
            steady |= cv2.absdiff(gray, cv2.cvtColor(n, cv2.COLOR_BGR2GRAY)) <= options.steady
        mask &= steady
    return np.asarray(mask)


def layer_difference(a: np.ndarray, b: np.ndarray) -> tuple[int, float]:
    """Pixels of two text layers that differ (1-pixel tolerant), and their share of both layers."""
    na, nb = int(a.sum()), int(b.sum())
    if na + nb == 0:
        return 0, 0.0
    kernel = np.ones((3, 3), np.uint8)
    grown_a = cv2.dilate(a.astype(np.uint8), kernel).astype(bool)
    grown_b = cv2.dilate(b.astype(np.uint8), kernel).astype(bool)
    missing = int((a & ~grown_b).sum()) + int((b & ~grown_a).sum())
    return missing, missing / (na + nb)


def layer_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Share of two text layers that differs (0: same; 1: nothing in common), 1-pixel tolerant."""
    return layer_difference(a, b)[1]


def lost_and_new(ref: np.ndarray, earlier: np.ndarray, before: np.ndarray,
                 current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What changed in a text layer and held for two samples (1-pixel tolerant): strokes of
    ``ref`` and of the sample ``earlier`` missing from the samples ``before`` and ``current``,
    and strokes of both those missing from ``ref`` and ``earlier``.

    A caption that changed between ``earlier`` and ``before`` shows in both; footage moving
    behind it changes its strokes from one sample to the next, and seldom holds them.
    """
    kernel = np.ones((3, 3), np.uint8)

    def grown(m: np.ndarray) -> np.ndarray:
        return np.asarray(cv2.dilate(m.astype(np.uint8), kernel).astype(bool))

    lost = ref & earlier & ~grown(current) & ~grown(before)
    new = current & before & ~grown(ref) & ~grown(earlier)
    return lost, new


def find_change(lo: int, hi: int, distance_to: Callable[[int], tuple[float, float]]) -> int:
    """The first index in (lo, hi] that looks like ``hi`` rather than ``lo`` (binary search).

    ``distance_to(i)`` gives frame ``i``'s distance to the frame at ``lo`` and to the one at
    ``hi``; the layer is assumed to switch once between them.
    """
    while hi - lo > 1:
        mid = (lo + hi) // 2
        to_lo, to_hi = distance_to(mid)
        if to_hi < to_lo:
            hi = mid
        else:
            lo = mid
    return hi


@dataclass
class _Stretch:
    """Frames with one caption: first frame, the fullest sample's band crop and mask (until it
    is read), the layer later samples are compared with (``ref``), and its lines once read."""

    first: int
    crop: np.ndarray
    mask: np.ndarray
    count: int
    ref: np.ndarray
    edges: EdgeSamples = field(default_factory=EdgeSamples)
    lines: list[Reading] | None = None


def _layer_columns(half_width: float, box: PixelBox, width: int) -> tuple[int, int]:
    """Columns of the band crop (full resolution) around the centre where captions were seen."""
    left = max(box[0], int((0.5 - half_width) * width))
    right = min(box[2], round((0.5 + half_width) * width))
    return left - box[0], max(left - box[0] + 1, right - box[0])


def _mask_static(crop: np.ndarray, static: list[PixelBox]) -> np.ndarray:
    """Paint static text (a watermark inside the band) over with the crop's median colour."""
    if not static:
        return crop
    out = crop.copy()
    fill = np.median(crop.reshape(-1, 3), axis=0).astype(np.uint8)
    for x0, y0, x1, y1 in static:
        out[y0:y1, x0:x1] = fill
    return out


def caption_lines(readings: list[Reading]) -> list[Reading]:
    """Readings of a caption crop -> its lines, top to bottom, words left to right with spaces
    (each line's box holds its readings' boxes; its confidence is their least; flags, all).

    Boxes whose vertical centre lies inside another box's span are one line.
    """
    lines: list[list[Reading]] = []
    for r in sorted(readings, key=lambda r: (r.box[1] + r.box[3]) / 2):
        centre = (r.box[1] + r.box[3]) / 2
        if lines and any(o.box[1] <= centre <= o.box[3] for o in lines[-1]):
            lines[-1].append(r)
        else:
            lines.append([r])
    out = []
    for line in lines:
        parts = sorted(line, key=lambda r: r.box[0])
        text = " ".join(p.text.strip() for p in parts if p.text.strip())
        if text:
            box = (min(p.box[0] for p in parts), min(p.box[1] for p in parts),
                   max(p.box[2] for p in parts), max(p.box[3] for p in parts))
            flags = tuple(sorted({f for p in parts for f in p.flags}))
            out.append(Reading(box, text, min(p.confidence for p in parts), parts[0].script, flags))
    return out


@dataclass
class _Window:
    """The band crops of the frames since the sample before the last, and their text layers (on demand)."""

    options: CaptionOptions
    base: int = 0
    crops: list[np.ndarray] = field(default_factory=list)
    masks: dict[int, np.ndarray] = field(default_factory=dict)

    def add(self, crop: np.ndarray) -> None:
        self.crops.append(crop)

    def mask(self, index: int) -> np.ndarray:
        if index not in self.masks:
            k = index - self.base
            before = self.crops[k - 1] if k > 0 else None
            after = self.crops[k + 1] if k + 1 < len(self.crops) else None
            self.masks[index] = text_mask(self.crops[k], before, self.options, after)
        return self.masks[index]

    def restart(self, index: int) -> None:
        """Forget the frames before ``index``: the next search looks no further back."""
        self.mask(index)
        self.masks = {i: m for i, m in self.masks.items() if i >= index}
        self.crops = self.crops[index - self.base:]
        self.base = index


@dataclass
class _Extractor:
    """The dense pass over the band: follows the text layer and reads each new layer once."""

    engine: OcrEngine
    options: CaptionOptions
    static: list[StaticText]
    box: PixelBox
    size: tuple[int, int]
    fps: float
    scale: float
    line: float
    half_width: float
    static_px: list[PixelBox] = field(default_factory=list)
    cache: list[tuple[np.ndarray, list[Reading]]] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    window: _Window | None = None
    stretch: _Stretch | None = None
    waiting: tuple[int, np.ndarray] | None = None  # a sample and its band crop, until the next frame
    ocred: int = 0
    sampled: int = 0
    candidates: int = 0  # samples whose text layer changed
    checked: int = 0  # ...whose caption's lines were recognised again
    beside_reads: int = 0  # ...whose band was read again for text beside the lines
    last_sample: int | None = None
    empty_reads: int = 0  # reads of an empty band whose layer kept changing (``faint_due``)
    empty_since: int = 0
    empty_wait: float = 0.0
    previous: tuple[_Stretch, list[Reading]] | None = None  # the stretch closed last, its lines

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.box
        w, h = self.size
        for s in self.static:
            sx0, sy0, sx1, sy1 = band_pixels(s.box, w, h)
            if sx0 < x1 and x0 < sx1 and sy0 < y1 and y0 < sy1:
                self.static_px.append((max(0, sx0 - x0), max(0, sy0 - y0), min(x1, sx1) - x0, min(y1, sy1) - y0))
        self.window = _Window(self.options)

    def frame(self, index: int, frame: np.ndarray, sample: bool) -> None:
        """Take the next decoded frame; a sample is compared once the frame after it is in."""
        assert self.window is not None
        x0, y0, x1, y1 = self.box
        full = _mask_static(frame[y0:y1, x0:x1], self.static_px)
        self.window.add(self.crop(full))
        if self.waiting is not None:
            self.compare(*self.waiting)
            self.waiting = None
        if sample:
            self.waiting = (index, full)

    def compare(self, index: int, full: np.ndarray) -> None:
        """Compare sample ``index``'s text layer with the stretch's; on a change, find its frame."""
        assert self.window is not None
        self.sampled += 1
        win = self.window
        current = win.mask(index)
        count = int(current.sum())
        stretch = self.stretch
        before = self.last_sample
        if stretch is None or before is None:
            self.stretch = stretch = _Stretch(index, full, current, count, current)
        else:
            # Two samples back: a change is seen once it held for two samples (see ``layer_changed``).
            lo = max(win.base, stretch.first)
            if self.layer_changed(stretch, win.mask(win.base), win.mask(before), current):
                self.candidates += 1
                shown = self.still_shown(stretch, full, win.mask(win.base), win.mask(before), current)
                log.debug("sample %d: layer changed; stretch from %d, lines %s; still shown: %s", index,
                          stretch.first, None if stretch.lines is None else [r.text for r in stretch.lines], shown)
                if shown:
                    stretch.ref = current
                else:
                    at = find_change(lo, index, lambda i: (layer_distance(win.mask(i), win.mask(lo)),
                                                           layer_distance(win.mask(i), current)))
                    self.close(stretch, at)
                    self.stretch = stretch = _Stretch(at, full, current, count, current)
            elif stretch.lines is None:
                if count > stretch.count:
                    stretch.crop, stretch.mask, stretch.count = full, current, count
                # Read once the layer held for a second sample; from then on a change of the
                # layer is checked against the caption's lines.
                stretch.lines = self.read(stretch)
                self.empty_since, self.empty_wait = index, self.options.empty_every
            elif not stretch.lines and self.faint_due(stretch, index, win.mask(before), current):
                found = self.lines_of(full)
                self.ocred += 1
                self.empty_reads += 1
                if found:
                    # Its start is looked for among this stretch's last samples (``settle_edges``).
                    self.close(stretch, index)
                    self.stretch = stretch = _Stretch(index, full, current, count, current, lines=found)
                else:
                    stretch.ref = current
                    self.empty_since = index
                    self.empty_wait = min(2 * self.empty_wait, self.options.empty_every_max)
        stretch.edges.add(index, full)
        win.restart(index if before is None else before)
        self.last_sample = index

    def layer_changed(self, stretch: _Stretch, earlier: np.ndarray, before: np.ndarray,
                      current: np.ndarray) -> bool:
        """Whether the text layer changed between the samples ``earlier`` and ``before`` and held
        at ``current``: strokes of the stretch's layer (``ref``) gone from the last two samples,
        or strokes new in both. Footage moving behind a caption changes from sample to sample;
        a caption holds.

        Once the caption's lines are known, only strokes within them count, and many new strokes
        beside them (a line or words added, ``beside_letters``); an empty band changes only by
        new strokes.
        """
        lost, new = lost_and_new(stretch.ref, earlier, before, current)
        letter = 0.05 * (self.scale * self.line) ** 2
        if stretch.lines:
            # Within the lines, any change counts (checking them is cheap): two characters of a
            # CJK line, whose strokes mostly lie within a pixel of the old ones, are enough.
            on = ~self.beside(stretch.lines, current.shape)
            if (self.changed(before & on, current & on, self.options.step_letters)
                    or self.changed(stretch.ref & on, current & on)):
                return True
            return int((new & ~on).sum()) > self.options.beside_letters * letter
        total = int(stretch.ref.sum()) + int(current.sum())
        changed = int(new.sum()) + (int(lost.sum()) if stretch.lines is None else 0)
        return changed > self.options.change_letters * letter and changed > self.options.change * total

    def faint_due(self, stretch: _Stretch, index: int, before: np.ndarray, current: np.ndarray) -> bool:
        """Whether an empty band is read again: its layer changed at all (as a faint caption
        without an outline changes it, by a few pixels) and it was last read ``empty_wait``
        seconds ago or more (doubled while it reads empty, ``empty_every`` to ``empty_every_max``)."""
        if (index - self.empty_since) / self.fps < self.empty_wait - 1e-6:
            return False
        return self.changed(before, current, self.options.step_letters) or self.changed(stretch.ref, current)

    def still_shown(self, stretch: _Stretch, full: np.ndarray, earlier: np.ndarray, before: np.ndarray,
                    current: np.ndarray) -> bool:
        """Whether a sample whose text layer changed still shows the stretch's caption: the
        footage behind it moved, the caption did not.

        The stretch is read first (its fullest sample so far) if it was not yet. Its lines are
        then recognised where they are (no detection: cheap) and must read the same
        (``CaptionOptions.same_text``); and the layer beside them must not have changed, or a
        read of the band must give the same lines (a caption that gained a line or words).
        An empty band that changed is never "still shown": the new layer is a stretch of its own.
        """
        if stretch.lines is None:
            stretch.lines = self.read(stretch)
        lines = stretch.lines
        if not lines:
            return False
        self.checked += 1
        if not shows(full, lines, self.engine, self.options.same_text):
            return False
        new = lost_and_new(stretch.ref, earlier, before, current)[1] & self.beside(lines, current.shape)
        if int(new.sum()) <= self.options.beside_letters * 0.05 * (self.scale * self.line) ** 2:
            return True
        self.ocred += 1
        self.beside_reads += 1
        again = self.lines_of(full)
        return same_caption(" ".join(r.text for r in again), " ".join(r.text for r in lines), self.options.same_text)

    def beside(self, lines: list[Reading], shape: tuple[int, ...]) -> np.ndarray:
        """Where the text layer (``crop``'s columns and scale) is not within half a line height
        of the lines' boxes (band crop pixels)."""
        left, _ = _layer_columns(self.half_width, self.box, self.size[0])
        out = np.ones(shape[:2], bool)
        for r in lines:
            x0, y0, x1, y1 = r.box
            pad = (y1 - y0) / 2
            a, b = max(0, int((x0 - pad - left) * self.scale)), max(0, int((y0 - pad) * self.scale))
            c, d = max(0, round((x1 + pad - left) * self.scale)), max(0, round((y1 + pad) * self.scale))
            out[b:d, a:c] = False
        return out

    def changed(self, a: np.ndarray, b: np.ndarray, letters: float | None = None) -> bool:
        """Whether two text layers hold different captions (see ``CaptionOptions.change``);
        ``letters``: the least difference in letters' worth of pixels (``change_letters``)."""
        pixels, share = layer_difference(a, b)
        letter = 0.05 * (self.scale * self.line) ** 2
        least = self.options.change_letters if letters is None else letters
        return share > self.options.change and pixels > least * letter

    def finish(self, frames: int) -> None:
        """The video ended after ``frames`` frames: compare the last sample, close the last stretch."""
        if self.waiting is not None:
            self.compare(*self.waiting)
            self.waiting = None
        if self.stretch is not None:
            self.close(self.stretch, frames)

    def crop(self, full: np.ndarray) -> np.ndarray:
        """The part of a band crop whose text layer is followed, at the layer's scale."""
        left, right = _layer_columns(self.half_width, self.box, self.size[0])
        crop = full[:, left:right]
        if self.scale < 1.0:
            h, w = crop.shape[:2]
            return cv2.resize(crop, (max(1, round(w * self.scale)), max(1, round(h * self.scale))),
                              interpolation=cv2.INTER_AREA)
        return crop

    def read(self, stretch: _Stretch) -> list[Reading]:
        """The lines of a stretch's caption; a layer read before gives its reading again."""
        if stretch.count < self.options.min_layer * stretch.mask.size:
            return []
        for mask, lines in self.cache[-4:]:
            if mask.shape == stretch.mask.shape and not self.changed(mask, stretch.mask):
                return lines
        self.ocred += 1
        read = self.lines_of(stretch.crop)
        self.cache.append((stretch.mask, read))
        return read

    def lines_of(self, crop: np.ndarray) -> list[Reading]:
        """Read a band crop (full resolution): its caption lines, static and off-centre text left out."""
        # The band crop as it is: a replicated border (``read_region``) smears a letter at the
        # edge of the detector's box into it ("'m" for "I'm").
        readings = [r for r in self.engine.read(crop) if any(ch.isalnum() for ch in r.text) and r.confidence >= self.options.min_confidence]
        w, h = self.size
        x0, y0 = self.box[:2]
        kept: list[Reading] = []
        for r in readings:
            nbox = ((r.box[0] + x0) / w, (r.box[1] + y0) / h, (r.box[2] + x0) / w, (r.box[3] + y0) / h)
            if any(overlap(nbox, s.box) >= 0.5 and similarity(r.text, s.text) >= 0.6 for s in self.static):
                continue
            # A caption is centred: a reading wholly off to a side is the picture (a jacket's print).
            if nbox[2] < 0.5 - self.half_width or nbox[0] > 0.5 + self.half_width:
                continue
            kept.append(r)
        return caption_lines(kept)

    def close(self, stretch: _Stretch, end_frame: int) -> None:
        """Read a stretch that ended; its edges are checked against the kept samples
        (``pipelines.ocr.caption_edges``), reaching into a neighbouring stretch that read nothing."""
        previous, self.previous = self.previous, None
        if (end_frame - stretch.first) / self.fps < self.options.min_duration - 1e-6:
            return
        lines = self.read(stretch) if stretch.lines is None else stretch.lines
        if not lines:
            if previous is not None and previous[1]:
                # The caption before may still show here (its layer too faint to count).
                gone = vanishes(stretch.edges.early, previous[1], self.engine)
                if gone is not None and self.spans:
                    self.spans[-1].end = gone / self.fps
            self.previous = (stretch, [])
            return
        before = previous[0].edges if previous is not None and not previous[1] else None
        first, end_frame = settle_edges(stretch.edges, stretch.first, end_frame, lines, self.engine, before)
        self.previous = (stretch, lines)
        flags = tuple(sorted({f for line in lines for f in line.flags}))
        self.spans.append(Span(first / self.fps, end_frame / self.fps, tuple(line.text for line in lines),
                               min(line.confidence for line in lines), flags))


def extract_captions(
    path: str | Path,
    engine: OcrEngine,
    options: CaptionOptions | None = None,
    progress: Progress | None = None,
    search: BandSearch | None = None,
) -> CaptionResult:
    """Burned-in captions of a video as timed cues (see the module doc).

    Args:
        path: the video.
        engine: an OCR engine (``pipelines.ocr.engines``), loaded once and reused.
        options: extraction options; ``options.band`` skips the band search.
        progress: called with the fraction done (0-1) now and then.
        search: a band search already made (the stage may have run it to decide on captions).

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
    box = band_pixels(band, info.width, info.height)
    line = search.band.line_height * info.height if search.band else (box[3] - box[1]) / 2
    # The layer is compared where a caption line is about 24 pixels high: enough for its
    # strokes, little work.
    scale = min(1.0, 24.0 / max(1.0, line))
    half = search.band.half_width if search.band else 0.5
    ex = _Extractor(engine, options, list(search.static), box, (info.width, info.height), info.fps, scale,
                    line, half)
    step = max(1, round(info.fps / options.sample_rate))
    total = max(1, info.frame_count)
    cap, _ = open_video(path)
    index = 0
    try:
        while cap.grab():
            ok, frame = cap.retrieve()
            if ok and frame is not None:
                ex.frame(index, frame, index % step == 0)
                if progress is not None and index % (50 * step) == 0:
                    progress(min(0.99, index / total))
            index += 1
    finally:
        cap.release()
    ex.finish(index)
    cues = merge_spans(ex.spans, options.merge_gap, options.same_text)
    duration = index / info.fps if index else info.duration
    if progress is not None:
        progress(1.0)
    seconds = round(time.perf_counter() - started, 3)
    log.info("captions %s: band %s (%s), %d cues; %d frames decoded, %d sampled, %d layer changes, %d checked by "
             "their lines, %d read (%d beside lines, %d empty band), %.1f s", path, band, source, len(cues), index,
             ex.sampled, ex.candidates, ex.checked, ex.ocred, ex.beside_reads, ex.empty_reads, seconds)
    return CaptionResult(
        cues=tuple(cues),
        band=band,
        band_source=source,
        static=search.static,
        reason="" if cues else "no caption text was read in the band",
        frames_decoded=index + search.frames_decoded,
        frames_sampled=ex.sampled,
        frames_ocred=ex.ocred + search.frames_ocred,
        duration=duration,
        seconds=seconds,
    )
