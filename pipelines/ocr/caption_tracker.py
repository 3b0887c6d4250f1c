"""The dense pass over a caption band: follows its text layer and reads each new caption once
(see ``pipelines.ocr.captions`` for the method)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from pipelines.ocr.band import StaticText, band_pixels
from pipelines.ocr.caption_cues import Span, same_caption
from pipelines.ocr.caption_edges import EdgeSamples, appears, settle_edges, shows, vanishes
from pipelines.ocr.caption_layer import (
    LayerWindow,
    find_change,
    layer_difference,
    layer_distance,
    lost_and_new,
    thin_bright,
)
from pipelines.ocr.caption_options import CaptionOptions
from pipelines.ocr.caption_signature import LineSignature
from pipelines.ocr.caption_widen import RIGHT_TO_LEFT, Widener
from pipelines.ocr.engines import OcrEngine, Reading
from pipelines.ocr.frames import PixelBox
from pipelines.ocr.lexicon import known_letters
from pipelines.ocr.scripts import script_of, script_packs
from pipelines.ocr.tracking import SCRIPT_UNCERTAIN, letters_and_digits, overlap, similarity

ECHO_SIMILARITY = 0.5
"""How alike (1 - normalised edit distance of letters and digits) two readings of a fading caption
are: a stretch's reading and the caption before it, for the stretch to be that caption read as it
faded out (``CaptionTracker.echoes``; the generated Hebrew and Hindi fades read 0.87 and 0.55 alike,
a Devanagari reading losing its vowel signs to the comparison); a caption read as it faded in and
its reading where its layer was fullest, for the latter to replace it (``CaptionTracker.close``)."""

log = logging.getLogger(__name__)


@dataclass
class _Stretch:
    """Frames with one caption: first frame, the fullest sample's band crop and mask (until it
    is read), the layer later samples are compared with (``ref``), its lines once read, the
    lines of the stretch before it, which were seen gone where this one began (``gone``), and,
    once read, the sample with the fullest layer where it was seen still shown (``fullest``)."""

    first: int
    crop: np.ndarray
    mask: np.ndarray
    count: int
    ref: np.ndarray
    edges: EdgeSamples = field(default_factory=EdgeSamples)
    lines: list[Reading] | None = None
    signature: LineSignature | None = None
    gone: list[Reading] | None = None
    fullest: tuple[int, np.ndarray, np.ndarray] | None = None  # after the read: see ``keep_fullest``
    faint: bool = False  # read on an empty band's layer as it changed (``faint_due``): a caption fading in
    crop_at: int = -1  # the frame of ``crop`` (-1: ``first``)

    def __post_init__(self) -> None:
        if self.crop_at < 0:
            self.crop_at = self.first

    def keep_fullest(self, full: np.ndarray, current: np.ndarray) -> None:
        """Keep a sample (band crop, text layer) where the caption read was seen still shown, if
        its layer is the fullest so far: its lines are looked at again there as the stretch
        closes (``Widener.widened_at``), since a caption read while it faded in had letters too
        faint for the detector then."""
        count = int(current.sum())
        if self.fullest is None or count > self.fullest[0]:
            self.fullest = (count, full, current)


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
    """Readings of a caption crop -> its lines, top to bottom, words in reading order with spaces:
    left to right, or right to left where most of the line's letters are Arabic or Hebrew (a line
    the detector found as two boxes, "حاول مرة" and "لاحقا", is "حاول مرة لاحقا", not "لاحقا حاول
    مرة"). Each line's box holds its readings' boxes; its confidence is their least; flags, all.

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
        rtl = script_of(" ".join(p.text for p in line)) in RIGHT_TO_LEFT
        parts = sorted(line, key=lambda r: -r.box[2] if rtl else r.box[0])
        text = " ".join(p.text.strip() for p in parts if p.text.strip())
        if text:
            box = (min(p.box[0] for p in parts), min(p.box[1] for p in parts),
                   max(p.box[2] for p in parts), max(p.box[3] for p in parts))
            flags = tuple(sorted({f for p in parts for f in p.flags}))
            out.append(Reading(box, text, min(p.confidence for p in parts), parts[0].script, flags))
    return out


