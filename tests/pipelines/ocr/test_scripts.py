"""Other scripts: script identification, language packs, re-reading with Tesseract (real Tesseract
on a generated line when it is installed)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipelines.exceptions import UnsupportedLanguageError
from pipelines.ocr.engines import Reading
from pipelines.ocr.reader import OcrOptions
from pipelines.ocr.scripts import SCRIPT_UNCERTAIN, ScriptAwareEngine, installed_packs, script_of

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
