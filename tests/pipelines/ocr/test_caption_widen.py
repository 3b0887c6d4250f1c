"""Caption lines read cut short, read again out to where a centred caption would end (fast, with
a fake engine; the tracker's use of it on generated clips is in ``test_caption_tracker``)."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from pipelines.ocr.caption_layer import inner_gaps, letters_between
from pipelines.ocr.caption_options import CaptionOptions
from pipelines.ocr.caption_widen import Widener, continued
from pipelines.ocr.engines import Reading

SAVE = Reading((280, 40, 340, 70), "Save", 0.99, "LATIN")
""""Save it" centred on 320 found as "Save" (280-340): off the centre by 10 pixels."""


class LineEngine:
    """A fake engine: a line recognised alone reads ``wider``; the band read finds ``band``."""

    name = "fake"

    def __init__(self, wider: tuple[str, float], band: list[Reading] | None = None) -> None:
        self.wider, self.band = wider, band or []
        self.recognised: list[tuple[int, ...]] = []
        self.band_reads = 0

    def read(self, image: np.ndarray) -> list[Reading]:
        self.band_reads += 1
        return list(self.band)

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        self.recognised.append(image.shape[:2])
        return self.wider


def band_with_strokes(start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """A 640x90 band crop and its text layer (all columns, scale 1), with letter-high strokes on
    a line's rows (40-70) every 8 columns from ``start`` to ``end``."""
    crop = np.full((90, 640, 3), 60, np.uint8)
    mask = np.zeros((90, 640), bool)
    for x in range(start, end, 8):
        mask[42:68, x:x + 3] = True
    return crop, mask


def widener(engine: LineEngine) -> Widener:
    # The band: the frame's bottom rows of a 640-wide frame, its layer followed over all columns.
    return Widener(engine, CaptionOptions(), engine.read, 320.0, 0, 1.0)


def test_letters_between_needs_a_column_of_strokes_as_tall_as_a_letter() -> None:
    _, mask = band_with_strokes(284, 360)
    assert letters_between(mask, SAVE.box, (340, 360), 0, 1.0)
    specks = np.zeros_like(mask)
    specks[41:43, 345:350] = True  # footage: a speck at the line's top...
    specks[66:68, 352:356] = True  # ...and one at its bottom, in other columns
    assert not letters_between(specks, SAVE.box, (340, 360), 0, 1.0)
    assert not letters_between(mask, SAVE.box, (400, 440), 0, 1.0)  # nothing there
    # The layer of columns from 144 on at half scale: the same strokes found, and the line's own
    # last stroke (at 332-334, on the column of the box's edge at this scale) is not one of them.
    half = cv2.resize(mask[:, 144:].astype(np.uint8), (248, 45), interpolation=cv2.INTER_NEAREST).astype(bool)
    assert letters_between(half, SAVE.box, (340, 360), 144, 0.5)
    _, own = band_with_strokes(284, 340)
    half_own = cv2.resize(own[:, 144:].astype(np.uint8), (248, 45), interpolation=cv2.INTER_NEAREST).astype(bool)
    assert not letters_between(half_own, (280, 40, 337, 70), (337, 363), 144, 0.5)


def test_a_line_ended_short_of_a_word_is_recognised_out_to_its_mirror() -> None:
    crop, mask = band_with_strokes(284, 360)  # strokes out to 360, where a centred line ends
    engine = LineEngine(("Save it", 0.94))
    widen = widener(engine)
    lines = widen.widened(crop, mask, [SAVE])
    assert [(r.text, r.box) for r in lines] == [("Save it", (280, 40, 360, 70))]
    assert len(engine.recognised) == 1 and engine.recognised[0][1] >= 360 - 280
    assert widen.recognised == 1 and widen.wider == 1  # what the stage's log counts
    # Cut on the left: "log file" right of the centre, strokes back to its mirror.
    part = Reading((330, 40, 408, 70), "log file", 0.97, "LATIN")
    crop, mask = band_with_strokes(236, 404)
    lines = widener(LineEngine(("Check the log file", 0.95))).widened(crop, mask, [part])
    assert [(r.text, r.box) for r in lines] == [("Check the log file", (232, 40, 408, 70))]


