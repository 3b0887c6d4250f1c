"""A caption band's text layer: the strokes of burned-in captions, apart from the moving picture.

In the band only, a pixel is of the layer when it is bright, next to a dark pixel (a caption's
outline, shadow or box) and unchanged since the frame before or until the frame after. Moving
footage changes from frame to frame, a caption does not, so the layer follows the caption and
not the picture. Two layers are compared with one pixel of tolerance; a change is found to the
frame by binary search over the frames between two samples (``LayerWindow``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from pipelines.ocr.caption_options import CaptionOptions


def text_mask(band: np.ndarray, previous: np.ndarray | None, options: CaptionOptions,
              following: np.ndarray | None = None) -> np.ndarray:
    """The caption text layer of a band crop (BGR) as a boolean mask (see the module doc).

    ``previous`` and ``following`` are the same crop of the frames before and after (None: not
    known). A pixel of the layer is steady with at least one of them: the first frame of a
    caption differs from the one before, its last frame from the one after, and both belong to
    it; moving footage is steady with neither. Without either, there is no steadiness test.
    """
    gray = cv2.cvtColor(band, cv2.COLOR_BGR2GRAY)
    # The brightest channel, as ``band.max(axis=2)`` gives it (a tenth of the CPU).
    brightest = cv2.max(cv2.max(band[:, :, 0], band[:, :, 1]), band[:, :, 2])
    bright = (brightest >= options.bright).astype(np.uint8)
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


def thin_bright(crop: np.ndarray, line: float, stroke: float = 0.15) -> np.ndarray:
    """A band crop's bright strokes alone, white on black: its grey less its opening by a disc of
    ``stroke`` x the line height (a white top-hat), stretched to the full range. Letters are
    narrower than the disc and stay; a bright picture behind them (a white dress drawn in line art)
    is wider and goes dark, so white letters with a thin outline stand out as over dark footage.
    The text layer's own test (``caption_layer.text_mask``: bright, narrower than a stroke-sized
    square) in grey, for the detector.

    On vsr_rezero_en's "Yes?" the detector's text probability peaks at 0.45 on the crop as it
    is and finds nothing; on this it reads "Yes?". On generated white-on-white captions the
    detector missed (78: three texts, outline 1-2 px, sizes, blur, background), 21 read right
    (0.15), 19 (0.2), 4-11 with wider discs, 2 with local histogram equalisation (CLAHE, which
    read "es?" on the real one).
    """
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    size = max(3, round(stroke * line) | 1)
    hat = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    stretched = cv2.normalize(hat, np.empty_like(hat), 0, 255, cv2.NORM_MINMAX)
    return np.asarray(cv2.cvtColor(stretched, cv2.COLOR_GRAY2BGR))


def _line_rows(mask: np.ndarray, box: tuple[int, int, int, int], first: int, end: int, scale: float) -> np.ndarray:
    """The layer's rows of a line's ``box`` (crop pixels) over its columns ``first`` to ``end``
    (the layer's own, at ``scale``; clipped at 0)."""
    top = int(box[1] * scale)
    return mask[top:max(top + 1, round(box[3] * scale)), max(0, first):max(0, end)]


def letters_between(mask: np.ndarray, box: tuple[int, int, int, int], span: tuple[int, int], left: int,
                    scale: float, tall: float = 0.35) -> bool:
    """Whether the text layer holds a letter on a line's rows strictly between two columns: a
    column of strokes as tall as ``tall`` of the line (a letter's stem or bowl, not a speck of
    footage).

    ``mask`` is the layer of the crop's columns from ``left`` on, at ``scale``; ``box`` the line's
    box and ``span`` the columns, in the crop's pixels (a column of the layer at either end is left
    out: it may hold the line's own last stroke).
    """
    y0, y1 = box[1], box[3]
    rows = _line_rows(mask, box, math.ceil((span[0] - left) * scale) + 1, math.floor((span[1] - left) * scale) - 1,
                      scale)
    if not rows.size:
        return False
    held = rows.any(axis=0)
    if not held.any():
        return False
    # Per column, the rows from its first stroke to its last.
    first = np.argmax(rows, axis=0)
    last = rows.shape[0] - 1 - np.argmax(rows[::-1], axis=0)
    return bool(((last - first + 1)[held] >= tall * (y1 - y0) * scale).any())


def inner_gaps(mask: np.ndarray, box: tuple[int, int, int, int], left: int, scale: float,
               min_gap: float) -> list[tuple[int, int]]:
    """Columns between a line's strokes that the text layer leaves empty over ``min_gap`` x the
    height of its letters or more (a caption's pause between two phrases), in the crop's pixels,
    left to right. ``mask``, ``left`` and ``scale`` as for ``letters_between``. The letters' height
    is the layer's, from the line's first row of strokes to its last (the detector's box is
    taller by a margin that varies); a speck of footage in a gap splits it, so a gap found is
    empty on every row of the line."""
    x0, _, x1, _ = box
    a = max(0, math.floor((x0 - left) * scale))
    rows = _line_rows(mask, box, a, math.ceil((x1 - left) * scale), scale)
    if not rows.size:
        return []
    held = np.flatnonzero(rows.any(axis=0))
    inked = np.flatnonzero(rows.any(axis=1))
    if len(held) < 2:
        return []
    height = inked[-1] - inked[0] + 1
    widths = np.diff(held) - 1  # empty columns after each held one
    at = np.flatnonzero(widths >= min_gap * height)
    return [(round((a + held[i] + 1) / scale) + left, round((a + held[i + 1]) / scale) + left) for i in at]


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
class LayerWindow:
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
