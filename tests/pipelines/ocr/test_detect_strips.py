"""Detection in bands of rows (``detect_in_strips``): every line found once, in the image's own
coordinates, with a detector that sees only its band (a fake: the real one is in
test_onnx_sessions)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest

from pipelines.ocr.engines import DETECT_STRIP_OVERLAP, DETECT_STRIP_PIXELS, _strips, detect_in_strips

Line = tuple[int, int, int, int]  # x0, y0, x1, y1 in the whole image


def _fake_detector(lines: list[Line], calls: list[tuple[int, int]]) -> Callable[[np.ndarray, bool], np.ndarray | None]:
    """Finds each line as the part of it inside the band it is given (as a cut line would be
    found), in the band's coordinates. The band's place is read off a row index painted into it."""

    def detect(band: np.ndarray, wide: bool = False) -> np.ndarray | None:
        top = int(band[0, 0, 0]) * 256 + int(band[0, 0, 1])
        bottom = top + band.shape[0]
        calls.append((top, bottom))
        quads = []
        for x0, y0, x1, y1 in lines:
            a, b = max(y0, top), min(y1, bottom - 1)
            if a < b:
                quads.append([[x0, a - top], [x1, a - top], [x1, b - top], [x0, b - top]])
        return np.asarray(quads, np.float32) if quads else None

    return detect


def _image(height: int, width: int = 1280) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    rows = np.arange(height)
    image[:, 0, 0], image[:, 0, 1] = rows // 256, rows % 256  # each row knows where it is
    return image


def test_bands_cover_the_rows_with_the_overlap_and_stay_within_the_pixels() -> None:
    assert _strips(400, 1280) == [(0, 400)]  # fits: one band
    for height, width in [(720, 1280), (820, 1600), (1080, 1280), (2000, 640)]:
        bands = _strips(height, width)
        assert bands[0][0] == 0 and bands[-1][1] == height
        assert all((b - t) * width <= DETECT_STRIP_PIXELS or b - t == 2 * DETECT_STRIP_OVERLAP for t, b in bands)
        assert all(b0 - t1 == DETECT_STRIP_OVERLAP for (_, b0), (t1, _) in itertools.pairwise(bands))


@pytest.mark.parametrize("height", [720, 1080])
def test_each_line_is_found_once_whole_wherever_the_bands_are_cut(height: int) -> None:
    # lines on every row band boundary and inside the overlaps, 12 to 90 rows high
    lines, y, i = [], 0, 0
    while y < height - 100:  # one under another, 12 to 90 rows high, 3 to 30 rows apart
        tall = 12 + 13 * i % 79
        lines.append((20 + 37 * i % 600, y, 700 + 37 * i % 500, y + tall))
        y, i = y + tall + 3 + 7 * i % 28, i + 1
    calls: list[tuple[int, int]] = []
    found = detect_in_strips(_fake_detector(lines, calls), _image(height))
    assert len(calls) == len(_strips(height, 1280)) > 1
    assert found is not None
    boxes = sorted((int(q[:, 0].min()), int(q[:, 1].min()), int(q[:, 0].max()), int(q[:, 1].max())) for q in found)
    assert boxes == sorted((x0, y0, x1, y1 - 1 if y1 >= height else y1) for x0, y0, x1, y1 in lines)


def test_a_line_taller_than_the_overlap_makes_the_whole_image_be_detected() -> None:
    lines = [(100, 300, 900, 300 + DETECT_STRIP_OVERLAP + 40)]  # across the first cut, cut in both bands
    calls: list[tuple[int, int]] = []
    found = detect_in_strips(_fake_detector(lines, calls), _image(720))
    assert calls[-1] == (0, 720)
    assert found is not None and len(found) == 1
    assert int(found[0][:, 1].min()) == 300 and int(found[0][:, 1].max()) == 300 + DETECT_STRIP_OVERLAP + 40


def test_a_small_image_is_detected_at_once() -> None:
    calls: list[tuple[int, int]] = []
    found = detect_in_strips(_fake_detector([(5, 5, 50, 20)], calls), _image(300))
    assert calls == [(0, 300)] and found is not None and len(found) == 1
    assert detect_in_strips(_fake_detector([], []), _image(720)) is None
