"""A caption's start and end checked by reading its lines where the stretch begins and ends.

The text layer (``pipelines.ocr.captions``) finds most caption changes to the frame, but a
caption without an outline or shadow (faint text over skin, a thin serif) barely shows in it:
its stretch then begins where the footage's own layer changed, a second before the caption came.
So the first and last samples of a stretch are kept, and its lines (the boxes the reading found)
are recognised there, without detection, which is cheap. Where the reading is not there yet (or
no longer), the first (last) sample where it is is found by binary search, and the edge is put
halfway between that sample and its neighbour outside.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pipelines.ocr.caption_signature import LineSignature
from pipelines.ocr.engines import OcrEngine, Reading
from pipelines.ocr.frames import PixelBox
from pipelines.ocr.tracking import letters_and_digits, similarity

CONFIRM = 0.9
"""Similarity of a recognised crop to the reading for it to teach the lines' signature."""

Sample = tuple[int, np.ndarray]
"""A sample's frame index and its band crop (full resolution)."""


@dataclass
class EdgeSamples:
    """The first and the last ``keep`` samples of a stretch (frame index, band crop)."""

    keep: int = 10
    early: list[Sample] = field(default_factory=list)
    late: deque[Sample] = field(default_factory=deque)

    def add(self, index: int, crop: np.ndarray) -> None:
        """Keep a sample: one of the first ``keep``, or among the last ``keep`` so far."""
        if len(self.early) < self.keep:
            self.early.append((index, crop))
            return
        self.late.append((index, crop))
        if len(self.late) > self.keep:
            self.late.popleft()

    @property
    def samples(self) -> list[Sample]:
        """The kept samples in order."""
        return [*self.early, *self.late]


def line_crop(crop: np.ndarray, box: PixelBox) -> np.ndarray:
    """A caption line's ``box`` cut from a band ``crop`` a little wider, as it is recognised alone
    (without detection): a sixth of its height above and below, a third before and after."""
    x0, y0, x1, y1 = box
    h = y1 - y0
    return crop[max(0, y0 - h // 6):min(crop.shape[0], y1 + h // 6), max(0, x0 - h // 3):min(crop.shape[1], x1 + h // 3)]


def shows(crop: np.ndarray, lines: list[Reading], engine: OcrEngine, same: float = 0.6,
          signature: LineSignature | None = None) -> bool:
    """Whether ``crop`` shows the lines read elsewhere: each line's box (a little wider) recognised
    alone and all of them together alike to the reading (``same``: 1 - normalised edit distance).

    With the lines' ``signature``, a crop whose pixels plainly show them needs no recognition;
    a crop recognised as showing them (alike to ``CONFIRM``) teaches it what is footage.
    """
    if signature is not None and signature.matches(crop):
        return True
    read = []
    for line in lines:
        box = line_crop(crop, line.box)
        if box.size:
            read.append(engine.read_line(box)[0])
    want, got = letters_and_digits(" ".join(line.text for line in lines)), letters_and_digits(" ".join(read))
    alike = similarity(want, got) if want else 0.0
    if signature is not None and alike >= CONFIRM:
        signature.confirm(crop)
    return bool(want) and alike >= same


def _first(items: list[Sample], holds: Callable[[Sample], bool]) -> int:
    """Index of the first item that holds, for a predicate false then true along the list; the
    list's length when none holds."""
    lo, hi = -1, len(items)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if holds(items[mid]):
            hi = mid
        else:
            lo = mid
    return hi


def appears(samples: list[Sample], lines: list[Reading], engine: OcrEngine,
            signature: LineSignature | None = None) -> int | None:
    """The frame where the lines appear among the samples (shown from then on): the first
    sample's frame when it shows them, halfway to the first that does, or None if none does.

    Where the search (for the first sample that shows them: false, then true) finds none, the
    first sample is looked at: a caption that fades out shows in the first samples of its
    stretch and in none of the later ones."""
    if not samples:
        return None
    k = _first(samples, lambda s: shows(s[1], lines, engine, signature=signature))
    if k == len(samples):
        return samples[0][0] if shows(samples[0][1], lines, engine, signature=signature) else None
    return samples[0][0] if k == 0 else (samples[k - 1][0] + samples[k][0] + 1) // 2


def vanishes(samples: list[Sample], lines: list[Reading], engine: OcrEngine,
             signature: LineSignature | None = None) -> int | None:
    """The frame where the lines, shown at the first sample, are gone (halfway from the last
    that shows them to the next); None when the last sample still shows them or the first does not."""
    def shown(crop: np.ndarray) -> bool:
        return shows(crop, lines, engine, signature=signature)

    if not samples or not shown(samples[0][1]) or shown(samples[-1][1]):
        return None
    k = len(samples) - _first(samples[::-1], lambda s: shown(s[1]))
    return (samples[k - 1][0] + samples[k][0] + 1) // 2


def settle_edges(edges: EdgeSamples, first: int, end: int, lines: list[Reading], engine: OcrEngine,
                 before: EdgeSamples | None = None, signature: LineSignature | None = None) -> tuple[int, int]:
    """A stretch's first frame and end (exclusive), moved to where its lines are read.

    Moved in where its first (last) kept sample does not show them; moved back into the stretch
    ``before`` (one where nothing was read) where that one's last samples show them already.
    """
    samples = edges.samples
    if not samples or not lines:
        return first, end
    at = appears(samples, lines, engine, signature)
    if at is None:
        return first, end
    if at > samples[0][0]:
        first = at
    elif before is not None and before.samples:
        earlier = appears(list(before.late) or before.early, lines, engine, signature)
        first = min(first, earlier) if earlier is not None else first
    gone = vanishes([s for s in samples if s[0] >= first], lines, engine, signature)
    return first, end if gone is None else gone