@dataclass
class CaptionTracker:
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
    window: LayerWindow | None = None
    stretch: _Stretch | None = None
    waiting: tuple[int, np.ndarray] | None = None  # a sample and its band crop, until the next frame
    ocred: int = 0
    sampled: int = 0
    candidates: int = 0  # samples whose text layer changed
    checked: int = 0  # ...whose caption's lines were recognised again
    beside_reads: int = 0  # ...whose band was read again for text beside the lines
    stroke_reads: int = 0  # ...and again as its bright strokes alone (a layer that read as nothing)
    last_sample: int | None = None
    faded_echoes: int = 0  # stretches read as the caption before faded out (``echoes``), no cue
    doubtful_reread: int = 0  # stretches whose doubtful reading another sample read better (``close``)
    empty_reads: int = 0  # reads of an empty band whose layer kept changing (``faint_due``)
    empty_since: int = 0
    empty_wait: float = 0.0
    previous: tuple[_Stretch, list[Reading]] | None = None  # the stretch closed last, its lines
    widener: Widener = field(init=False)  # cut lines read again (``pipelines.ocr.caption_widen``)

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.box
        w, h = self.size
        for s in self.static:
            sx0, sy0, sx1, sy1 = band_pixels(s.box, w, h)
            if sx0 < x1 and x0 < sx1 and sy0 < y1 and y0 < sy1:
                self.static_px.append((max(0, sx0 - x0), max(0, sy0 - y0), min(x1, sx1) - x0, min(y1, sy1) - y0))
        self.window = LayerWindow(self.options)
        left, _ = _layer_columns(self.half_width, self.box, self.size[0])
        self.widener = Widener(self.engine, self.options, self.band_read, self.size[0] / 2 - self.box[0], left,
                               self.scale)

    def frame(self, index: int, rows: np.ndarray, sample: bool) -> None:
        """Take the next decoded frame's band rows (BGR, all columns); a sample is compared once
        the frame after it is in."""
        assert self.window is not None
        full = _mask_static(rows[:, self.box[0]:self.box[2]], self.static_px)
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
                    stretch.keep_fullest(full, current)
                else:
                    at = find_change(lo, index, lambda i: (layer_distance(win.mask(i), win.mask(lo)),
                                                           layer_distance(win.mask(i), current)))
                    self.close(stretch, at)
                    self.stretch = stretch = _Stretch(at, full, current, count, current, gone=stretch.lines,
                                                      crop_at=index)
            elif stretch.lines is None:
                if count > stretch.count:
                    stretch.crop, stretch.mask, stretch.count, stretch.crop_at = full, current, count, index
                # Read once the layer held for a second sample; from then on a change of the
                # layer is checked against the caption's lines.
                stretch.lines = self.read(stretch)
                self.empty_since, self.empty_wait = index, self.options.empty_every
            elif not stretch.lines and self.faint_due(stretch, index, win.mask(before), current):
                # Read as it fades in, a caption's line can be found cut: read out to its mirror.
                found = self.widener.widened(full, current, self.lines_of(full))
                self.ocred += 1
                self.empty_reads += 1
                if found:
                    # Its start is looked for among this stretch's last samples (``settle_edges``).
                    self.close(stretch, index)
                    self.stretch = stretch = _Stretch(index, full, current, count, current, lines=found,
                                                      signature=self.signature(full, current, found), faint=True)
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
        if not shows(full, lines, self.engine, self.options.same_text, stretch.signature):
            return False
        if stretch.signature is None:
            # Lines read in another stretch (the same layer): told by their pixels from here on.
            stretch.signature = self.signature(full, current, lines)
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

    def echoes(self, before: list[Reading], stretch: _Stretch, lines: list[Reading]) -> bool:
        """Whether a stretch's ``lines`` are the caption ``before`` it read as it faded out: alike
        to it (``ECHO_SIMILARITY``), no longer, and shown in none of the stretch's kept samples, its
        first included (``appears``). A fade's layer changes from sample to sample, so the stretch
        begins in it, is read there ("נסו שוב?מאוחר יו" for "נסו שוב מאוחר יותר"), and lasts over
        the empty band to the next caption: its lines, recognised alone, read as no sample's."""
        said, read = " ".join(r.text for r in before), " ".join(r.text for r in lines)
        # A fading copy holds no more letters than the caption: one alike that says more (the
        # caption before with words added) is a caption of its own.
        if len(letters_and_digits(read)) > len(letters_and_digits(said)) or not same_caption(said, read,
                                                                                              ECHO_SIMILARITY):
            return False
        return appears(stretch.edges.samples, lines, self.engine, stretch.signature) is None

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
        """The lines of a stretch's caption; a layer read before gives its reading again, but
        for the lines just seen gone: a caption that differs from the one before by a character
        or two per line (不准再看别人, 不准想着别人) changes its layer too little to tell, and
        its lines' recognition has said it differs."""
        if stretch.count < self.options.min_layer * stretch.mask.size:
            return []
        for mask, lines in self.cache[-4:]:
            if lines is stretch.gone:
                continue
            if mask.shape == stretch.mask.shape and not self.changed(mask, stretch.mask):
                return lines
        self.ocred += 1
        read = self.lines_of(stretch.crop)
        read = self.widener.widened(stretch.crop, stretch.mask, read) if read else self.stroke_lines(stretch.crop)
        self.cache.append((stretch.mask, read))
        stretch.signature = self.signature(stretch.crop, stretch.mask, read)
        return read

    def signature(self, crop: np.ndarray, mask: np.ndarray, lines: list[Reading]) -> LineSignature | None:
        """The pixels of ``lines`` as the band crop ``crop`` with the text layer ``mask`` shows them
        (``pipelines.ocr.caption_signature``), unless there are none or the options say to
        recognise them each time."""
        if not lines or not self.options.pixel_checks:
            return None
        left, right = _layer_columns(self.half_width, self.box, self.size[0])
        layer = np.zeros(crop.shape[:2], bool)
        layer[:, left:right] = cv2.resize(mask.astype(np.uint8), (right - left, crop.shape[0]),
                                          interpolation=cv2.INTER_NEAREST).astype(bool)
        return LineSignature.of(crop, layer, lines, self.options.bright, self.options.steady)

    def lines_of(self, crop: np.ndarray, left: int = 0) -> list[Reading]:
        """Read a band crop (full resolution; or its columns from ``left`` on): its caption lines,
        static and off-centre text left out."""
        # The band crop as it is: a replicated border (``read_region``) smears a letter at the
        # edge of the detector's box into it ("'m" for "I'm").
        readings = [replace(r, box=(r.box[0] + left, r.box[1], r.box[2] + left, r.box[3]))
                    for r in self.engine.read(crop)
                    if any(ch.isalnum() for ch in r.text) and r.confidence >= self.options.min_confidence]
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

    def band_read(self, crop: np.ndarray) -> list[Reading]:
        """``lines_of`` a band crop, counted (``ocred``)."""
        self.ocred += 1
        return self.lines_of(crop)

    def stroke_lines(self, crop: np.ndarray) -> list[Reading]:
        """The lines of a band crop whose text layer holds a caption's worth of strokes but where
        no line was found: white letters over a white picture (line art) leave the detector too
        little contrast to see them. Its bright strokes alone (``thin_bright``) are read instead,
        in the columns whose layer is followed (a caption is centred), with a margin of a line."""
        self.ocred += 1
        self.stroke_reads += 1
        left, right = _layer_columns(self.half_width, self.box, self.size[0])
        left, right = max(0, left - round(self.line)), min(crop.shape[1], right + round(self.line))
        return self.lines_of(thin_bright(crop[:, left:right], self.line), left)

    def relined(self, stretch: _Stretch, lines: list[Reading], new: list[Reading],
                fullest: tuple[int, np.ndarray, np.ndarray]) -> list[Reading]:
        """``new`` for a stretch's ``lines`` (read again at its ``fullest`` sample): in the cache of
        readings, and its lines' signature taken there."""
        self.cache = [(mask, new if read is lines else read) for mask, read in self.cache]
        stretch.lines = new
        stretch.signature = self.signature(fullest[1], fullest[2], new)
        return new

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
                gone = vanishes(stretch.edges.early, previous[1], self.engine, previous[0].signature)
                if gone is not None and self.spans:
                    self.spans[-1].end = gone / self.fps
            self.previous = (stretch, [])
            return
        fullest, stretch.fullest = stretch.fullest, None
        at_fullest: list[Reading] | None = None  # the band read there, once

        def read_at_fullest() -> list[Reading]:
            nonlocal at_fullest
            assert fullest is not None
            if at_fullest is None:
                at_fullest = self.band_read(fullest[1])
            return at_fullest

        if fullest is not None and fullest[0] > self.options.widen_fuller * stretch.count:
            # A layer fuller than the one read (a caption read as it faded in): cut lines read there.
            wider = self.widener.widened_at(fullest[1], fullest[2], lines)
            if stretch.faint and wider == lines:
                # Read as it faded in: the band is read again where it was fullest, and that
                # reading of the same caption kept ("Tick the che ekbox below" read mid-fade) unless
                # it holds fewer letters (记得保存你的件 there for 记得保存你的文件 mid-fade).
                again = read_at_fullest()
                said, read = " ".join(r.text for r in lines), " ".join(r.text for r in again)
                if (again and len(letters_and_digits(read)) >= len(letters_and_digits(said))
                        and same_caption(read, said, ECHO_SIMILARITY)):
                    wider = again
            if wider != lines:
                lines = self.relined(stretch, lines, wider, fullest)
        if fullest is not None and _doubtful(lines):
            # A reading no script read sure (Latin look-alikes where Tesseract's reading of this
            # sample was not sure: "ixHi BiπnoBiπi 36epe>keHO" over the zoom), or in a script with
            # word lists holding letters outside its words ("000 “على زر الحفظ" for "اضغط على زر
            # الحفظ"), is read again on another sample where the caption showed: over a moving
            # picture one sample reads sure and another not. See ``_better``.
            again = _merged(lines, read_at_fullest())
            if _better(again, lines):
                log.debug("stretch from %d: %s read again as %s", stretch.first, [r.text for r in lines],
                          [r.text for r in again])
                lines = self.relined(stretch, lines, again, fullest)
                self.doubtful_reread += 1
        if previous is not None and previous[1] and self.echoes(previous[1], stretch, lines):
            log.debug("stretch from %d: %s read where the caption before faded out (%s); no cue", stretch.first,
                      [r.text for r in lines], [r.text for r in previous[1]])
            self.faded_echoes += 1
            self.previous = (stretch, [])
            return
        before = previous[0].edges if previous is not None and not previous[1] else None
        first, end = settle_edges(stretch.edges, stretch.first, end_frame, lines, self.engine, before,
                                  stretch.signature)
        # The caption was read on the stretch's crop, so it shows there, whatever its lines
        # recognised alone say (a Devanagari caption's two lines, read by Tesseract at one height,
        # read alike on a few samples only: the search had put its start 1.5 s late).
        first, end_frame = min(first, stretch.crop_at), max(end, stretch.crop_at + 1)
        self.previous = (stretch, lines)
        flags = tuple(sorted({f for line in lines for f in line.flags}))
        self.spans.append(Span(first / self.fps, end_frame / self.fps, tuple(line.text for line in lines),
                               min(line.confidence for line in lines), flags))