@pytest.mark.parametrize(("wider", "why"), [
    (("Faafsitend out", 0.95), "the line's words are not words of it"),
    (("it Save", 0.95), "more on the wrong side"),
    (("Save it", 0.7), "much less sure than the line"),
    (("Save", 0.99), "nothing more"),
    (("Сохранить", 0.99), "another script"),
])
def test_a_wider_reading_replaces_the_line_only_when_it_reads_the_line_and_more(wider: tuple[str, float],
                                                                                 why: str) -> None:
    crop, mask = band_with_strokes(284, 360)
    engine = LineEngine(wider)
    widen = widener(engine)
    assert widen.widened(crop, mask, [SAVE]) == [SAVE], why
    assert len(engine.recognised) == 1 and widen.wider == 0


def test_a_centred_line_or_one_without_letters_beside_it_is_not_recognised_again() -> None:
    crop, mask = band_with_strokes(284, 360)
    engine = LineEngine(("Save it", 0.99))
    widen = widener(engine)
    centred = Reading((290, 40, 350, 70), "Save", 0.99, "LATIN")
    assert widen.widened(crop, mask, [centred]) == [centred]
    crop, bare = band_with_strokes(284, 340)  # no strokes past the box
    assert widen.widened(crop, bare, [SAVE]) == [SAVE]
    # Flagged lines (look-alikes of another script) stay as read.
    unsure = Reading((280, 40, 340, 70), "Save", 0.99, "LATIN", ("script-uncertain",))
    assert widen.widened(crop, mask, [unsure]) == [unsure]
    assert engine.recognised == [] and widen.recognised == 0


def test_lines_of_other_scripts_are_read_wider_in_reading_order() -> None:
    """Over the mandelbrot's bright pink and yellow the detector ended Greek and Cyrillic
    caption lines short; a right-to-left line cut on its left lacks its end."""
    crop, mask = band_with_strokes(284, 360)
    greek = Reading((280, 40, 340, 70), "Δοκιμάστε", 0.9, "GREEK")
    lines = widener(LineEngine(("Δοκιμάστε ξανά", 0.88))).widened(crop, mask, [greek])
    assert [(r.text, r.script) for r in lines] == [("Δοκιμάστε ξανά", "GREEK")]
    arabic = Reading((300, 40, 360, 70), "افتح ملف", 0.9, "ARABIC")  # right of the centre: cut at its end
    assert widener(LineEngine(("افتح ملف المشروع", 0.9))).widened(crop, mask, [arabic])[0].text == "افتح ملف المشروع"
    # More before its first word is more on the wrong side for a line cut at its end.
    assert widener(LineEngine(("زر افتح ملف", 0.9))).widened(crop, mask, [arabic]) == [arabic]


def test_a_wider_reading_continues_the_line_on_the_side_it_was_cut() -> None:
    assert continued("Save", "Save it", right=True)
    assert continued("he dialog", "Then close the dialog", right=False)  # cut inside "the"
    assert continued("Sav", "Save it", right=True)
    assert continued("你好", "你好吗", right=True, characters=True)
    assert not continued("你好", "你们好吗", right=True, characters=True)
    assert not continued("Save", "it Save", right=True)  # more on the other side
    assert not continued("he dialog", "Then close a dialog", right=False)  # a whole word differs
    assert not continued("Save it", "Save it.", right=True)  # no letter more
    assert not continued("Save", "Saves", right=False)


PART = Reading((330, 40, 408, 70), "log file", 0.97, "LATIN")
"""A caption read as it faded in: "log file" of "Check the log file" (232-408)."""


