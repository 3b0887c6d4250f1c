"""Translation units: ids, limits from slot and profile, context notes."""

from __future__ import annotations

from lxml import etree

from pipelines.ocr.scene_text import without_captions
from pipelines.ocr.tracking import CUT, SCRIPT_UNCERTAIN, TextEvent
from pipelines.subtitles import PROFILES
from pipelines.translation.units import (
    CAPTION_LANGUAGE_NOTE,
    CAPTION_NOTE,
    CUT_NOTE,
    OTHER_LANGUAGE_NOTE,
    UNSURE_SCRIPT_NOTE,
    SourceCue,
    TranslationDocument,
    build_document,
    cue_limit,
    screen_limit,
    screen_texts,
)
from pipelines.translation.xliff import NS2, read_xliff, schema_errors, write_xliff
from tests.pipelines.translation.conftest import CUES, EVENTS


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


def test_a_text_ocr_was_unsure_of_tells_the_translator_to_check_it() -> None:
    """A flagged reading (``script-uncertain``) reaches its unit as a note, and the XLIFF file;
    the same text read unflagged in the scene carries the flag still: one unit, flagged once."""
    events = [TextEvent(0.0, 2.0, (0.1, 0.1, 0.5, 0.16), "HaxMnTe KHonky", 0.72, 0, "LATIN", (SCRIPT_UNCERTAIN,)),
              TextEvent(2.5, 4.0, (0.1, 0.1, 0.5, 0.16), "HaxMnTe KHonky", 0.9, 0, "LATIN"),
              TextEvent(0.0, 4.0, (0.1, 0.5, 0.4, 0.56), "Open Settings", 0.97, 0, "LATIN")]
    doc = build_document("job7", "en", [SourceCue(1, 0.5, 3.0, ("Press the button.",))], PROFILES["netflix-en"],
                         "netflix-en", screen_texts(events), "de")
    notes = {u.source: {n.category: n.text for n in u.notes} for u in doc.screen}
    assert notes.keys() == {"HaxMnTe KHonky", "Open Settings"}
    assert notes["HaxMnTe KHonky"]["reading"] == UNSURE_SCRIPT_NOTE
    assert "reading" not in notes["Open Settings"]
    assert UNSURE_SCRIPT_NOTE in write_xliff(doc).decode()


def test_text_partly_hidden_on_screen_tells_the_translator_to_check_it() -> None:
    events = [TextEvent(9.5, 11.0, (0.52, 0.84, 0.57, 0.87), "Tavt Cilo", 0.86, 0, "LATIN", (CUT,)),
              TextEvent(9.5, 11.0, (0.1, 0.5, 0.4, 0.56), "Open Settings", 0.97, 0, "LATIN")]
    doc = build_document("job8", "en", [SourceCue(1, 0.5, 3.0, ("Press the button.",))], PROFILES["netflix-en"],
                         "netflix-en", screen_texts(events), "de")
    notes = {u.source: {n.category: n.text for n in u.notes} for u in doc.screen}
    assert notes["Tavt Cilo"]["reading"] == CUT_NOTE and "reading" not in notes["Open Settings"]
    assert CUT_NOTE in write_xliff(doc).decode()


def test_a_text_read_several_ways_is_one_unit_as_the_reading_kept() -> None:
    """A status bar field re-read with other stops and a line cut short (both read so off the real
    JupyterLab recording) are one unit each, at the whole line's place, timed over all readings;
    the cut reading's flag is not the whole line's."""
    events = [TextEvent(0.0, 1.0, (0.8, 0.96, 0.85, 0.98), "Ln 1,.", 0.8, 0, "LATIN"),
              TextEvent(1.0, 5.0, (0.8, 0.96, 0.85, 0.98), "Ln 1,…", 0.8, 0, "LATIN"),
              TextEvent(0.0, 2.0, (0.1, 0.3, 0.3, 0.34), "The code 1544-35EF ha", 0.9, 0, "LATIN", (CUT,)),
              TextEvent(2.0, 9.0, (0.1, 0.3, 0.6, 0.34), "The code 1544-35EF has been copied.", 0.9, 0, "LATIN")]
    texts = screen_texts(events)
    assert [(t.text, t.start, t.end, t.box, t.flags) for t in texts] == [
        ("The code 1544-35EF has been copied.", 0.0, 9.0, (0.1, 0.3, 0.6, 0.34), ()),
        ("Ln 1,…", 0.0, 5.0, (0.8, 0.96, 0.85, 0.98), ()),
    ]


