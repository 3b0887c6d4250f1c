"""Other scripts: script identification, language packs, re-reading with Tesseract (real Tesseract
on a generated line when it is installed)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipelines.exceptions import UnsupportedLanguageError
from pipelines.ocr.engines import LINE_PLACE, Reading, load_engine, read_knowing, read_region
from pipelines.ocr.reader import OcrOptions, run_ocr
from pipelines.ocr.scripts import (
    IDENTIFY_UNREAD,
    SCRIPT_UNCERTAIN,
    ScriptAwareEngine,
    fragmented,
    installed_packs,
    lookalike_share,
    script_of,
    with_scripts,
)
from pipelines.ocr.tesseract import LINE_HEIGHTS

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def test_script_of_names_the_script_most_letters_are_in() -> None:
    assert script_of("Откройте настройки") == "CYRILLIC"
    assert script_of("Άνοιξε τις ρυθμίσεις") == "GREEK"
    assert script_of("افتح الإعدادات") == "ARABIC"
    assert script_of("OTKponTe HacTpoǔkn") == "LATIN"
    assert script_of("你们接着善后") == "CJK" and script_of("123") == ""


class LookAlikes:
    """A fake PP-OCR that reads a Cyrillic line as Latin look-alikes, unsure of itself."""

    name = "rapidocr"

    def read(self, image: np.ndarray) -> list[Reading]:
        h, w = image.shape[:2]
        return [Reading((4, 4, w - 4, h - 4), "OTKponTe HacTpoMKn", 0.74)]

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        return "OTKponTe HacTpoMKn", 0.74


def line_image(text: str) -> np.ndarray:
    img = Image.new("RGB", (560, 60), (30, 30, 30))
    ImageDraw.Draw(img).text((12, 10), text, font=ImageFont.truetype(FONT, 32), fill=(255, 255, 255))
    return np.asarray(img)[:, :, ::-1].copy()


def test_without_a_language_hint_look_alikes_are_flagged_never_passed_silently(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipelines.ocr.scripts.installed_packs", lambda: frozenset({"eng"}))
    reading = ScriptAwareEngine(LookAlikes(), ("en",)).read(line_image("Откройте настройки"))[0]
    assert SCRIPT_UNCERTAIN in reading.flags


@pytest.mark.skipif(shutil.which("tesseract") is None or not {"rus", "ell"} <= installed_packs(),
                    reason="Tesseract with the rus and ell packs is not installed (./scripts/setup installs them)")
@pytest.mark.parametrize(("text", "script"), [("Откройте настройки", "CYRILLIC"), ("Άνοιξε τις ρυθμίσεις", "GREEK")])
def test_without_a_language_hint_the_script_is_found_from_the_pixels(text: str, script: str) -> None:
    reading = ScriptAwareEngine(LookAlikes(), ("en",)).read(line_image(text))[0]
    assert reading.script == script and reading.text == text and not reading.flags


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract is not installed")
def test_an_unsure_latin_line_that_is_latin_stays_flagged_not_turned_into_another_script() -> None:
    reading = ScriptAwareEngine(LookAlikes(), ("en",)).read(line_image("Open the settings page"))[0]
    assert reading.script == "LATIN" and SCRIPT_UNCERTAIN in reading.flags


@pytest.mark.skipif(shutil.which("tesseract") is None or "rus" not in installed_packs(),
                    reason="Tesseract with the rus pack is not installed (./scripts/setup installs it)")
def test_with_russian_expected_the_line_is_reread_in_cyrillic() -> None:
    reading = ScriptAwareEngine(LookAlikes(), ("ru",)).read(line_image("Откройте настройки"))[0]
    assert reading.script == "CYRILLIC" and "настройки" in reading.text.lower()
    assert not reading.flags


def test_a_language_without_its_pack_is_refused_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipelines.ocr.scripts.installed_packs", lambda: frozenset({"eng"}))
    with pytest.raises(UnsupportedLanguageError, match="tesseract-ocr-ell"):
        OcrOptions(languages=("el",))


def test_lookalike_share_counts_words_no_latin_language_spells_so() -> None:
    assert lookalike_share("HaxMnTe KHonky coxpaHnTb") == pytest.approx(2 / 3)  # "KHonky" could be a word
    assert lookalike_share("3annwnTe oTBeT") == 1.0  # a digit starting a word, a capital inside one
    assert lookalike_share("Bbi6epnTe Hy>KHbiǔ φopMaT") == 1.0  # a digit inside, Greek inside Latin
    assert lookalike_share("Open the settings page") == 0.0
    assert lookalike_share("OPEN THE SETTINGS, 3 TIMES") == 0.0
    # Ordinary Latin spellings, and what screens show: camel case, acronyms, code, paths, addresses.
    assert lookalike_share("Meet McDonald at the iPhone store now") == 0.0
    assert lookalike_share("JupyterLab on macOS") == 0.0
    # "Сначала откройте меню файла" as PP-OCRv5 read it off a caption, sure to 0.81: "CHaHana" too.
    assert lookalike_share("CHaHana OTkpoMTe MeHro paMna") == 0.5
    assert lookalike_share("IPython OAuth PDFs GHz DDoS XMLHttpRequest SQLAlchemy") == 0.0
    assert lookalike_share("[4]:import gh_scoped_creds") == 0.0
    assert lookalike_share("yuvipanda/2i2c-org.github.io") == 0.0
    assert lookalike_share("remote:Counting objects:100%(3/3),done.") == 0.0
    assert lookalike_share("[main 9cf75b1]HI a0fa131..9cf75b1 main") == 0.0  # hashes, numbers
    assert lookalike_share("user-0 C→Logout ①git 开Accessibility") == 0.0  # arrows, icons read as characters


class SureLookAlikes(LookAlikes):
    """PP-OCR sure of its Latin look-alikes, as it was of several generated Russian captions."""

    def read(self, image: np.ndarray) -> list[Reading]:
        h, w = image.shape[:2]
        return [Reading((4, 4, w - 4, h - 4), "HaxMnTe KHonky", 0.89)]

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        return "HaxMnTe KHonky", 0.89


def test_sure_look_alikes_are_flagged_when_no_other_script_can_be_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipelines.ocr.scripts.installed_packs", lambda: frozenset({"eng"}))
    reading = ScriptAwareEngine(SureLookAlikes(), ("en",)).read(line_image("Нажмите кнопку"))[0]
    assert SCRIPT_UNCERTAIN in reading.flags and reading.text == "HaxMnTe KHonky"


@pytest.mark.skipif(shutil.which("tesseract") is None or "rus" not in installed_packs(),
                    reason="Tesseract with the rus pack is not installed (./scripts/setup installs it)")
@pytest.mark.parametrize("languages", [("en", "ru"), ("en",)])
def test_sure_look_alikes_are_read_in_cyrillic_with_or_without_russian_said(languages: tuple[str, ...]) -> None:
    reading = ScriptAwareEngine(SureLookAlikes(), languages).read(line_image("Нажмите кнопку"))[0]
    assert reading.text == "Нажмите кнопку" and reading.script == "CYRILLIC" and not reading.flags


class Reads(LookAlikes):
    """A fake PP-OCR that reads every line as ``text``, this sure (a whole line detected)."""

    def __init__(self, text: str, confidence: float) -> None:
        self.text, self.confidence = text, confidence

    def read(self, image: np.ndarray) -> list[Reading]:
        h, w = image.shape[:2]
        return [Reading((4, 4, w - 4, h - 4), self.text, self.confidence)]

    def read_detected(self, image: np.ndarray) -> list[Reading]:
        return self.read(image)

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        return self.text, self.confidence


@pytest.mark.skipif(shutil.which("tesseract") is None or not {"rus", "ukr"} <= installed_packs(),
                    reason="Tesseract with the rus and ukr packs is not installed (./scripts/setup installs them)")
def test_a_ukrainian_line_identified_without_a_language_keeps_its_own_letters() -> None:
    # Identified as Cyrillic, the line is read with every installed Cyrillic pack (rus+ukr), not
    # with rus alone, which has no і ї є ("Натисн!Ть кнопку ще раз").
    reading = ScriptAwareEngine(Reads("HaTncHiTb KHonky", 0.88), ("en",)).read(line_image("Натисніть кнопку ще раз"))[0]
    assert reading.script == "CYRILLIC" and not reading.flags, reading
    assert reading.text == "Натисніть кнопку ще раз", reading


class DetectsButCannotRead(LookAlikes):
    """PP-OCR finding a line it reads as nothing (as many Hebrew caption lines)."""

    def read(self, image: np.ndarray) -> list[Reading]:
        return []

    def read_detected(self, image: np.ndarray) -> list[Reading]:
        h, w = image.shape[:2]
        return [Reading((4, 4, w - 4, h - 4), "", 0.0)]

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        return "", 0.0


@pytest.mark.skipif(shutil.which("tesseract") is None or "heb" not in installed_packs(),
                    reason="Tesseract with the heb pack is not installed (./scripts/setup installs it)")
def test_a_line_detected_but_read_as_nothing_is_read_in_the_script_said() -> None:
    engine = DetectsButCannotRead()
    assert ScriptAwareEngine(engine, ("en",)).read(line_image("בחרו את השפה")) == []
    reading = ScriptAwareEngine(engine, ("en", "he")).read(line_image("בחרו את השפה"))[0]
    assert reading.text == "בחרו את השפה" and reading.script == "HEBREW"


@pytest.mark.skipif(shutil.which("tesseract") is None or "heb" not in installed_packs(),
                    reason="Tesseract with the heb pack is not installed (./scripts/setup installs it)")
def test_in_a_caption_band_a_line_read_as_nothing_is_identified_without_a_language() -> None:
    engine = ScriptAwareEngine(DetectsButCannotRead(), ("en",))
    image = line_image("בחרו את השפה")
    token = IDENTIFY_UNREAD.set(True)
    try:
        reading = engine.read(image)[0]
        # A blob read as nothing (an icon, a letter's worth) is left alone.
        assert engine.read(np.ascontiguousarray(image[:, :70])) == []
        # A line recognised alone (is the caption still shown?) is never identified.
        assert engine.read_line(image) == ("", 0.0)
    finally:
        IDENTIFY_UNREAD.reset(token)
    assert reading.text == "בחרו את השפה" and reading.script == "HEBREW"
    assert engine.read(image) == []  # outside a caption band: dropped as before


@pytest.mark.skipif(shutil.which("tesseract") is None or "heb" not in installed_packs(),
                    reason="Tesseract with the heb pack is not installed (./scripts/setup installs it)")
def test_on_a_screen_a_line_read_as_nothing_is_identified_only_where_captions_sit() -> None:
    # Korean and Hindi captions, read as nothing where no language is said, were never followed:
    # the band search saw no text. Hebrew read as nothing stands in for them (DejaVu has no Hangul).
    image = line_image("בחרו את השפה")
    engine = ScriptAwareEngine(DetectsButCannotRead(), ("en",))
    low_centre = read_knowing(engine, image, None, lambda box: (0.5, 0.9))
    assert [(r.text, r.script) for r in low_centre] == [("בחרו את השפה", "HEBREW")]
    for place in ((0.15, 0.9), (0.5, 0.3)):  # off-centre, or high up: a screen's, left alone
        assert read_knowing(ScriptAwareEngine(DetectsButCannotRead(), ("en",)), image, None, lambda box, p=place: p) == []
    # Nowhere said (an image read on its own): left alone, and counted as unread.
    alone = ScriptAwareEngine(DetectsButCannotRead(), ("en",))
    assert alone.read(image) == [] and alone.unread_lines == 1


@pytest.mark.skipif(shutil.which("tesseract") is None or "heb" not in installed_packs(),
                    reason="Tesseract with the heb pack is not installed (./scripts/setup installs it)")
def test_in_a_caption_band_a_line_read_unsure_as_no_letter_is_identified() -> None:
    # PP-OCRv5 read a yellow Hindi caption on its black box, "अभ्यास पूरा हुआ", as "33" (0.65).
    image = line_image("בחרו את השפה")
    token = IDENTIFY_UNREAD.set(True)
    try:
        unsure = ScriptAwareEngine(Reads("33", 0.65), ("en",)).read(image)
        sure = ScriptAwareEngine(Reads("12:45", 0.97), ("en",)).read(image)  # a clock reads sure
    finally:
        IDENTIFY_UNREAD.reset(token)
    assert [(r.text, r.script) for r in unsure] == [("בחרו את השפה", "HEBREW")]
    assert [r.text for r in sure] == ["12:45"]


class PlaceOf:
    """An engine that reads one line filling its image and says where the caller put it."""

    name = "place"

    def __init__(self) -> None:
        self.places: list[tuple[float, float]] = []

    def read(self, image: np.ndarray) -> list[Reading]:
        h, w = image.shape[:2]
        box = (w // 4, h // 4, 3 * w // 4, 3 * h // 4)
        place = LINE_PLACE.get()
        assert place is not None
        self.places.append(place(box))
        return [Reading(box, "line", 0.9)]

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        return "line", 0.9


def test_a_region_read_tells_the_engine_where_its_lines_sit_in_the_frame() -> None:
    frame = np.zeros((720, 1280, 3), np.uint8)
    engine = PlaceOf()
    read_region(frame, (440, 600, 840, 680), engine)  # bordered, but placed in the frame
    (x, y), = engine.places
    assert abs(x - 0.5) < 0.01 and abs(y - 640 / 720) < 0.02
    read_region(frame, (0, 0, 200, 100), engine)
    assert engine.places[1][0] < 0.1 and engine.places[1][1] < 0.1
    assert LINE_PLACE.get() is None  # unset once read


@pytest.mark.skipif(shutil.which("tesseract") is None or "ara" not in installed_packs(),
                    reason="Tesseract with the ara pack is not installed (./scripts/setup installs it)")
def test_in_a_caption_band_a_wide_line_read_as_a_few_letters_is_identified() -> None:
    engine = ScriptAwareEngine(Reads("Uww", 0.27), ("en",))  # PP-OCR's reading of a whole Arabic line
    image = line_image("في هذا الدرس")
    # On a whole screen a short unsure reading is only flagged (no Tesseract run for it).
    outside = engine.read(image)[0]
    assert outside.text == "Uww" and SCRIPT_UNCERTAIN in outside.flags
    token = IDENTIFY_UNREAD.set(True)
    try:
        reading = engine.read(image)[0]
    finally:
        IDENTIFY_UNREAD.reset(token)
    assert reading.script == "ARABIC" and not reading.flags, reading
    assert reading.text == "في هذا الدرس", reading


def test_identification_reads_the_two_likeliest_scripts_alone_and_keeps_the_surer_pure_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipelines.ocr.scripts.installed_packs", lambda: frozenset({"eng", "ara", "tha", "rus"}))
    said = {("ara", "tha", "rus", "eng"): ("ไปนม โม | سنتعلم", 0.7), ("tha",): ("ไปนมโม", 0.7),
            ("ara",): ("سنتعلم الأساسيات", 0.85), ("rus",): ("Нет", 0.99)}
    asked: list[tuple[str, ...]] = []

    def fake(crop: np.ndarray, packs: tuple[str, ...], heights: tuple[int, ...], outlined: bool = False) -> tuple[str, float]:
        asked.append(tuple(sorted(packs)))
        return said[next(k for k in said if sorted(k) == sorted(packs))]

    monkeypatch.setattr("pipelines.ocr.scripts.tesseract_line", fake)
    reading = ScriptAwareEngine(LookAlikes(), ("en",)).read(line_image("x"))[0]
    assert reading.text == "سنتعلم الأساسيات" and reading.script == "ARABIC" and not reading.flags
    assert ("rus",) not in asked  # no Cyrillic letter came out: not tried
    # Mixed readings with each pack alone too: no reading, the line is flagged.
    said[("ara",)] = ("سنتعلم ไปนมโม", 0.9)
    said[("tha",)] = ("ไปนม سن", 0.9)
    engine = ScriptAwareEngine(LookAlikes(), ("en",))
    assert SCRIPT_UNCERTAIN in engine.read(line_image("x"))[0].flags


def test_a_reading_its_words_list_holds_wins_over_a_surer_one_no_list_can_judge(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Over the zoom a Greek caption line binarised the usual way came out in Thai letters (no
    # list judges Thai), surer than in Greek; read inside its outline, in Greek words.
    monkeypatch.setattr("pipelines.ocr.scripts.installed_packs", lambda: frozenset({"eng", "ell", "tha"}))
    greek = "θα μάθουμε τα βασικά"
    said = {(False, ("ell", "eng", "tha")): ("เอตแต์เอองแชไนอ", 0.8), (False, ("tha",)): ("เอตแต์เอองแชไนอ", 0.9),
            (False, ("ell",)): ("θκ μξψυμε ψζ βξσκ", 0.7),
            (True, ("ell", "eng", "tha")): ("θα μάθουμε τα βασικά", 0.8), (True, ("tha",)): ("เอตแต์", 0.95),
            (True, ("ell",)): (greek, 0.85)}

    def fake(crop: np.ndarray, packs: tuple[str, ...], heights: tuple[int, ...], outlined: bool = False) -> tuple[str, float]:
        return said[(outlined, tuple(sorted(packs)))]

    monkeypatch.setattr("pipelines.ocr.scripts.tesseract_line", fake)
    token = IDENTIFY_UNREAD.set(True)  # in a caption band: both binarisations
    try:
        # The usual binarisation: Greek no words (not a reading), Thai unjudged; inside the
        # outline the Greek reading is of words, and wins over Thai's surer one.
        assert ScriptAwareEngine(LookAlikes(), ("en",)).read(line_image("x"))[0].text == greek
        # With no judged reading either way, the unjudged one is kept.
        said[(True, ("ell",))] = ("θκ μξψυμε ψζ βξσκ", 0.85)
        assert ScriptAwareEngine(LookAlikes(), ("en",)).read(line_image("x"))[0].text == "เอตแต์เอองแชไนอ"
    finally:
        IDENTIFY_UNREAD.reset(token)


class NumberedLookAlikes(LookAlikes):
    """``LookAlikes`` reading each line a little differently (a number at the end), so that no
    line's settling is taken from the one before (``ScriptAwareEngine``'s cache)."""

    def __init__(self) -> None:
        self.reads = 0

    def read(self, image: np.ndarray) -> list[Reading]:
        self.reads += 1
        h, w = image.shape[:2]
        return [Reading((4, 4, w - 4, h - 4), f"OTKponTe HacTpoMKn {self.reads}", 0.74)]


def test_a_script_identified_twice_is_the_video_s_own_and_read_first_without_every_pack(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two lines identified as Cyrillic: the next is looked at with rus and English alone (not
    with one pack of every script, ~1 s of Tesseract a line) and read with the Cyrillic packs;
    where that look comes out in another script, or the reading is unsure, every script is looked
    at as before."""
    monkeypatch.setattr("pipelines.ocr.scripts.installed_packs", lambda: frozenset({"eng", "rus", "ukr", "ell"}))
    said = {("ell", "eng", "rus"): ("Откройте настройки", 0.7), ("rus", "ukr"): ("Откройте настройки", 0.9),
            ("ell",): ("Οτκρούτε", 0.3), ("eng", "rus"): ("Откройте настройки", 0.8)}
    asked: list[tuple[str, ...]] = []

    def fake(crop: np.ndarray, packs: tuple[str, ...], heights: tuple[int, ...], outlined: bool = False) -> tuple[str, float]:
        asked.append(tuple(sorted(packs)))
        return said[tuple(sorted(packs))]

    monkeypatch.setattr("pipelines.ocr.scripts.tesseract_line", fake)
    engine = ScriptAwareEngine(NumberedLookAlikes(), ("en",))
    image = line_image("x")
    for _ in range(2):
        assert engine.read(image)[0].text == "Откройте настройки"
    assert engine.learned == "CYRILLIC" and ("ell", "eng", "rus") in asked
    asked.clear()
    reading = engine.read(image)[0]
    assert reading.text == "Откройте настройки" and reading.script == "CYRILLIC" and not reading.flags
    assert asked == [("eng", "rus"), ("rus", "ukr")] and engine.read_as_learned == 1
    # The look with rus and English comes out Latin (a line in English): every script is looked at.
    said[("eng", "rus")] = ("Open the settings", 0.9)
    asked.clear()
    assert engine.read(image)[0].text == "Откройте настройки" and ("ell", "eng", "rus") in asked
    # Cyrillic, but the reading with the Cyrillic packs is less sure than learned_confidence: the same.
    said[("eng", "rus")] = ("Откройте настройки", 0.8)
    said[("rus", "ukr")] = ("Откройте настройки", 0.7)
    asked.clear()
    assert engine.read(image)[0].text == "Откройте настройки" and ("ell", "eng", "rus") in asked
    assert engine.read_as_learned == 1