def test_a_line_read_as_it_faded_in_is_taken_from_a_band_read_where_the_layer_is_fuller() -> None:
    crop, mask = band_with_strokes(236, 404)
    whole = Reading((232, 40, 408, 70), "Check the log file", 0.96, "LATIN")
    engine = LineEngine(("", 0.0), [whole])
    widen = widener(engine)
    assert widen.widened_at(crop, mask, [PART]) == [whole]
    assert engine.recognised == [] and engine.band_reads == 1
    # A band read that finds the short line again falls back to recognising it out to its mirror.
    engine = LineEngine(("Check the log file", 0.95), [PART])
    assert [r.text for r in widener(engine).widened_at(crop, mask, [PART])] == ["Check the log file"]
    assert len(engine.recognised) == 1


@pytest.mark.parametrize(("found", "why"), [
    (Reading((232, 40, 408, 70), "Check the log file", 0.55, "LATIN"), "much less sure"),
    (Reading((232, 40, 408, 70), "Check the log file", 0.96, "LATIN", ("script-uncertain",)), "flagged"),
    (Reading((232, 40, 408, 70), "Проверьте log file", 0.96, "CYRILLIC"), "another script"),
    (Reading((150, 40, 408, 70), "TV5 Check the log file", 0.96, "LATIN"), "past the mirror: a logo"),
    (Reading((232, 5, 408, 80), "The output shows Check the log file", 0.96, "LATIN"), "two rows"),
])
def test_a_band_read_line_replaces_the_cut_one_only_as_a_wider_reading_would(found: Reading, why: str) -> None:
    crop, mask = band_with_strokes(236, 404)
    engine = LineEngine(("", 0.0), [found])  # recognising it out to its mirror reads nothing
    assert widener(engine).widened_at(crop, mask, [PART]) == [PART], why
    assert len(engine.recognised) == 1


LEON = Reading((202, 24, 479, 52), "个还是两个？是两个对吧？", 0.98, "CJK")
"""rvo_leon_zh_en's line read with its band: the 一 at its start lost, its box centred (on 340)."""


@pytest.mark.parametrize(("alone", "kept"), [
    (("一个还是两个？是两个对吧？", 0.96), "一个还是两个？是两个对吧？"),  # more at the start: taken
    (("个还是两个？是两个对吧？吗", 0.95), "个还是两个？是两个对吧？吗"),  # ...or at the end
    (("一个还是两个？是两个对吧？", 0.7), LEON.text),  # much less sure
    (("一个还是两个？是两个对", 0.97), LEON.text),  # not the line and more
    (("One quart or two?", 0.99), LEON.text),  # another script
])
def test_a_cjk_line_recognised_alone_replaces_it_when_it_reads_it_and_more(alone: tuple[str, float],
                                                                           kept: str) -> None:
    engine = LineEngine(alone)
    crop, mask = band_with_strokes(202, 479)
    read = widener(engine).widened(crop, mask, [LEON])
    assert [r.text for r in read] == [kept] and len(engine.recognised) == 1


def test_a_latin_line_centred_is_not_recognised_alone() -> None:
    engine = LineEngine(("Save it now", 0.99))
    line = Reading((290, 40, 350, 70), "Save it", 0.99, "LATIN")
    crop, mask = band_with_strokes(290, 350)
    assert widener(engine).widened(crop, mask, [line]) == [line] and engine.recognised == []


class SidesEngine(LineEngine):
    """A fake engine whose lines recognised alone read ``reads`` in turn (the last one again)."""

    def __init__(self, reads: list[str]) -> None:
        super().__init__(("", 0.0))
        self.reads = reads

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        self.recognised.append(image.shape[:2])
        return self.reads[min(len(self.recognised), len(self.reads)) - 1], 0.99


