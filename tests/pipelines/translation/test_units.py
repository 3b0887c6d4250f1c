"""Translation units: ids, limits from slot and profile, context notes."""

from __future__ import annotations

from pipelines.subtitles import PROFILES
from pipelines.translation.units import TranslationDocument, cue_limit, screen_limit


def test_one_unit_per_cue_and_per_distinct_screen_text(doc: TranslationDocument) -> None:
    assert [u.id for u in doc.cues] == ["cue-0001", "cue-0002", "cue-0003", "cue-0004"]
    assert [u.id for u in doc.screen] == ["screen-0-1", "screen-0-2", "screen-1-1"]
    assert doc.cues[1].source == "Open the settings page and choose security."
    save = doc.screen[2]
    assert (save.start, save.end) == (6.5, 9.5)  # the two readings of "Save" joined


def test_cue_limit_is_reading_speed_over_the_slot_capped_by_the_lines() -> None:
    netflix = PROFILES["netflix-en"]  # 20 characters a second, 2 lines of 42
    assert cue_limit(2.0, netflix).max_chars == 40
    assert cue_limit(2.04, netflix).max_chars == 40  # whole characters only: 40.8 -> 40
    long = cue_limit(6.0, netflix)
    assert long.max_chars == 85 and "2 lines of at most 42" in long.basis  # 42 + space + 42
    bbc = cue_limit(2.0, PROFILES["bbc"])  # words a minute, 37 characters a line
    assert bbc.max_chars == 75 and bbc.max_words == 6


def test_screen_limit_is_the_room_to_the_right_margin() -> None:
    assert screen_limit("Save", (0.1, 0.3, 0.2, 0.35)).max_chars == 34  # 4 chars in 0.1: 0.85 of room
    assert screen_limit("A very long title", (0.05, 0.1, 0.95, 0.2)).max_chars == 17  # no room: as is


def test_notes_give_time_pause_scene_and_place(doc: TranslationDocument) -> None:
    notes = {n.category: n.text for n in doc.cues[1].notes}
    assert notes["time"] == "00:03.20 - 00:06.20 (3.00 s on screen)"
    assert notes["pause"] == "silence before: 0.20 s, after: 0.80 s"
    assert "Reset Your Password" in notes["scene"] and notes["scene"].startswith("scene 0")
    assert notes["lines"] == "source lines: Open the settings page | and choose security."
    assert notes["voice-over"] == "spoken in 3.00 s: about 17 syllables at the mean rate of de (5.97 a second)"
    title = {n.category: n.text for n in doc.screen[0].notes}
    assert title["position"].startswith("top left")
    assert "heading" in title["element"]
    assert "label" in {n.category: n.text for n in doc.screen[1].notes}["element"]