def test_a_cue_spoken_in_another_language_says_so_to_the_translator() -> None:
    cues = [SourceCue(1, 0.5, 3.0, ("Press the button.",)), SourceCue(2, 31.0, 34.0, ("Drücken Sie die Taste.",), "de")]
    doc = build_document("job9", "en", cues, PROFILES["netflix-en"], "netflix-en", (), "fr")
    notes = [{n.category: n.text for n in u.notes} for u in doc.cues]
    assert "language" not in notes[0]
    assert notes[1]["language"] == OTHER_LANGUAGE_NOTE.format("de", "en") and "(de)" in notes[1]["language"]
    assert OTHER_LANGUAGE_NOTE.format("de", "en") in write_xliff(doc).decode()


CAPTIONS = [SourceCue(1, 0.0, 0.8, ("躲我",), "zh"),
            SourceCue(2, 0.867, 2.4, ("你这辈子都躲不掉", "你这辈子都躲不掉"), "zh", (SCRIPT_UNCERTAIN,))]


def test_burned_in_captions_are_units_of_their_own_limited_as_cues() -> None:
    """Captions burned into the picture (ocr.json's hardsubs) are translated as subtitles are:
    ``caption-NNNN`` units after the cues, timed, with their lines, the cue limits and a note when
    they are in another language than the document's source."""
    doc = build_document("job10", "en", CUES, PROFILES["netflix-en"], "netflix-en", screen_texts(EVENTS), "de",
                         captions=CAPTIONS)
    assert [u.id for u in doc.units] == ["cue-0001", "cue-0002", "cue-0003", "cue-0004", "caption-0001",
                                         "caption-0002", "screen-0-1", "screen-0-2", "screen-1-1"]
    second = doc.captions[1]
    assert (second.kind, second.source, second.start, second.end, second.cue_index) == (
        "caption", "你这辈子都躲不掉 你这辈子都躲不掉", 0.867, 2.4, 2)
    assert second.limit == cue_limit(2.4 - 0.867, PROFILES["netflix-en"])
    notes = {n.category: n.text for n in second.notes}
    assert notes["time"] == "00:00.87 - 00:02.40 (1.53 s on screen)"
    assert notes["lines"] == "source lines: 你这辈子都躲不掉 | 你这辈子都躲不掉"
    assert notes["element"] == CAPTION_NOTE.format(2, "s")
    assert notes["language"] == CAPTION_LANGUAGE_NOTE.format("zh", "en")
    assert notes["reading"] == UNSURE_SCRIPT_NOTE
    for version in ("2.1", "1.2"):
        data = write_xliff(doc, version)  # type: ignore[arg-type]
        assert schema_errors(data, version) == []  # type: ignore[arg-type]
        assert [u.id for u in read_xliff(data).units] == [u.id for u in doc.units]
    groups = etree.fromstring(write_xliff(doc, "2.1")).findall(f".//{{{NS2}}}group")
    assert [g.get("id") for g in groups] == ["subtitles", "captions", "screen"]


def test_a_captions_readings_among_the_screen_events_are_not_screen_text_too() -> None:
    """The OCR stage's events hold the caption band's lines as well: one that reads as a caption
    given (a line of a two-line caption, a letter off, read while it shows) is left out of the
    screen text; a line in the band that no caption holds, one read at another time and one
    outside the band stay, so nothing read is lost."""
    band = (0.0, 0.75, 1.0, 0.95)
    captions = [SourceCue(1, 1.0, 3.0, ("Where did you put", "the quarterly report?")),
                SourceCue(2, 3.2, 5.0, ("On your desk.",))]
    events = [
        TextEvent(1.0, 3.0, (0.2, 0.78, 0.8, 0.84), "Where did you put", 0.95, 0),
        TextEvent(1.0, 3.0, (0.2, 0.85, 0.8, 0.91), "the quarterly rep0rt?", 0.9, 0),  # a letter off
        TextEvent(3.5, 5.0, (0.3, 0.8, 0.7, 0.86), "On your desk.", 0.97, 0),
        TextEvent(7.0, 9.0, (0.3, 0.8, 0.7, 0.86), "On your desk.", 0.97, 0),  # no caption then
        TextEvent(3.5, 5.0, (0.3, 0.87, 0.7, 0.92), "EXIT", 0.9, 0),  # a sign in the band
        TextEvent(1.0, 5.0, (0.1, 0.1, 0.5, 0.2), "Where did you put", 0.9, 0),  # a slide's title
    ]
    kept = without_captions(events, captions, [band])
    assert [(e.start, e.text) for e in kept] == [(7.0, "On your desk."), (3.5, "EXIT"), (1.0, "Where did you put")]
    assert without_captions(events, captions, []) == events  # no band: nothing is known to be a caption
    assert without_captions(events, [], [band]) == events