def phrases(*spans: tuple[int, int], faint: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A band crop with bright strokes (outlined in the dark) every 8 columns of ``spans`` on the
    rows 42-68 and its text layer; ``faint``: columns whose strokes are in the crop but not in the
    layer (a faint caption's strokes the layer missed)."""
    crop = np.full((90, 640, 3), 30, np.uint8)
    mask = np.zeros((90, 640), bool)
    for start, end in [*spans, *([faint] if faint else [])]:
        for x in range(start, end, 8):
            crop[42:68, x:x + 3] = 230
            mask[42:68, x:x + 3] = (start, end) != faint
    return crop, mask


def test_inner_gaps_are_the_layers_empty_columns_wider_than_its_letters_are_high_times_a_share() -> None:
    _, mask = phrases((202, 320), (360, 479))
    # Strokes at 314-316 and 360-362; the letters 26 rows high: 43 empty columns >= 0.6 x 26.
    assert inner_gaps(mask, (202, 40, 479, 70), 0, 1.0, 0.6) == [(317, 360)]
    assert inner_gaps(mask, (202, 40, 479, 70), 0, 1.0, 1.8) == []  # 43 < 1.8 x 26
    assert inner_gaps(mask, (202, 40, 479, 70), 0, 1.0, 0.1) != [(317, 360)]  # the letters' own gaps too
    speck = mask.copy()
    speck[50:52, 338:340] = True  # a speck of footage in the gap splits it in two of 21 and 20
    assert inner_gaps(mask, (202, 40, 479, 70), 0, 1.0, 1.0) == [(317, 360)]
    assert inner_gaps(speck, (202, 40, 479, 70), 0, 1.0, 1.0) == []


CJK_LINE = Reading((202, 40, 479, 70), "耶穌也留不住他•我说的", 0.9, "CJK")


@pytest.mark.parametrize(("line", "sides", "spaced"), [
    (CJK_LINE, ["耶穌也留不住他", "我说的"], "耶穌也留不住他 我说的"),  # a pause read as a mark
    (replace(CJK_LINE, text="是两个对吧？"), ["是两个", "对吧？"], "是两个 对吧？"),  # ...or as nothing
    (replace(CJK_LINE, text="这下，你跑不掉了"), ["这下，", "你跑不掉了"], "这下，你跑不掉了"),  # a comma's blank half
    (CJK_LINE, ["耶穌也留不住", "我说的"], CJK_LINE.text),  # the sides lack a character
    (CJK_LINE, ["耶穌也留不住他", ""], CJK_LINE.text),  # a side read as nothing
])
def test_a_cjk_line_with_a_pause_between_phrases_is_written_with_a_space_there(line: Reading, sides: list[str],
                                                                               spaced: str) -> None:
    engine = SidesEngine(sides)
    crop, mask = phrases((202, 320), (360, 479))
    out = widener(engine).spaced(crop, mask, line)
    assert (out.text if out else line.text) == spaced
    assert len(engine.recognised) == 2  # each side, cut at the middle of the pause
    assert out is None or out.box == line.box


def test_no_side_is_recognised_where_the_line_has_no_pause_or_is_spaced_there_already() -> None:
    engine = SidesEngine(["x"])
    crop, mask = phrases((202, 479))
    assert widener(engine).spaced(crop, mask, CJK_LINE) is None  # its letters' gaps are narrow
    crop, mask = phrases((202, 320), (360, 479), faint=(320, 360))
    assert widener(engine).spaced(crop, mask, CJK_LINE) is None  # strokes the layer missed
    crop, mask = phrases((202, 320), (360, 479))
    assert widener(engine).spaced(crop, mask, replace(CJK_LINE, text="耶穌也留不住他 我说的")) is None
    assert engine.recognised == []
    off = Widener(engine, CaptionOptions(phrase_gap=0), engine.read, 320.0, 0, 1.0)
    assert off.spaced(crop, mask, CJK_LINE) is None and engine.recognised == []


def test_a_cjk_line_read_with_the_band_is_spaced_at_its_pause_after_it_is_recognised_alone() -> None:
    engine = SidesEngine(["耶穌也留不住他•我说的", "耶穌也留不住他", "我说的"])
    crop, mask = phrases((202, 320), (360, 479))
    assert [r.text for r in widener(engine).widened(crop, mask, [CJK_LINE])] == ["耶穌也留不住他 我说的"]
    assert len(engine.recognised) == 3
