"""The Tesseract line reader: binarisation and the cleaning of its readings (real Tesseract on
generated lines where it is installed)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipelines.ocr.scripts import installed_packs
from pipelines.ocr.tesseract import (
    LINE_HEIGHTS,
    Word,
    binarise,
    binarise_enclosed,
    clean_reading,
    has_letters,
    joined,
    tesseract_line,
)

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
HANGUL = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"  # Debian's fonts-nanum (scripts/setup)


def test_tesseract_s_spurious_arabic_short_vowels_are_dropped() -> None:
    # A damma (U+064F) Tesseract's ara pack wrote inside "الإعدادات" on a generated caption.
    assert clean_reading("افتح الإعُدادات", ("ara",)) == "افتح الإعدادات"
    # Hamza on alef is a letter, not a short vowel: kept (composed).
    assert clean_reading("\u0627\u0654\u0646\u0627", ("ara",)) == "أنا"
    # Other packs keep their marks: Cyrillic й and ё, a Hebrew reading.
    assert clean_reading("Ещё новый", ("rus",)) == "Ещё новый"


def test_greek_readings_are_written_monotonic() -> None:
    # Polytonic marks the ell pack wrote on monotonic captions: breathings, a grave on a
    # monosyllable (no accent), a grave on a longer word (the tonos), a stray tonos (NFKC: a space
    # and a combining acute) before a word.
    assert clean_reading("Ἀνοίξτε τὸ αρχείο", ("ell",)) == "Ανοίξτε το αρχείο"
    assert clean_reading("̓Επιλέξτε τη γλώσσα", ("ell",)) == "Επιλέξτε τη γλώσσα"
    assert clean_reading("Πατήστε το ΄κουμπί", ("ell",)) == "Πατήστε το κουμπί"
    assert clean_reading("καλὸς ὥρα", ("ell",)) == "καλός ώρα"
    # A breathing past the first vowel is a misread tonos (the ell pack read "γλὠσσα"), kept on
    # a word that has no other accent; on the first vowel (or rho) it is only dropped.
    assert clean_reading("τη γλὠσσα σας", ("ell",)) == "τη γλώσσα σας"
    assert clean_reading("λὁγός Αὐτό Ῥόδος", ("ell",)) == "λογός Αυτό Ρόδος"
    # Without the Greek pack, nothing Greek is changed but the stray accent.
    assert clean_reading("τὸ", ("eng",)) == "τὸ"


def test_bidirectional_marks_and_micro_signs_are_layout_not_text() -> None:
    assert clean_reading("\u200fשלום\u200f", ("heb",)) == "שלום"
    assert clean_reading("\u00b5ε", ("ell",)) == "με"


def caption_line(text: str, size: tuple[int, int] = (420, 56)) -> np.ndarray:
    """White letters with a dark outline over a mid-grey, noisy picture, as a caption crop."""
    rng = np.random.default_rng(3)
    back = rng.integers(60, 160, (size[1], size[0], 3), dtype=np.uint8)
    img = Image.fromarray(back)
    ImageDraw.Draw(img).text((10, 8), text, font=ImageFont.truetype(FONT, 30), fill=(255, 255, 255),
                             stroke_width=2, stroke_fill=(0, 0, 0))
    return np.asarray(img)[:, :, ::-1].copy()


def test_binarise_gives_dark_letters_on_white_without_the_picture_at_the_edges() -> None:
    out = binarise(caption_line("Open it"))
    assert out.dtype == np.uint8 and set(np.unique(out)) <= {0, 255}
    assert 40 <= out.shape[0] <= 80  # about 48 pixels of line and the white border
    assert (out == 255).mean() > 0.7  # letters are the smaller, dark class
    assert (out[:14] == 255).all() and (out[-14:] == 255).all()  # nothing touches the edge


@pytest.mark.skipif(shutil.which("tesseract") is None or "rus" not in installed_packs(),
                    reason="Tesseract with the rus pack is not installed (./scripts/setup installs it)")
def test_a_russian_caption_line_reads_back() -> None:
    text, confidence = tesseract_line(caption_line("Откройте меню"), ("rus",))
    assert text == "Откройте меню" and confidence > 0.6


def test_a_reading_less_sure_than_sure_is_read_at_the_other_heights_and_the_surest_kept(
        monkeypatch: pytest.MonkeyPatch) -> None:
    said = {48: ("افتج ملف", 0.7), 64: ("", 0.0), 80: ("افتح ملف", 0.86)}
    asked: list[tuple[int, ...]] = []

    def fake(crop: np.ndarray, packs: tuple[str, ...], heights: tuple[int, ...],
             outlined: bool = False) -> list[tuple[str, float]]:
        asked.append(heights)
        return [said[h] for h in heights]

    monkeypatch.setattr("pipelines.ocr.tesseract._read_pages", fake)
    crop = caption_line("x")
    assert tesseract_line(crop, ("ara",)) == ("افتح ملف", 0.86)
    assert asked == [LINE_HEIGHTS[:1], LINE_HEIGHTS[1:]]
    # A sure first reading is kept without reading again; one height reads once.
    said[48] = ("افتح ملف", 0.95)
    asked.clear()
    assert tesseract_line(crop, ("ara",)) == ("افتح ملف", 0.95) and asked == [LINE_HEIGHTS[:1]]
    said[48] = ("افتج ملف", 0.7)
    asked.clear()
    assert tesseract_line(crop, ("ara",), (48,)) == ("افتج ملف", 0.7) and asked == [(48,)]


@pytest.mark.skipif(shutil.which("tesseract") is None or "rus" not in installed_packs(),
                    reason="Tesseract with the rus pack is not installed (./scripts/setup installs it)")
def test_several_heights_are_read_in_one_run_each_its_own_reading() -> None:
    from pipelines.ocr.tesseract import _read_pages

    # A small caption line, about 14 px letters: the whole line at half size (drawn 28 px high,
    # its letters were cut at the bottom, and nothing of a letter's height was left to read).
    small = cv2.resize(caption_line("Откройте меню"), (210, 28), interpolation=cv2.INTER_AREA)
    pages = _read_pages(small, ("rus",), LINE_HEIGHTS)
    assert len(pages) == len(LINE_HEIGHTS) and all(0 <= c <= 1 for _, c in pages)
    text, confidence = tesseract_line(small, ("rus",), LINE_HEIGHTS, sure=1.01)  # always all heights
    assert confidence == max(c for _, c in pages) and text


def test_a_line_without_ink_of_a_letters_height_is_not_given_to_tesseract(monkeypatch: pytest.MonkeyPatch) -> None:
    """A label cut by a panel's edge: its letters touch the crop's edge and are dropped, a few
    specks stay; Tesseract is not run on it. A whole line is read as before."""
    runs: list[tuple[str, ...]] = []

    def fake(source: str, packs: tuple[str, ...], stdin: bytes | None = None) -> bytes:
        runs.append(packs)
        return b"5\t1\t1\t1\t1\t1\t0\t0\t10\t10\t90\tword\n"

    monkeypatch.setattr("pipelines.ocr.tesseract._tesseract", fake)
    line = caption_line("Open it")
    cut = np.ascontiguousarray(line[:26])  # the top half of the letters: each touches the bottom edge
    cut[20:22, 200:202] = 255  # and a speck of a dot above it
    assert not has_letters(binarise(cut), 48) and has_letters(binarise(line), 48)
    assert tesseract_line(cut, ("rus",)) == ("", 0.0) and runs == []
    assert tesseract_line(line, ("rus",)) == ("word", 0.9) and runs == [("rus",)]


def test_tesseract_runs_on_one_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Debian's Tesseract is built with OpenMP, whose spinning threads made each run ~4x slower
    beside the OCR stage's own: it is run with ``OMP_THREAD_LIMIT=1`` whatever the caller's
    environment says (a stand-in ``tesseract`` on the PATH writes its thread limit as the word)."""
    fake = tmp_path / "tesseract"
    fake.write_text('#!/bin/sh\nprintf "5\\t1\\t1\\t1\\t1\\t1\\t0\\t0\\t10\\t10\\t90\\tlimit%s\\n" '
                    '"$OMP_THREAD_LIMIT"\n', encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("OMP_THREAD_LIMIT", "8")
    assert tesseract_line(caption_line("Open it"), ("rus",), LINE_HEIGHTS[:1]) == ("limit1", 0.9)


def outlined_caption(text: str) -> np.ndarray:
    """White bold letters in a black outline over a sky as bright as they are (pink to yellow, BGR)."""
    w, h = 600, 56
    x = np.linspace(0, 1, w)[None, :, None]
    sky = np.array([230, 120, 235]) * (1 - x) + np.array([40, 235, 240]) * x
    img = Image.fromarray(np.repeat(sky, h, axis=0).astype(np.uint8))
    ImageDraw.Draw(img).text((10, 8), text, font=ImageFont.truetype(BOLD, 34), fill=(255, 255, 255),
                             stroke_width=3, stroke_fill=(0, 0, 0))
    return np.asarray(img)[:, :, ::-1].copy()


def test_outlined_letters_over_a_bright_picture_are_parted_by_their_outline() -> None:
    crop = outlined_caption("Open it")
    page = binarise_enclosed(crop)
    assert page.dtype == np.uint8 and set(np.unique(page)) <= {0, 255} and has_letters(page, 48)
    ink = page[12:-12, 12:-12] == 0
    # The letters' fills, not the sky: ink only where the words are (the left fifth of the line).
    columns = np.flatnonzero(ink.any(axis=0))
    assert ink.mean() > 0.02 and columns.min() > 0 and columns.max() < 0.3 * ink.shape[1]
    # Dark UI text on white has no bright fill inside an outline, only its letters' holes: little ink.
    ui = Image.new("RGB", (420, 56), (250, 250, 250))
    ImageDraw.Draw(ui).text((10, 8), "Open it", font=ImageFont.truetype(FONT, 30), fill=(20, 20, 20))
    assert (binarise_enclosed(np.asarray(ui))[12:-12, 12:-12] == 0).mean() < 0.05


@pytest.mark.skipif(shutil.which("tesseract") is None or "rus" not in installed_packs(),
                    reason="Tesseract with the rus pack is not installed (./scripts/setup installs it)")
def test_an_outlined_caption_one_threshold_cannot_read_is_read_inside_its_outline() -> None:
    crop = outlined_caption("Нажмите кнопку сохранить")
    text, confidence = tesseract_line(crop, ("rus",))
    assert text != "Нажмите кнопку сохранить" or confidence < 0.6  # the sky read as ink, or not sure
    assert tesseract_line(crop, ("rus",), outlined=True)[0] == "Нажмите кнопку сохранить"


def test_hangul_and_thai_characters_given_as_words_are_joined_but_where_a_space_is() -> None:
    # Tesseract's TSV at 48 pixels: each syllable a word, 1-7 pixels apart inside a word, 14 between.
    syllables = [Word("파", 0.9, 27, 48), Word("일", 0.9, 52, 67), Word("메", 0.9, 71, 93),
                 Word("뉴", 0.9, 93, 109), Word("여", 0.9, 123, 139), Word("세", 0.9, 146, 161)]
    assert joined(syllables, 48) == "파일메뉴 여세"
    assert joined([Word("เป", 0.9, 23, 35), Word("ิ", 0.9, 30, 36), Word("ด", 0.9, 39, 51)], 48) == "เปิด"
    # Words of spaced scripts keep Tesseract's spaces, however close.
    assert joined([Word("Откройте", 0.9, 0, 100), Word("меню", 0.9, 102, 160)], 48) == "Откройте меню"
    assert joined([Word("파일", 0.9, 0, 40), Word("OK", 0.9, 42, 70)], 48) == "파일 OK"


@pytest.mark.skipif(shutil.which("tesseract") is None or "kor" not in installed_packs() or not Path(HANGUL).is_file(),
                    reason="Tesseract's kor pack or a Hangul font (fonts-nanum) is not installed (./scripts/setup "
                           "installs both)")
def test_a_korean_line_reads_back_with_its_spaces() -> None:
    img = Image.fromarray(np.full((56, 420, 3), 40, np.uint8))
    ImageDraw.Draw(img).text((10, 8), "원하는 언어를 선택하세요", font=ImageFont.truetype(HANGUL, 30), fill=(255, 255, 255))
    text, confidence = tesseract_line(np.asarray(img)[:, :, ::-1].copy(), ("kor",))
    words = text.split()  # a syllable may be misread (언 as 먼), the words stay three
    assert len(words) == 3 and words[0] == "원하는" and words[2] == "선택하세요" and confidence > 0.6
