"""A stretch's edges checked by recognition in its kept samples (a fake recogniser)."""

from __future__ import annotations

import numpy as np

from pipelines.ocr.caption_edges import EdgeSamples, appears, settle_edges, vanishes
from pipelines.ocr.engines import Reading

LINE = [Reading((10, 10, 90, 30), "Hello there", 0.9)]


class BrightIsText:
    """Reads "Hello there" in a crop whose pixels are bright, "" elsewhere; counts its calls."""

    name = "rapidocr"

    def __init__(self) -> None:
        self.calls = 0

    def read(self, image: np.ndarray) -> list[Reading]:
        raise AssertionError("edges are checked by recognition alone, without detection")

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        self.calls += 1
        return ("Hello there", 0.9) if image.mean() > 128 else ("", 0.0)


def samples(shown: list[bool], step: int = 3) -> list[tuple[int, np.ndarray]]:
    return [(k * step, np.full((40, 100, 3), 255 if s else 0, np.uint8)) for k, s in enumerate(shown)]


def test_appears_and_vanishes_halfway_between_samples() -> None:
    engine = BrightIsText()
    assert appears(samples([False, False, True, True]), LINE, engine) == 5  # between frames 3 and 6
    assert appears(samples([True, True]), LINE, engine) == 0
    assert appears(samples([False, False]), LINE, engine) is None
    assert vanishes(samples([True, True, True, False, False]), LINE, engine) == 8  # between 6 and 9
    assert vanishes(samples([True, True]), LINE, engine) is None


def test_a_stretch_that_began_before_its_caption_starts_where_the_caption_is_read() -> None:
    engine = BrightIsText()
    edges = EdgeSamples(keep=4)
    for index, crop in samples([False] * 6 + [True] * 10):
        edges.add(index, crop)
    assert len(edges.samples) == 8  # the first four and the last four
    first, end = settle_edges(edges, 0, 48, LINE, engine)
    assert (first, end) == (23, 48)  # halfway between the kept samples 9 (early) and 36 (late)
    assert engine.calls <= 8


def test_a_caption_already_shown_in_an_unread_stretch_before_starts_there() -> None:
    engine = BrightIsText()
    before, edges = EdgeSamples(), EdgeSamples()
    for index, crop in samples([False, False, False, True, True]):
        before.add(index, crop)
    for index, crop in samples([True, True, True]):
        edges.add(index + 15, crop)
    assert settle_edges(edges, 15, 24, LINE, engine, before) == (8, 24)
    assert settle_edges(edges, 15, 24, LINE, engine) == (15, 24)


def test_a_caption_that_fades_out_early_in_its_stretch_ends_where_it_is_gone() -> None:
    # The stretch of a fading caption: read in its first samples, gone long before the next
    # caption ends the stretch.
    kept = EdgeSamples()
    for index, crop in samples([True, True, False, False, False, False, False, False]):
        kept.add(index, crop)
    assert appears(kept.samples, LINE, BrightIsText()) == 0
    assert settle_edges(kept, 0, 24, LINE, BrightIsText()) == (0, 5)  # gone between frames 3 and 6
