"""Text cut off at an edge: a line partly hidden by a panel over it, or by the frame's border.

A screen recording often shows a line with part of it covered: the labels of a launcher whose
lower half a status bar hides, a menu item under the edge of a menu opened over it, a line of a
scrolled document half under a sticky header, a word running off the frame. The recogniser still
reads something ("Text File" with its lower third hidden came out "Tavt Cilo", "Terminal"
"Torminal"), at confidences as high as many whole lines, so confidence alone cannot tell. Such a
reading is flagged ``cut`` (``CUT``): the text event, the translation notes and the vocabulary
offered to Whisper know it may be wrong.

How a cut is seen, side by side of the line (``cut_sides``), on the grey frame:

- **above or below, an edge of something over the text**: the glyphs' strokes reach a row where a
  band of another, uniform shade begins, at least ``BAND_ROWS`` thick and running past both ends
  of the line (a bar, a panel, a header; not a glyph, nor a one-pixel rule under a link or a
  table row, after which the background comes back);
- **on any side, the frame's border**: the line's box reaches it and strokes cross its outer rows
  (or columns). Beside a line, a panel's edge is not looked for: a highlight's or a button's edge
  next to a word is too common (a menu over the end of a label goes unflagged).

A whole line has room between its strokes and whatever is next to it; the detector's box may
still run into a bar below it, so it is the strokes, not the box, that must touch the band.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import cv2
import numpy as np

from pipelines.ocr.engines import Reading
from pipelines.ocr.frames import PixelBox
from pipelines.ocr.tracking import CUT

STROKE_STEP = 40
"""Grey levels (0-255) between neighbouring pixels of a row at which a stroke's side is crossed."""
STROKES = 2.5
"""Stroke sides crossed per line height of a row's length, at least, for text to run through the
row: the cut row of "Text File" crosses ~6, a row of a whole line's background none, the bottom
row of a status bar's icons ~1.5."""
BAND_ROWS = 3
"""Rows a band over the text must be thick, at least (more on large text)."""
BAND_SHADE = 24
"""Grey levels between the band and the text's background, at least."""
BAND_FLAT = 20
"""Grey levels from the band's median beyond which a pixel breaks its uniformity."""
BAND_NOISE = 0.03
"""Share of a band's pixels that may break its uniformity (compression noise, a shadow's edge)."""
BORDER_REACH = 0.25
"""How close (in line heights) to the frame's border a line's last stroke must come, with its box
at the border, for the line to run off the frame sideways: a column that near crossed by a stroke
(``BORDER_STROKES`` stroke sides: a stem)."""
BORDER_STROKES = 2


def _strokes(rows: np.ndarray, height: int) -> np.ndarray:
    """Stroke sides each row of pixels (a 2-D array's rows) crosses, per ``height`` of its length."""
    if rows.shape[1] < 2:
        return np.zeros(rows.shape[0])
    steep = np.abs(np.diff(rows.astype(np.int16), axis=1)) >= STROKE_STEP
    crossings = steep[:, 0].astype(np.int32) + np.count_nonzero(steep[:, 1:] & ~steep[:, :-1], axis=1)
    return np.asarray(crossings * height / rows.shape[1], dtype=np.float64)


def _commonest(pixels: np.ndarray) -> float:
    """The commonest shade of ``pixels`` (grey levels): the median of the most filled of 16 bins."""
    bins = pixels.ravel() // 16
    return float(np.median(pixels.ravel()[bins == np.bincount(bins, minlength=16).argmax()]))


