"""Flagged Latin look-alikes of a Cyrillic or Greek text given its sure reading at their place."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench.caption_clips import make_clip, static_name
from pipelines.ocr.engines import OcrEngine, load_engine
from pipelines.ocr.lookalikes import as_latin, settle_lookalikes
from pipelines.ocr.scripts import installed_packs, with_scripts
from pipelines.ocr.tracking import SCRIPT_UNCERTAIN, TextEvent, similarity

NAME = (0.41, 0.9, 0.59, 0.96)


def event(start: float, end: float, text: str, script: str, flagged: bool = False, box: tuple[float, ...] = NAME,
          scene: int = 0) -> TextEvent:
    return TextEvent(start, end, box, text, 0.7 if flagged else 0.96, scene, script,  # type: ignore[arg-type]
                     (SCRIPT_UNCERTAIN,) if flagged else ())


def test_cyrillic_and_greek_are_written_as_the_latin_letters_they_look_like() -> None:
    # As PP-OCRv5 read them: "Ye6HbiM kaHan", "HaxMnTe", "ixHi BiπnoBiπi 36epe>keHO".
    assert similarity("ye6hbim kahan", as_latin("Учебный канал").lower()) >= 0.8
    assert similarity("hakmute", as_latin("Нажмите").lower()) >= 0.8
    assert as_latin("ΚΑΛΟ ΤΑΞΙΔΙ").startswith("KA")
    assert as_latin("Open") == "Open"


def test_a_flagged_lookalike_event_takes_the_sure_reading_at_its_place_and_joins_it() -> None:
    events = [event(0.0, 2.5, "Ye6HbiM kaHan", "LATIN", flagged=True),
              event(2.5, 6.0, "Yue6Hbin kaHan", "LATIN", flagged=True),
              event(6.0, 20.0, "Учебный канал", "CYRILLIC"),
              event(1.0, 9.0, "Markdown Eiln", "LATIN", flagged=True, box=(0.1, 0.1, 0.3, 0.14)),
              event(3.0, 4.0, "Ye6HbiM kaHan", "LATIN", flagged=True, box=(0.1, 0.5, 0.3, 0.54))]
    out = settle_lookalikes(events, 0.5)
    assert [(e.start, e.end, e.text, e.flags) for e in out] == [
        (0.0, 20.0, "Учебный канал", ()),
        # Elsewhere on the screen, or another text: left flagged.
        (1.0, 9.0, "Markdown Eiln", (SCRIPT_UNCERTAIN,)),
        (3.0, 4.0, "Ye6HbiM kaHan", (SCRIPT_UNCERTAIN,))]


def test_events_of_other_scenes_or_apart_in_time_stay_apart() -> None:
    events = [event(0.0, 2.0, "Ye6HbiM kaHan", "LATIN", flagged=True, scene=0),
              event(2.0, 6.0, "Учебный канал", "CYRILLIC", scene=1),
              event(9.0, 12.0, "Учебный канал", "CYRILLIC", scene=1)]
    out = settle_lookalikes(events, 0.5)
    assert [(e.start, e.end, e.text, e.scene, e.flags) for e in out] == [
        (0.0, 2.0, "Учебный канал", 0, ()), (2.0, 6.0, "Учебный канал", 1, ()), (9.0, 12.0, "Учебный канал", 1, ())]


@pytest.fixture(scope="module")
def rapid(require_model: Callable[[str], Path], model_dir: Path) -> OcrEngine:
    require_model("ppocrv5")
    return load_engine("rapidocr", model_dir)


@pytest.mark.slow
@pytest.mark.skipif("rus" not in installed_packs(), reason="Tesseract's Russian pack is not installed (scripts/setup)")
def test_a_russian_name_over_moving_footage_is_one_reading_unflagged(tmp_path: Path, rapid: OcrEngine) -> None:
    """"Учебный канал" burned in for 20 s over the zoom, no language said: Tesseract reads it sure
    in some samples only; before, the others were events of flagged look-alikes ("Ye6HbiM kaHan")."""
    from pipelines.ocr.reader import OcrOptions, run_ocr

    clip = make_clip(tmp_path / "name.mp4", static_name("ru"))
    result = run_ocr(clip, with_scripts(rapid, ("en",)), OcrOptions(languages=("en",)))
    low = [e for e in result.events if e.box[1] > 0.8]
    assert low and {e.text for e in low} == {"Учебный канал"}, [(e.text, e.flags) for e in low]
    assert all(not e.flags for e in low)
    assert min(e.start for e in low) < 0.5 and max(e.end for e in low) > 19.5
