"""A caption's lines told by their pixels: the same caption over other footage matches, another
caption or none does not, footage learnt through recognition is dropped (generated frames)."""

from __future__ import annotations

import cv2
import numpy as np

from pipelines.ocr.caption_layer import text_mask
from pipelines.ocr.caption_options import CaptionOptions
from pipelines.ocr.caption_signature import LineSignature
from pipelines.ocr.engines import Reading

OPTIONS = CaptionOptions()


def footage(rng: np.random.Generator) -> np.ndarray:
    """Moving footage with bright strokes of its own, new in every frame."""
    frame = rng.integers(20, 110, (100, 640, 3), dtype=np.uint8)
    for _ in range(14):
        x, y = int(rng.integers(0, 600)), int(rng.integers(0, 90))
        cv2.line(frame, (x, y), (x + int(rng.integers(10, 40)), y + int(rng.integers(-8, 8))), (235, 235, 235), 2)
    return frame


def caption(text: str, background: np.ndarray) -> np.ndarray:
    """White outlined text, as burned-in captions look."""
    frame = background.copy()
    cv2.putText(frame, text, (40, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 6, cv2.LINE_AA)
    cv2.putText(frame, text, (40, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2, cv2.LINE_AA)
    return frame


def line_of(text: str) -> Reading:
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 1.2, 2)
    return Reading((36, 70 - h - 4, 44 + w, 70 + base + 4), text, 0.95)


def signature_of(text: str, rng: np.random.Generator) -> LineSignature:
    before, read, after = (caption(text, footage(rng)) for _ in range(3))
    layer = text_mask(read, before, OPTIONS, after)
    return LineSignature.of(read, layer, [line_of(text)], OPTIONS.bright, OPTIONS.steady)


def test_the_same_caption_over_other_footage_matches_and_another_or_none_does_not() -> None:
    rng = np.random.default_rng(5)
    signature = signature_of("Hello there", rng)
    assert signature.usable
    assert all(signature.matches(caption("Hello there", footage(rng))) for _ in range(5))
    assert not signature.matches(caption("Hallo there", footage(rng)))  # one letter
    assert not signature.matches(caption("Something else", footage(rng)))
    assert not signature.matches(footage(rng))


def test_footage_seen_through_a_caption_is_learnt_from_recognition() -> None:
    rng = np.random.default_rng(6)
    text = "Hello there"
    signature = signature_of(text, rng)
    # A third of the first character's kept pixels were footage (seen through the caption then).
    line = signature.lines[0]
    first = np.flatnonzero(line.chunk == 0)
    line.grey[first[: len(first) // 3]] = 0
    shown = caption(text, footage(rng))
    assert not signature.matches(shown)
    signature.confirm(shown)  # recognition read the caption there: those pixels are dropped
    assert signature.usable and len(signature.lines[0].where) == len(line.where) - len(first) // 3
    assert signature.matches(caption(text, footage(rng)))
    assert not signature.matches(caption("Hallo there", footage(rng)))
    # A caption whose pixels keep changing (a fade, a colour change) is left to recognition.
    faded = (caption(text, footage(rng)) * 0.6).astype(np.uint8)
    signature.confirm(faded)
    assert not signature.usable and not signature.matches(caption(text, footage(rng)))


def test_a_line_without_enough_letter_pixels_is_left_to_recognition() -> None:
    rng = np.random.default_rng(7)
    read = footage(rng)  # the reading's box holds no caption, only footage strokes
    layer = text_mask(read, footage(rng), OPTIONS, footage(rng))
    signature = LineSignature.of(read, layer, [line_of("Hello there")], OPTIONS.bright, OPTIONS.steady)
    assert not signature.usable and not signature.matches(read)
