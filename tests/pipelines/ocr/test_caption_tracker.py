"""The caption tracker's reading of a band whose layer holds strokes the detector does not see
(white letters with a thin outline over a white, line-art picture), and of a line the detector
ended short of a word (fast, with a fake engine; and through a generated clip, slow)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from bench.caption_clips import Caption, make_clip
from pipelines.ocr.caption_layer import letters_between, thin_bright
from pipelines.ocr.caption_options import CaptionOptions
from pipelines.ocr.caption_tracker import CaptionTracker, _Stretch, continued
from pipelines.ocr.captions import extract_after_screen, extract_captions
from pipelines.ocr.engines import OcrEngine, Reading, load_engine
from pipelines.ocr.reader import OcrOptions, run_ocr

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def white_on_white(text: str, size: int = 40, width: int = 640, height: int = 96) -> np.ndarray:
    """A caption band as vsr_rezero_en's "Yes?" shows it: white letters with a 1 px dark outline,
    softened as video is, over a white figure drawn in dark line art."""
    img = np.full((height, width, 3), 225, np.uint8)
    cv2.circle(img, (width // 2, -60), 130, (40, 40, 40), 3, cv2.LINE_AA)
    cv2.circle(img, (width // 2, -60), 120, (40, 40, 40), 2, cv2.LINE_AA)
    for x in (width // 2 - 40, width // 2 + 30):
        cv2.line(img, (x, 0), (x + 5, height), (30, 30, 30), 7, cv2.LINE_AA)
    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    font = ImageFont.truetype(FONT, size)
    draw.text(((width - draw.textlength(text, font=font)) / 2, height / 2 - 0.6 * size), text, font=font,
              fill=(255, 255, 255), stroke_width=1, stroke_fill=(25, 25, 25))
    return cv2.GaussianBlur(np.asarray(pil), (0, 0), 1.0)


def test_thin_bright_keeps_letter_strokes_and_darkens_a_wide_bright_picture() -> None:
    band = np.full((60, 200, 3), 60, np.uint8)
    band[:, 100:] = 235  # a wide bright area (a white dress)
    cv2.rectangle(band, (20, 15), (24, 45), (255, 255, 255), -1)  # a stroke over dark footage
    cv2.rectangle(band, (140, 15), (144, 45), (20, 20, 20), -1)  # an outline...
    cv2.rectangle(band, (141, 16), (143, 44), (255, 255, 255), -1)  # ...round a stroke over the bright area
    out = thin_bright(band, line=56)  # a disc of 9 pixels: wider than the strokes
    assert out.shape == band.shape
    assert out[30, 22].min() > 200 and out[30, 142].min() > 100  # both strokes bright
    assert out[30, 170].max() < 40 and out[30, 60].max() < 40  # the bright area and the footage dark


@pytest.fixture(scope="module")
def rapid(require_model: Callable[[str], Path], model_dir: Path) -> OcrEngine:
    require_model("ppocrv5")
    return load_engine("rapidocr", model_dir)


def test_a_layer_the_detector_misses_is_read_as_its_bright_strokes(rapid: OcrEngine) -> None:
    band = white_on_white("Yes?")
    h, w = band.shape[:2]
    assert rapid.read(band) == []  # the detector finds no line on the band as it is
    tracker = CaptionTracker(rapid, CaptionOptions(), [], (0, 0, w, h), (w, h), 25.0, 1.0, 56.0, 0.3)
    mask = np.ones((h, w), bool)  # a layer with a caption's worth of strokes
    lines = tracker.read(_Stretch(0, band, mask, int(mask.sum()), mask))
    assert [line.text.rstrip("?") for line in lines] == ["Yes"]
    assert tracker.stroke_reads == 1 and tracker.ocred == 2
    # A band that reads at once is not read again.
    plain = np.full((h, w, 3), 40, np.uint8)
    cv2.putText(plain, "Come here", (200, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2, cv2.LINE_AA)
    other = np.zeros((h, w), bool)
    other[:, : w // 2] = True  # another layer (a layer read before gives its reading again)
    assert [line.text for line in tracker.read(_Stretch(1, plain, other, int(other.sum()), other))] == ["Come here"]
    assert tracker.stroke_reads == 1


class LineEngine:
    """A fake engine: the band read finds ``lines``; a line recognised alone reads ``wider``."""

    name = "fake"

    def __init__(self, lines: list[Reading], wider: tuple[str, float]) -> None:
        self.lines, self.wider, self.recognised = lines, wider, []  # type: list[tuple[int, int]]

    def read(self, image: np.ndarray) -> list[Reading]:
        return list(self.lines)

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        self.recognised.append(image.shape[:2])
        return self.wider


def short_line_band(strokes_to: int) -> tuple[np.ndarray, np.ndarray]:
    """A 640x90 band crop and its text layer (all columns, scale 1), with strokes on a line's rows
    (40-70) from column 280 to ``strokes_to``: a caption whose detected box ends at 340."""
    crop = np.full((90, 640, 3), 60, np.uint8)
    mask = np.zeros((90, 640), bool)
    for x in range(284, strokes_to, 8):
        mask[42:68, x:x + 3] = True
    return crop, mask


def tracker_for(engine: LineEngine) -> CaptionTracker:
    # The band: the frame's bottom 90 rows of 640x360, its layer followed over all columns.
    return CaptionTracker(engine, CaptionOptions(), [], (0, 270, 640, 360), (640, 360), 25.0, 1.0, 28.0, 0.5)


def test_letters_between_needs_strokes_as_tall_as_letters() -> None:
    _, mask = short_line_band(360)
    box = (280, 40, 340, 70)
    assert letters_between(mask, box, (340, 360), 0, 1.0)
    speck = np.zeros_like(mask)
    speck[50:52, 345:350] = True  # footage: two rows of a line 30 high
    assert not letters_between(speck, box, (340, 360), 0, 1.0)
    assert not letters_between(mask, box, (400, 440), 0, 1.0)  # nothing there
    # The layer of columns from 144 on at half scale: the same strokes found.
    half = cv2.resize(mask[:, 144:].astype(np.uint8), (248, 45), interpolation=cv2.INTER_NEAREST).astype(bool)
    assert letters_between(half, box, (340, 360), 144, 0.5)


def test_a_line_ended_short_of_a_word_is_recognised_out_to_its_mirror() -> None:
    # "Save it" centred on 320 found as "Save" (280-340): off the centre by 10 pixels, with
    # strokes out to 360, where a centred line's right edge is.
    crop, mask = short_line_band(360)
    save = Reading((280, 40, 340, 70), "Save", 0.99, "LATIN")
    engine = LineEngine([save], ("Save it", 0.94))
    lines = tracker_for(engine).widened(crop, mask, [save])
    assert [(r.text, r.box) for r in lines] == [("Save it", (280, 40, 360, 70))]
    assert len(engine.recognised) == 1 and engine.recognised[0][1] >= 360 - 280


@pytest.mark.parametrize(("wider", "why"), [
    (("Faafsitend out", 0.95), "the line's words are not whole words of it"),
    (("it Save", 0.95), "more on the wrong side"),
    (("Save it", 0.7), "much less sure than the line"),
    (("Save", 0.99), "nothing more"),
    (("Сохранить", 0.99), "another script"),
])
def test_a_wider_reading_replaces_the_line_only_when_it_reads_the_line_and_more(wider: tuple[str, float],
                                                                                 why: str) -> None:
    crop, mask = short_line_band(360)
    save = Reading((280, 40, 340, 70), "Save", 0.99, "LATIN")
    engine = LineEngine([save], wider)
    assert tracker_for(engine).widened(crop, mask, [save]) == [save], why
    assert len(engine.recognised) == 1


def test_a_centred_line_or_one_without_strokes_beside_it_is_not_recognised_again() -> None:
    crop, mask = short_line_band(360)
    engine = LineEngine([], ("Save it", 0.99))
    tracker = tracker_for(engine)
    centred = Reading((290, 40, 350, 70), "Save", 0.99, "LATIN")
    assert tracker.widened(crop, mask, [centred]) == [centred]
    crop, bare = short_line_band(340)  # no strokes past the box
    save = Reading((280, 40, 340, 70), "Save", 0.99, "LATIN")
    assert tracker.widened(crop, bare, [save]) == [save]
    # Scripts PP-OCRv5 does not read (Tesseract re-read them), and flagged lines, stay as read.
    greek = Reading((280, 40, 340, 70), "Πατήστε", 0.99, "GREEK")
    unsure = Reading((280, 40, 340, 70), "Save", 0.99, "LATIN", ("script-uncertain",))
    assert tracker.widened(crop, mask, [greek, unsure]) == [greek, unsure]
    assert engine.recognised == [] and tracker.widen_reads == 0


def test_a_wider_reading_continues_the_line_on_the_side_it_was_cut() -> None:
    assert continued("Save", "Save it", right=True)
    assert continued("he dialog", "Then close the dialog", right=False)  # cut inside "Then"
    assert continued("Sav", "Save it", right=True)
    assert continued("你好", "你好吗", right=True, characters=True)
    assert not continued("你好", "你们好吗", right=True, characters=True)
    assert not continued("Save", "it Save", right=True)  # more on the other side
    assert not continued("he dialog", "Then close a dialog", right=False)  # a whole word differs
    assert not continued("Save it", "Save it.", right=True)  # no letter more
    assert not continued("Save", "Saves", right=False)


def test_a_caption_read_while_it_faded_in_is_read_again_where_it_showed_fullest() -> None:
    # Read at a faint sample, the caption gave "log file" (right of the centre); at the fullest
    # sample it was seen still shown at, the band read gives the whole line.
    crop, mask = short_line_band(0)
    mask[42:68, 236:404:8] = True  # strokes from 236 to 404 (the whole line, 232-408)
    part = Reading((330, 40, 408, 70), "log file", 0.97, "LATIN")
    whole = Reading((232, 40, 408, 70), "Check the log file", 0.96, "LATIN")
    engine = LineEngine([whole], ("", 0.0))
    tracker = tracker_for(engine)
    assert tracker.widened(crop, mask, [part], detect=True) == [whole]
    assert engine.recognised == [] and tracker.ocred == 1  # one band read, no line recognised
    # A band read that finds the short line again falls back to recognising it out to its mirror.
    engine = LineEngine([part], ("Check the log file", 0.95))
    tracker = tracker_for(engine)
    assert [r.text for r in tracker.widened(crop, mask, [part], detect=True)] == ["Check the log file"]
    assert len(engine.recognised) == 1


@pytest.mark.slow
def test_a_short_caption_the_detector_ends_early_is_read_whole(tmp_path: Path, rapid: OcrEngine) -> None:
    # White with a drop shadow, half a second, over the zooming fractal: the detector's box ends
    # after "Save" (its text probability under "it", over the fractal's busy edge, stays low).
    captions = (Caption(0.5, 2.0, ("Open the settings page",), "outline"),
                Caption(2.0, 3.6, ("Choose a new password",), "box"),
                Caption(4.0, 4.5, ("Save it",), "shadow"))
    clip = make_clip(tmp_path / "clip.mp4", captions)
    result = extract_captions(clip, rapid)
    assert [c.lines for c in result.cues] == [c.lines for c in captions]


@pytest.mark.slow
def test_a_caption_fading_in_over_busy_footage_is_read_whole(tmp_path: Path, rapid: OcrEngine) -> None:
    # A fade of 0.2 s over the fractal: read as it faded in, the detector found only the part
    # over its green ("log file") where it first read it.
    captions = (Caption(0.5, 2.1, ("Open a new terminal",), "outline"),
                Caption(2.7, 4.1, ("Run the install script",), "box"),
                Caption(4.7, 5.7, ("Do it now",), "shadow"),
                Caption(6.3, 8.3, ("The output shows", "every file it copied"), "outline"),
                Caption(8.9, 10.5, ("Check the log file",), "outline", r"{\fad(200,200)}"),
                Caption(11.1, 12.5, ("That is all",), "box"))
    clip = make_clip(tmp_path / "clip.mp4", captions)
    # As the OCR stage extracts them: the screen reader first, then the captions.
    screen = run_ocr(clip, rapid, OcrOptions(engine="rapidocr"))
    result = extract_after_screen(clip, rapid, screen.samples, CaptionOptions(), frames=screen.search_frames)
    assert [c.lines for c in result.cues] == [c.lines for c in captions]
    assert abs(result.cues[4].start - 8.9) <= 0.2 and abs(result.cues[4].end - 10.5) <= 0.2