def _script(lines: list[Reading]) -> str | None:
    """The one script of a caption's readings (None where they are in several)."""
    scripts = {r.script or script_of(r.text) for r in lines}
    return scripts.pop() if len(scripts) == 1 else None


def _listed_packs(lines: list[Reading]) -> tuple[str, ...]:
    """The installed packs of the one script of ``lines`` (none: several scripts, or Latin, CJK)."""
    script = _script(lines)
    return script_packs(script) if script is not None else ()


def _words_read(lines: list[Reading]) -> tuple[int, int] | None:
    """(letters in listed words, letters and digits) of readings in one script with word lists
    (``lexicon.known_letters``); None for other scripts (Latin, CJK, Thai, Korean)."""
    packs = _listed_packs(lines)
    return known_letters(" ".join(r.text for r in lines), packs) if packs else None


def _doubtful(lines: list[Reading]) -> bool:
    """Whether a caption's reading is worth reading again on another sample: a line flagged, or,
    in a script with word lists, letters or digits outside its listed words."""
    if any(SCRIPT_UNCERTAIN in r.flags for r in lines):
        return True
    words = _words_read(lines)
    return words is not None and words[0] < words[1]


def _better(again: list[Reading], lines: list[Reading]) -> bool:
    """Whether ``again``, the caption read on another sample, replaces ``lines``: as many lines,
    none flagged, and either ``lines`` flagged and about as many letters (half to twice), or more
    letters in listed words of the same script."""
    if len(again) != len(lines) or any(SCRIPT_UNCERTAIN in r.flags for r in again):
        return False
    if any(SCRIPT_UNCERTAIN in r.flags for r in lines):
        said = letters_and_digits(" ".join(r.text for r in lines))
        read = letters_and_digits(" ".join(r.text for r in again))
        return len(said) <= 2 * len(read) and len(read) <= 2 * len(said)
    before, after = _words_read(lines), _words_read(again)
    return before is not None and after is not None and after[0] > before[0] and _script(again) == _script(lines)


def _merged(lines: list[Reading], again: list[Reading]) -> list[Reading]:
    """``again`` with, where both readings have as many lines and each line as many words, each
    word the one of the two that is more of a listed word (its listed letters less its other
    letters and digits; ``lines``' on a tie): "000 “على زر الحفظ" and "اضغط على زر الحفظط", read
    on two samples, make "اضغط “على زر الحفظ"."""
    if _words_read(lines) is None or len(again) != len(lines) or any(SCRIPT_UNCERTAIN in r.flags for r in again):
        return again
    packs = _listed_packs(lines)

    def score(word: str) -> int:
        known, total = known_letters(word, packs) or (0, 0)
        return 2 * known - total

    out = []
    for before, after in zip(lines, again, strict=True):
        a, b = before.text.split(), after.text.split()
        if len(a) != len(b) or script_of(after.text) != script_of(before.text):
            return again
        text = " ".join(y if score(y) > score(x) else x for x, y in zip(a, b, strict=True))
        out.append(replace(after, text=text))
    return out
