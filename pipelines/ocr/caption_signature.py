"""Whether a caption's lines still show, told from their pixels where it is plain, by recognition
where it is not.

A caption's letters do not change while it is shown; the footage around and behind them does.
So once a caption is read, the pixels of its lines' boxes that are bright and of its text layer
(steady strokes: ``pipelines.ocr.caption_layer``), its letters, are kept with their grey levels:
its ``LineSignature``. A crop whose kept pixels all hold their grey level
(within ``steady``), in every character-wide chunk of every line, shows the same caption: no
recognition is needed. Anything else (a chunk whose pixels changed: another character, a fade, a
colour change) is left to recognition, as before; where recognition then says the caption still
shows, the kept pixels that changed were footage seen through the caption (between letters, in a
translucent box) and are dropped, so the next sample is told by its pixels. A chunk that lost
most of its pixels that way is not told by pixels any more: its caption is recognised each time.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipelines.ocr.engines import Reading
from pipelines.ocr.frames import PixelBox

COLOUR = 40
"""Largest difference (per channel, 0-255) from the median colour of a line's letters."""
FILL = 0.02
"""Least share of a line's box its kept pixels cover (letters cover 10-30 %, thin ones less)."""
SPREAD = 0.6
"""Least share of a line's character-wide chunks that hold enough kept pixels."""


@dataclass
class _Line:
    box: PixelBox
    where: np.ndarray  # flat indices of the kept pixels in the box
    grey: np.ndarray  # their grey levels
    chunk: np.ndarray  # their chunk (character-wide column) numbers
    sizes: np.ndarray  # pixels per chunk when the signature was made
    counted: np.ndarray  # chunks told by their pixels

    @property
    def area(self) -> int:
        return (self.box[2] - self.box[0]) * (self.box[3] - self.box[1])

    def keeping(self, ok: np.ndarray, counted: np.ndarray) -> _Line:
        return _Line(self.box, self.where[ok], self.grey[ok], self.chunk[ok], self.sizes, counted)


@dataclass
class LineSignature:
    """The steady pixels of a caption's lines (see the module doc).

    Attributes:
        lines: per line, its box (band crop pixels) and kept pixels.
        steady: largest grey-level change of a kept pixel.
        share: least share of a chunk's kept pixels that must hold their level.
        least: a chunk with fewer kept pixels than this share of the line's typical chunk (a
            speck of footage between words) is not told by its pixels.
        keep: a chunk that lost more than this share of its pixels as footage is no longer told
            by its pixels; a signature whose chunks left hold less than this share of its pixels
            tells nothing any more.
        usable: whether the signature still tells anything.
    """

    lines: list[_Line]
    steady: int = 28
    share: float = 0.9
    least: float = 0.25
    keep: float = 0.5
    usable: bool = True

    @classmethod
    def of(cls, crop: np.ndarray, layer: np.ndarray, lines: list[Reading], bright: int, steady: int) -> LineSignature:
        """The signature of ``lines`` as the BGR band crop ``crop`` shows them; ``layer``: its
        text layer (``pipelines.ocr.caption_layer``) at the crop's size, steady strokes only."""
        height, width = crop.shape[:2]
        out = []
        signature = cls([], steady=steady)
        for line in lines:
            x0, y0, x1, y1 = max(0, line.box[0]), max(0, line.box[1]), min(width, line.box[2]), min(height, line.box[3])
            if x1 <= x0 or y1 <= y0:
                continue
            region = crop[y0:y1, x0:x1]
            grey = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY)
            brightest = cv2.max(cv2.max(region[:, :, 0], region[:, :, 1]), region[:, :, 2])
            where = np.flatnonzero((brightest >= bright) & layer[y0:y1, x0:x1])
            if where.size:
                # A caption's letters share one colour, the brightest of the layer's; the footage in
                # the layer (between letters, in their counters) seldom has it, and the letters'
                # edges, blended with their outline and moved by compression, do not.
                colours = region.reshape(-1, 3)[where].astype(np.int16)
                levels = grey.reshape(-1)[where]
                letters_colour = np.median(colours[levels >= np.percentile(levels, 75)], axis=0)
                where = where[np.abs(colours - letters_colour).max(axis=1) <= COLOUR]
            chunk = (where % (x1 - x0)) // max(1, y1 - y0)
            sizes = np.bincount(chunk, minlength=(x1 - x0 - 1) // max(1, y1 - y0) + 1)
            typical = float(np.median(sizes[sizes > 0])) if sizes.any() else 0.0
            counted = (sizes > 0) & (sizes >= signature.least * typical)
            out.append(_Line((x0, y0, x1, y1), where, grey.reshape(-1)[where], chunk, sizes, counted))
        signature.lines = out
        # Letters fill a good part of their line and are spread along it; a few pixels, or pixels
        # in a few places, are footage the layer took in (the caption's own letters were too thin).
        signature.usable = bool(out) and all(
            line.where.size >= FILL * line.area and line.counted.mean() >= SPREAD for line in out)
        return signature

    def _held(self, crop: np.ndarray) -> list[np.ndarray] | None:
        """Per line, which kept pixels hold their level in ``crop``; None where the crop is not comparable."""
        held = []
        for line in self.lines:
            x0, y0, x1, y1 = line.box
            if crop.shape[0] < y1 or crop.shape[1] < x1:
                return None
            grey = cv2.cvtColor(crop[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY).reshape(-1)[line.where]
            held.append(np.abs(grey.astype(np.int16) - line.grey.astype(np.int16)) <= self.steady)
        return held

    def matches(self, crop: np.ndarray) -> bool:
        """Whether ``crop`` shows the lines by their pixels (False: not known, ask recognition)."""
        held = self._held(crop) if self.usable else None
        if held is None:
            return False
        for line, ok in zip(self.lines, held, strict=True):
            total = np.bincount(line.chunk, minlength=len(line.sizes))
            good = np.bincount(line.chunk, weights=ok, minlength=len(line.sizes))
            if np.any(good[line.counted] < self.share * total[line.counted]):
                return False
        return True

    def confirm(self, crop: np.ndarray) -> None:
        """Recognition says ``crop`` shows the lines: drop the kept pixels that changed (footage)."""
        held = self._held(crop) if self.usable else None
        if held is None:
            return
        lines = []
        for line, ok in zip(self.lines, held, strict=True):
            left = np.bincount(line.chunk[ok], minlength=len(line.sizes))
            counted = line.counted & (left >= self.keep * line.sizes)
            if counted.mean() < self.keep * SPREAD or line.sizes[counted].sum() < self.keep * line.sizes[line.counted].sum():
                self.usable = False
                return
            lines.append(line.keeping(ok, counted))
        self.lines = lines