def test_no_script_is_learned_from_too_few_lines_or_from_a_mix() -> None:
    engine = ScriptAwareEngine(LookAlikes(), ("en",))
    assert engine.learned is None
    engine.identified.update({"CYRILLIC": 1})
    assert engine.learned is None  # one line
    engine.identified.update({"CYRILLIC": 1, "GREEK": 1})
    assert engine.learned == "CYRILLIC"  # two of three
    engine.identified.update({"GREEK": 1})
    assert engine.learned is None  # two and two: captions in two languages
    assert ScriptAwareEngine(LookAlikes(), ("en",), learn_after=0).learned is None


def test_in_a_caption_band_a_line_not_identified_is_read_again_inside_its_outline(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """White letters in an outline over a picture as bright as they are: the usual binarisation
    reads the picture ("003 - ow."), the letters inside their outline read. Only in a caption band."""
    monkeypatch.setattr("pipelines.ocr.scripts.installed_packs", lambda: frozenset({"eng", "rus", "ell"}))
    asked: list[bool] = []

    def fake(crop: np.ndarray, packs: tuple[str, ...], heights: tuple[int, ...],
             outlined: bool = False) -> tuple[str, float]:
        asked.append(outlined)
        return ("Нажмите кнопку", 0.9) if outlined else ("003 - ow. .", 0.7)

    monkeypatch.setattr("pipelines.ocr.scripts.tesseract_line", fake)
    assert SCRIPT_UNCERTAIN in ScriptAwareEngine(LookAlikes(), ("en",)).read(line_image("x"))[0].flags
    assert asked == [False]  # on a screen: flagged, read the usual way only
    asked.clear()
    token = IDENTIFY_UNREAD.set(True)
    try:
        reading = ScriptAwareEngine(LookAlikes(), ("en",)).read(line_image("x"))[0]
        assert reading.text == "Нажмите кнопку" and reading.script == "CYRILLIC" and not reading.flags
        assert asked == [False, True, True]  # the look, then the look and Cyrillic alone inside the outline
        asked.clear()
        reading = ScriptAwareEngine(LookAlikes(), ("en", "ru")).read(line_image("x"))[0]  # the language said
        assert reading.text == "Нажмите кнопку" and asked == [False, True]
    finally:
        IDENTIFY_UNREAD.reset(token)


class SureOneLookAlike(LookAlikes):
    """PP-OCRv5 sure of a Russian caption read as look-alikes, one word of four spelt as no Latin
    word is ("OTkpoMTe"): a quarter, under ``suspect_lookalikes``."""

    def read(self, image: np.ndarray) -> list[Reading]:
        h, w = image.shape[:2]
        return [Reading((4, 4, w - 4, h - 4), "ChaHana OTkpoMTe MeHro paina", 0.82)]


def test_in_a_band_of_a_video_with_a_script_learned_one_look_alike_word_makes_a_reading_unsure(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipelines.ocr.scripts.installed_packs", lambda: frozenset({"eng", "rus", "ell"}))

    def fake(crop: np.ndarray, packs: tuple[str, ...], heights: tuple[int, ...],
             outlined: bool = False) -> tuple[str, float]:
        return "Сначала откройте меню файла", 0.9

    monkeypatch.setattr("pipelines.ocr.scripts.tesseract_line", fake)
    engine = ScriptAwareEngine(SureOneLookAlike(), ("en",))
    token = IDENTIFY_UNREAD.set(True)
    try:
        # Nothing learned yet: a quarter of the words is under the share that makes it unsure.
        assert engine.read(line_image("x"))[0].text == "ChaHana OTkpoMTe MeHro paina"
        engine.identified.update({"CYRILLIC": 2})
        reading = engine.read(line_image("x"))[0]  # settled anew, though read before
        assert reading.text == "Сначала откройте меню файла" and reading.script == "CYRILLIC"
    finally:
        IDENTIFY_UNREAD.reset(token)
    # On a screen (not a caption band) the same reading stays: a screen mixes scripts.
    assert engine.read(line_image("x"))[0].text == "ChaHana OTkpoMTe MeHro paina"


def test_with_the_language_said_an_unsure_reading_in_a_band_is_read_inside_the_outline_too(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Over a bright sky the usual binarisation gave Cyrillic garbage, unsure; read inside its
    outline the line is surer, and that reading is kept. A sure first reading is kept alone."""
    said = {False: ("ХЕЛЕДЕ сиойл", 0.4), True: ("Сначала откройте меню", 0.85)}
    asked: list[bool] = []

    def fake(crop: np.ndarray, packs: tuple[str, ...], heights: tuple[int, ...],
             outlined: bool = False) -> tuple[str, float]:
        asked.append(outlined)
        return said[outlined]

    monkeypatch.setattr("pipelines.ocr.scripts.tesseract_line", fake)
    token = IDENTIFY_UNREAD.set(True)
    try:
        assert ScriptAwareEngine(LookAlikes(), ("en", "ru")).read(line_image("x"))[0].text == "Сначала откройте меню"
        assert asked == [False, True]
        said[False] = ("Сначала откройте меню", 0.95)
        asked.clear()
        assert ScriptAwareEngine(LookAlikes(), ("en", "ru")).read(line_image("x"))[0].text == "Сначала откройте меню"
        assert asked == [False]
    finally:
        IDENTIFY_UNREAD.reset(token)
    # On a screen, one reading: the unsure one, in the script said, is kept as before.
    said[False] = ("ХЕЛЕДЕ сиойл", 0.4)
    asked.clear()
    assert ScriptAwareEngine(LookAlikes(), ("en", "ru")).read(line_image("x"))[0].text == "ХЕЛЕДЕ сиойл"
    assert asked == [False]


def test_with_the_language_said_a_reading_of_no_words_is_kept_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tesseract in the script said can answer sure with words no language has: kept (it is in
    the script said), but flagged; a reading of real words is not."""
    said = {False: ("1х 1вдо д б режено", 0.9), True: ("1х 1вдо д б режено", 0.9)}

    def fake(crop: np.ndarray, packs: tuple[str, ...], heights: tuple[int, ...],
             outlined: bool = False) -> tuple[str, float]:
        return said[outlined]

    monkeypatch.setattr("pipelines.ocr.scripts.tesseract_line", fake)
    reading = ScriptAwareEngine(LookAlikes(), ("en", "ru")).read(line_image("x"))[0]
    assert reading.text == "1х 1вдо д б режено" and SCRIPT_UNCERTAIN in reading.flags
    said[False] = ("Откройте настройки", 0.9)
    reading = ScriptAwareEngine(LookAlikes(), ("en", "ru")).read(line_image("x"))[0]
    assert reading.text == "Откройте настройки" and not reading.flags
    # In a band, the outline's reading of real words is preferred to an unknown one, surer or not.
    said.update({False: ("1х 1вдо д б режено", 0.95), True: ("Сначала откроите меню", 0.7)})
    token = IDENTIFY_UNREAD.set(True)
    try:
        reading = ScriptAwareEngine(LookAlikes(), ("en", "ru")).read(line_image("x"))[0]
    finally:
        IDENTIFY_UNREAD.reset(token)
    assert reading.text == "Сначала откройте меню" and not reading.flags  # its lost й restored


def test_with_only_another_language_said_a_plain_latin_word_stays_where_tesseract_reads_no_word(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(crop: np.ndarray, packs: tuple[str, ...], heights: tuple[int, ...],
             outlined: bool = False) -> tuple[str, float]:
        return "Гнтхаб", 0.7

    monkeypatch.setattr("pipelines.ocr.scripts.tesseract_line", fake)
    reading = ScriptAwareEngine(Reads("GitHub", 0.95), ("ru",)).read(line_image("x"))[0]
    assert (reading.text, reading.script, reading.flags) == ("GitHub", "LATIN", ())
    # Unsure of its Latin reading, PP-OCRv5 has nothing better: Tesseract's, flagged.
    reading = ScriptAwareEngine(Reads("GitHub", 0.5), ("ru",)).read(line_image("x"))[0]
    assert (reading.text, reading.flags) == ("Гнтхаб", (SCRIPT_UNCERTAIN,))


def test_without_a_language_a_reading_of_no_words_is_no_identification(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipelines.ocr.scripts.installed_packs", lambda: frozenset({"eng", "rus", "ukr", "ell"}))

    def fake(crop: np.ndarray, packs: tuple[str, ...], heights: tuple[int, ...],
             outlined: bool = False) -> tuple[str, float]:
        return "1х 1вдо д б режено", 0.95

    monkeypatch.setattr("pipelines.ocr.scripts.tesseract_line", fake)
    reading = ScriptAwareEngine(LookAlikes(), ("en",)).read(line_image("x"))[0]
    assert reading.text == "OTKponTe HacTpoMKn" and SCRIPT_UNCERTAIN in reading.flags


def test_with_cyrillic_said_one_look_alike_word_in_a_band_is_re_read_or_flagged(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A sure Latin reading with one word of four spelt as look-alikes, in a band with Russian
    said: re-read in Cyrillic; where Tesseract reads no words, PP-OCRv5's reading stays, flagged."""
    said = ["Сначала откройте меню файла", 0.9]

    def fake(crop: np.ndarray, packs: tuple[str, ...], heights: tuple[int, ...],
             outlined: bool = False) -> tuple[str, float]:
        return said[0], said[1]

    monkeypatch.setattr("pipelines.ocr.scripts.tesseract_line", fake)
    token = IDENTIFY_UNREAD.set(True)
    try:
        reading = ScriptAwareEngine(SureOneLookAlike(), ("en", "ru")).read(line_image("x"))[0]
        assert reading.text == "Сначала откройте меню файла" and not reading.flags
        said[:] = ["@ХЕЛЕДЕ) сиойл", 0.9]
        reading = ScriptAwareEngine(SureOneLookAlike(), ("en", "ru")).read(line_image("x"))[0]
        assert reading.text == "ChaHana OTkpoMTe MeHro paina" and SCRIPT_UNCERTAIN in reading.flags
    finally:
        IDENTIFY_UNREAD.reset(token)
    # On a screen the sure Latin reading stays as it is (English expected too).
    reading = ScriptAwareEngine(SureOneLookAlike(), ("en", "ru")).read(line_image("x"))[0]
    assert reading.text == "ChaHana OTkpoMTe MeHro paina" and not reading.flags


class CutInTwo(LookAlikes):
    """PP-OCR finding one caption line as two boxes on its row, cut through a word, and a third
    line above; the right part read as nothing it can be sure of."""

    def read_detected(self, image: np.ndarray) -> list[Reading]:
        return [Reading((20, 60, 300, 100), "bosJlj", 0.57), Reading((320, 58, 500, 100), "Lebvol", 0.64),
                Reading((20, 4, 300, 40), "Latin above", 0.95)]


def test_in_a_band_a_flagged_line_beside_another_on_its_row_is_read_with_it_as_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(crop: np.ndarray, packs: tuple[str, ...], heights: tuple[int, ...],
             outlined: bool = False) -> tuple[str, float]:
        if "ara" not in packs:
            return "", 0.0
        width = crop.shape[1]  # the whole line, its left part, its right part
        return ("اضغط على زر الحفظ", 0.83) if width > 400 else ("زر الحفعط", 0.65) if width > 250 else ("138 0 8 7", 0.64)

    monkeypatch.setattr("pipelines.ocr.scripts.tesseract_line", fake)
    image = np.full((110, 520, 3), 40, np.uint8)
    token = IDENTIFY_UNREAD.set(True)
    try:
        lines = ScriptAwareEngine(CutInTwo(), ("en", "ar")).read(image)
    finally:
        IDENTIFY_UNREAD.reset(token)
    assert [(r.text, r.box, r.flags) for r in lines] == [
        ("اضغط على زر الحفظ", (20, 58, 500, 100), ()), ("Latin above", (20, 4, 300, 40), ())]
    # On a screen (not a caption band) the two stay apart, the unread one flagged.
    lines = ScriptAwareEngine(CutInTwo(), ("en", "ar")).read(image)
    assert [(r.text, r.flags) for r in lines] == [
        ("زر الحفعط", ()), ("Lebvol", (SCRIPT_UNCERTAIN,)), ("Latin above", ())]


def test_a_line_settled_once_is_not_read_by_tesseract_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, ...]] = []

    def fake(crop: np.ndarray, packs: tuple[str, ...], heights: tuple[int, ...], outlined: bool = False) -> tuple[str, float]:
        calls.append(heights)
        return "Нажмите кнопку", 0.9

    monkeypatch.setattr("pipelines.ocr.scripts.tesseract_line", fake)
    engine = ScriptAwareEngine(SureLookAlikes(), ("en", "ru"))
    image = line_image("Нажмите кнопку")
    assert engine.read_line(image) == engine.read_line(image) == ("Нажмите кнопку", 0.9)
    assert engine.read(image)[0].text == engine.read(image)[0].text == "Нажмите кнопку"
    # A line recognised alone (a check) is read at one height; a line read for its text at all.
    assert calls == [LINE_HEIGHTS[:1], LINE_HEIGHTS]


def test_a_reading_glyph_by_glyph_is_fragmented_real_text_is_not() -> None:
    assert fragmented("ไป น ม โม ป | ค น") and fragmented("6 ๑34 ๑ ม | ๓ ไอ")
    assert not fragmented("Η άσκηση τελείωσε") and not fragmented("في هذا الدرس") and not fragmented("")
    assert fragmented("ภณ ณะ เจ ั อ")  # a Thai vowel sign with no consonant: Hebrew read with the Thai pack
    assert not fragmented("สวัสดี ครับ") and not fragmented("नमस्ते दुनिया") and not fragmented("مَرْحَبًا بِكُمْ")


def screen_video(path: Path, lines: tuple[str, ...]) -> Path:
    """3 s at 5 fps of a light screen that shows ``lines``, one under another."""
    img = Image.new("RGB", (640, 360), (245, 245, 245))
    draw = ImageDraw.Draw(img)
    for k, text in enumerate(lines):
        draw.text((24, 40 + 60 * k), text, font=ImageFont.truetype(FONT, 28), fill=(20, 20, 20))
    frame = np.asarray(img)[:, :, ::-1].copy()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 5, (640, 360))
    for _ in range(15):
        writer.write(frame)
    writer.release()
    return path


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract is not installed")
def test_on_a_screen_an_unreadable_script_reaches_its_event_flagged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, require_model: Callable[[str], Path], model_dir: Path) -> None:
    """Real PP-OCRv5 through the OCR stage: a Russian line with no Cyrillic pack installed comes out
    as Latin look-alikes, and its event says so; the English line beside it is not flagged."""
    require_model("ppocrv5")
    monkeypatch.setattr("pipelines.ocr.scripts.installed_packs", lambda: frozenset({"eng"}))
    video = screen_video(tmp_path / "screen.mp4", ("Нажмите кнопку Сохранить", "Press the Save button"))
    engine = with_scripts(load_engine("rapidocr", model_dir), ("en",))
    events = run_ocr(video, engine, OcrOptions(hardsubs="off")).events
    russian, english = sorted(events, key=lambda e: e.box[1])
    assert SCRIPT_UNCERTAIN in russian.flags and russian.script == "LATIN", russian
    assert "Save" in english.text and english.flags == () and english.script == "LATIN", english


def test_lines_shaped_like_text_read_as_nothing_are_counted() -> None:
    engine = ScriptAwareEngine(DetectsButCannotRead(), ("en",))
    image = line_image("파일 메뉴를 여세요")
    assert engine.read(image) == []  # no language said: not re-read, and not lost silently...
    assert (engine.unread_lines, engine.lines_read) == (1, 1)  # ...but counted
    engine.read(np.ascontiguousarray(image[:, :70]))  # a blob (an icon) read as nothing: not text-shaped
    assert (engine.unread_lines, engine.lines_read) == (1, 2)
    plain = ScriptAwareEngine(Reads("Open the settings", 0.95), ("en",))
    plain.read(line_image("Open the settings"))
    assert (plain.unread_lines, plain.lines_read) == (0, 1)
