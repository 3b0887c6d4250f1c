"""The caption tracker's reading of a band whose layer holds strokes the detector does not see
(white letters with a thin outline over a white, line-art picture), and of caption lines read
cut short (``pipelines.ocr.caption_widen``) through generated clips (slow)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from bench.bench_captions import BACKGROUND
from bench.caption_clips import CHINESE_SETS, ENGLISH_SETS, Caption, make_clip, script_captions, turns
from pipelines.ocr.caption_layer import thin_bright
from pipelines.ocr.caption_options import CaptionOptions
from pipelines.ocr.caption_tracker import CaptionTracker, _better, _merged, _Stretch
from pipelines.ocr.captions import extract_after_screen, extract_captions
from pipelines.ocr.engines import OcrEngine, Reading, load_engine
from pipelines.ocr.reader import OcrOptions, run_ocr
from pipelines.ocr.scripts import installed_packs, with_scripts
from pipelines.ocr.tracking import SCRIPT_UNCERTAIN

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


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tesseract") is None or "ara" not in installed_packs(),
                    reason="Tesseract's Arabic pack is not installed (scripts/setup installs it)")
def test_a_caption_found_fading_in_on_an_empty_band_is_read_out_to_its_mirror(tmp_path: Path,
                                                                              rapid: OcrEngine) -> None:
    # Six Arabic captions over the fractal; the fifth fades in over 0.2 s. The empty band before
    # it was read again as it faded in, where the detector found only its first word (حاو, at the
    # line's right end); the line is now recognised out to its mirror, as a band read's is.
    captions = script_captions("ar")
    clip = make_clip(tmp_path / "clip.mp4", captions)
    languages = ("en", "ar")
    engine = with_scripts(rapid, languages)
    screen = run_ocr(clip, engine, OcrOptions(engine="rapidocr", languages=languages))
    result = extract_after_screen(clip, engine, screen.samples, CaptionOptions(languages=languages),
                                  frames=screen.search_frames)
    faded = [c for c in result.cues if c.start < 10.0 < c.end]
    assert len(faded) == 1 and faded[0].lines[0].split()[0] == "حاول" and faded[0].lines[0].endswith("لاحقا")
    assert abs(faded[0].start - captions[4].start) <= 0.2 and abs(faded[0].end - captions[4].end) <= 0.2


class Reads:
    """A recogniser reading every crop as ``text``."""

    name = "rapidocr"

    def __init__(self, text: str) -> None:
        self.text = text

    def read(self, image: np.ndarray) -> list[Reading]:
        return [Reading((0, 0, image.shape[1], image.shape[0]), self.text, 0.9)] if self.text else []

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        return self.text, 0.9 if self.text else 0.0


def test_a_stretch_read_as_the_caption_before_faded_out_is_its_echo_not_a_cue() -> None:
    before = [Reading((240, 48, 400, 70), "נסו שוב מאוחר יותר", 0.92)]
    faded = [Reading((240, 50, 400, 68), "נסו שוב?מאוחר יו", 0.89)]  # read as it faded out

    def echoes(engine: Reads, lines: list[Reading]) -> bool:
        crop = np.zeros((96, 640, 3), np.uint8)
        mask = np.zeros((96, 640), bool)
        stretch = _Stretch(259, crop, mask, 0, mask)
        for index in range(260, 278, 2):
            stretch.edges.add(index, crop)
        tracker = CaptionTracker(engine, CaptionOptions(), [], (0, 0, 640, 96), (640, 360), 25.0, 1.0, 22.0, 0.3)
        return tracker.echoes(before, stretch, lines)

    assert echoes(Reads(""), faded)  # alike, and no sample of the stretch shows it: the fade's echo
    assert not echoes(Reads("נסו שוב?מאוחר יו"), faded)  # its samples show it: a caption of its own
    assert not echoes(Reads(""), [Reading((240, 50, 400, 68), "התרגיל הסתיים בהצלחה", 0.9)])  # another caption


@pytest.mark.slow
@pytest.mark.skipif(not BACKGROUND.is_file(), reason=f"the real footage {BACKGROUND} is not there (../shared)")
@pytest.mark.skipif(shutil.which("tesseract") is None or "heb" not in installed_packs(),
                    reason="Tesseract's Hebrew pack is not installed (scripts/setup installs it)")
def test_a_caption_fading_out_over_film_gives_one_cue(tmp_path: Path, rapid: OcrEngine) -> None:
    # Six Hebrew captions over real footage, no language said; the fifth fades out over 0.2 s and
    # was read again as it faded ("נסו שוב?מאוחר יו"), a cue lasting to the next caption.
    captions = script_captions("he")
    clip = make_clip(tmp_path / "clip.mp4", captions, background=BACKGROUND)
    engine = with_scripts(rapid, ("en",))
    screen = run_ocr(clip, engine, OcrOptions(engine="rapidocr"))
    result = extract_after_screen(clip, engine, screen.samples, CaptionOptions(), frames=screen.search_frames)
    assert len(result.cues) == len(captions)
    for cue, caption in zip(result.cues, captions, strict=True):
        assert abs(cue.start - caption.start) <= 0.2 and abs(cue.end - caption.end) <= 0.2, (cue, caption)


@pytest.mark.slow
def test_a_caption_found_fading_in_is_read_again_where_its_layer_was_fullest(tmp_path: Path,
                                                                             rapid: OcrEngine) -> None:
    # The fifth caption fades in over the fractal; the empty band before it, read again mid-fade,
    # read "Tick the che ekbox below", which the samples after it took for the same caption.
    captions = turns(ENGLISH_SETS[7])
    clip = make_clip(tmp_path / "clip.mp4", captions)
    engine = with_scripts(rapid, ("en",))  # as the OCR stage reads
    screen = run_ocr(clip, engine, OcrOptions(engine="rapidocr"))
    result = extract_after_screen(clip, engine, screen.samples, CaptionOptions(), frames=screen.search_frames)
    # (A first word's capital is read as it comes: "welcome back, Priya" here, "Welcome" in the bench.)
    assert [c.text.lower() for c in result.cues] == ["\n".join(c.lines).lower() for c in captions]


class ReadsWhenBright(Reads):
    """Recognises a line alone as ``text`` only on a bright crop (as Tesseract at one height read a
    Devanagari caption's lines alone on some samples and not others)."""

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        return (self.text, 0.9) if image.mean() > 128 else ("", 0.0)


@pytest.mark.parametrize(("read_at", "start"), [(60, 1.8), (10, 0.4)])
def test_a_stretch_starts_where_its_lines_are_recognised_but_never_after_the_sample_read(read_at: int,
                                                                                       start: float) -> None:
    line = [Reading((100, 20, 540, 60), "इस पाठ में हम", 0.9)]
    tracker = CaptionTracker(ReadsWhenBright("इस पाठ में हम"), CaptionOptions(), [], (0, 0, 640, 96), (640, 360),
                             25.0, 1.0, 40.0, 0.3)
    mask = np.zeros((96, 640), bool)
    crop = np.full((96, 640, 3), 255, np.uint8)
    stretch = _Stretch(0, crop, mask, 0, mask, lines=line, crop_at=read_at)
    for index in range(0, 100, 10):  # not recognised alone until frame 50, recognised after
        stretch.edges.add(index, np.full((96, 640, 3), 255 if index >= 50 else 0, np.uint8))
    tracker.close(stretch, 100)
    # Read at frame 60, the caption starts where its lines are recognised alone (halfway between
    # frames 40 and 50: 1.8 s at 25 fps); read at frame 10 (where the band's read found them but
    # they do not read alike alone), it shows there, and starts there at the latest.
    assert tracker.spans[-1].start == pytest.approx(start)
    assert tracker.spans[-1].end == pytest.approx(4.0)


def test_a_stretch_alike_to_the_caption_before_but_saying_more_is_no_echo() -> None:
    before = [Reading((240, 48, 400, 70), "Save the file", 0.92)]
    crop = np.zeros((96, 640, 3), np.uint8)
    mask = np.zeros((96, 640), bool)
    stretch = _Stretch(259, crop, mask, 0, mask)
    stretch.edges.add(260, crop)
    tracker = CaptionTracker(Reads(""), CaptionOptions(), [], (0, 0, 640, 96), (640, 360), 25.0, 1.0, 22.0, 0.3)
    assert not tracker.echoes(before, stretch, [Reading((200, 48, 440, 70), "Save the file again", 0.9)])
    assert tracker.echoes(before, stretch, [Reading((240, 48, 400, 70), "Save the fil", 0.9)])


@pytest.mark.slow
@pytest.mark.skipif(not BACKGROUND.is_file(), reason=f"the real footage {BACKGROUND} is not there (../shared)")
@pytest.mark.skipif(not Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").is_file(),
                    reason="no CJK font for libass (fonts-wqy-microhei; ./scripts/setup installs it)")
def test_a_caption_read_fading_in_keeps_its_reading_where_the_fullest_one_reads_fewer_letters(
        tmp_path: Path, rapid: OcrEngine) -> None:
    # Read mid-fade 记得保存你的文件; read again where its layer was fullest, 记得保存你的件.
    captions = turns(CHINESE_SETS["simplified"])
    clip = make_clip(tmp_path / "clip.mp4", captions, background=BACKGROUND)
    engine = with_scripts(rapid, ("en",))
    screen = run_ocr(clip, engine, OcrOptions(engine="rapidocr"))
    result = extract_after_screen(clip, engine, screen.samples, CaptionOptions(), frames=screen.search_frames)
    assert [c.lines for c in result.cues] == [c.lines for c in captions]


@pytest.mark.parametrize(("again", "kept"), [
    ("Їхні відповіді збережено", "Їхні відповіді збережено"),  # another sample reads it sure
    ("Їхні відповіді збережено, натисніть далі щоб продовжити роботу", "ixHi BiπnoBiπi 36epe>keHO"),  # not it
    ("", "ixHi BiπnoBiπi 36epe>keHO"),  # nothing read there
])
def test_a_flagged_caption_is_read_again_on_another_sample_where_it_showed(again: str, kept: str) -> None:
    # Over a moving picture, Tesseract read one sample's Ukrainian caption as nothing sure, and it
    # was left as PP-OCRv5's Latin look-alikes, flagged.
    flagged = [Reading((100, 20, 540, 60), "ixHi BiπnoBiπi 36epe>keHO", 0.77, flags=(SCRIPT_UNCERTAIN,))]
    tracker = CaptionTracker(Reads(again), CaptionOptions(), [], (0, 0, 640, 96), (640, 360), 25.0, 1.0, 40.0, 0.3)
    mask = np.zeros((96, 640), bool)
    crop = np.full((96, 640, 3), 255, np.uint8)
    stretch = _Stretch(0, crop, mask, 0, mask, lines=flagged, crop_at=10)
    stretch.keep_fullest(crop, np.ones((96, 640), bool))  # a later sample where the caption showed
    for index in range(0, 100, 10):
        stretch.edges.add(index, crop)
    tracker.close(stretch, 100)
    assert tracker.spans[-1].lines == (kept,)
    assert (SCRIPT_UNCERTAIN in tracker.spans[-1].flags) == (kept != again)


@pytest.mark.skipif("ara" not in installed_packs(), reason="Tesseract's Arabic pack is not installed (scripts/setup)")
def test_a_caption_read_on_two_samples_keeps_of_each_word_the_listed_reading() -> None:
    # Over the zoom one sample read the first word as "000 “", another the last with a letter more.
    box = (100, 20, 540, 60)
    one = [Reading(box, "000 “على زر الحفظ", 0.9, script="ARABIC")]
    two = [Reading(box, "اضغط على زر الحفظط", 0.9, script="ARABIC")]
    merged = _merged(one, two)
    assert [r.text for r in merged] == ["اضغط “على زر الحفظ"] and _better(merged, one)
    assert not _better(two, one)  # alone, the second holds fewer letters of listed words
    assert _merged(one, [Reading(box, "اضغط على الزر", 0.9, script="ARABIC")])[0].text == "اضغط على الزر"  # not word for word
    latin = [Reading(box, "Save the fi1e", 0.9, script="LATIN")]  # no word lists for Latin: read as it is
    assert _merged(latin, [Reading(box, "Save the file", 0.9)]) == [Reading(box, "Save the file", 0.9)]
    assert not _better([Reading(box, "Save the file", 0.9)], latin)


@pytest.mark.skipif("ara" not in installed_packs(), reason="Tesseract's Arabic pack is not installed (scripts/setup)")
def test_a_stretch_read_with_letters_outside_listed_words_is_read_again_where_it_showed() -> None:
    tracker = CaptionTracker(Reads("اضغط على زر الحفظط"), CaptionOptions(), [], (0, 0, 640, 96), (640, 360),
                             25.0, 1.0, 40.0, 0.3)
    mask = np.zeros((96, 640), bool)
    crop = np.full((96, 640, 3), 255, np.uint8)
    read = [Reading((100, 20, 540, 60), "000 “على زر الحفظ", 0.9, script="ARABIC")]
    stretch = _Stretch(0, crop, mask, 0, mask, lines=read, crop_at=10)
    stretch.keep_fullest(crop, np.ones((96, 640), bool))
    for index in range(0, 100, 10):
        stretch.edges.add(index, crop)
    tracker.close(stretch, 100)
    assert tracker.spans[-1].lines == ("اضغط “على زر الحفظ",) and tracker.doubtful_reread == 1