def _runs_into(a: np.ndarray, far: int, lo: int, hi: int, height: int) -> bool:
    """Whether text ending at row ``far`` of ``a`` (rows growing toward the side tested; the line
    along columns ``lo``..``hi``) runs into a band over it, or off ``a`` at its last row."""
    rows, cols = a.shape
    if far >= rows - 1:  # the frame's border: strokes cross its outer row
        return bool(_strokes(a[rows - 1:rows, lo:hi], height)[0] >= STROKES)
    thick = max(BAND_ROWS, height // 5)
    margin = max(2, height // 2)
    b_lo, b_hi = max(0, lo - margin), min(cols, hi + margin)
    if b_hi - b_lo < (hi - lo) + margin:  # the band must run past the line
        return False
    # A band starting in the last two thirds of a line's height before the box's edge, or just
    # past it, whose first row (maybe blended with the strokes) or the row before is crossed by
    # strokes: the strokes reach it, with no room between. The text's background is the commonest
    # shade beside the line, left and right of its box, in the third of a line height before the
    # edge: not inside the box, which may run well into the band and whose strokes (bold, or
    # small and anti-aliased) can be most of a row.
    first, last = max(1, far - height * 2 // 3), min(far + 2, rows - thick)
    if last <= first:
        return False
    crossed = _strokes(a[first - 1:last, lo:hi], height) >= STROKES  # rows first-1 .. last-1
    # rows first+1 .. last+thick-1 that could be a band's (a loose test of the exact one below;
    # rows of the line's strokes are not)
    flat = a[first + 1:last + thick, b_lo:b_hi].std(axis=1) <= 1.25 * BAND_FLAT
    for edge in range(first, last):
        if not (crossed[edge - first] or crossed[edge - first + 1]) or not flat[edge - first:edge - first + thick].all():
            continue
        band = a[edge + 1:edge + 1 + thick, b_lo:b_hi]
        shade = float(np.median(band))
        near = a[max(0, edge - max(2, height // 3)):edge]
        beside = np.concatenate([near[:, b_lo:lo].ravel(), near[:, hi:b_hi].ravel()])
        background = _commonest(beside if beside.size else near[:, lo:hi])
        if abs(shade - background) < BAND_SHADE:
            continue
        if (np.abs(band.astype(np.int16) - shade) > BAND_FLAT).mean() <= BAND_NOISE:
            return True
    return False


def cut_sides(image: np.ndarray, box: PixelBox) -> tuple[str, ...]:
    """The sides ("top", "bottom", "left", "right") at which the text line in ``box`` (pixels of ``image``: a BGR or grey
    frame) is cut: above or below, by a band over it or the frame's border; left or right, by the
    frame's border (a panel's edge beside a word is too often a highlight's or a button's)."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
    height = y1 - y0
    if height < 4 or x1 - x0 < 4:
        return ()
    # Only the line's surroundings are looked at: a line height beyond the box on every side.
    wx0, wy0 = max(0, x0 - height), max(0, y0 - height)
    window = image[wy0:min(h, y1 + height), wx0:min(w, x1 + height)]
    grey = cv2.cvtColor(window, cv2.COLOR_BGR2GRAY) if window.ndim == 3 else window
    bx0, by0, bx1, by1 = x0 - wx0, y0 - wy0, x1 - wx0, y1 - wy0
    out = []
    if _runs_into(grey[:by1][::-1], height, bx0, bx1, height):
        out.append("top")
    if _runs_into(grey[by0:], height, bx0, bx1, height):
        out.append("bottom")
    reach = max(2, round(BORDER_REACH * height))
    for side, at_border, strip in (("left", x0 <= 1, grey[by0:by1, :reach]),
                                   ("right", x1 >= w - 1, grey[by0:by1, grey.shape[1] - reach:])):
        if at_border and strip.size and _strokes(strip.T, height).max() >= BORDER_STROKES:
            out.append(side)
    return tuple(out)


def flag_cut(image: np.ndarray, readings: Sequence[Reading]) -> list[Reading]:
    """``readings`` of ``image`` (BGR or grey; their boxes in its pixels), those whose text runs
    into an edge flagged ``CUT``. A line kept from an earlier reading of the same pixels
    (``Reading.kept``) keeps that reading's flags: it is not looked at again."""
    out = []
    for r in readings:
        if not r.kept and CUT not in r.flags and r.text and cut_sides(image, r.box):
            r = replace(r, flags=(*r.flags, CUT))
        out.append(r)
    return out
