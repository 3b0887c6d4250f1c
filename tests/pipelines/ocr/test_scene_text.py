"""Unit tests of each scene's texts for a translator: icons apart, one reading of each text."""

from __future__ import annotations

from pipelines.ocr.scene_text import canonical, glyph, lone_ideograph, translatable, unique_text
from pipelines.ocr.tracking import TextEvent


def test_unique_text_drops_repeats_within_a_scene() -> None:
    events = [
        TextEvent(0, 1, (0.1, 0.1, 0.3, 0.2), "Save", 0.9, 0),
        TextEvent(2, 3, (0.1, 0.5, 0.3, 0.6), "save", 0.9, 0),
    ]
    assert unique_text(events)[0].texts == ("Save",)


def test_unique_text_sets_icons_read_as_text_apart() -> None:
    """Read off the real recordings: icons read as letters and as CJK characters, a shortcut ("⌘S"
    read as "8S") beside the menu's words, a terminal's numbers. A lone CJK character is a word where
    the scene has CJK text, an icon where it has none."""
    latin = ["File", "C", "三", "8S", "Save As..", "00", "ごjupyterhub Home Token", "Launcher 1 Ω", "168", "12:30"]
    chinese = ["是", "保存文件", "否"]
    events = [TextEvent(0, 1, (0.1, 0.05 * n, 0.3, 0.05 * n + 0.04), t, 0.9, 0) for n, t in enumerate(latin)]
    events += [TextEvent(2, 3, (0.1, 0.05 * n, 0.3, 0.05 * n + 0.04), t, 0.9, 1) for n, t in enumerate(chinese)]
    first, second = unique_text(events)
    assert first.texts == ("File", "Save As..", "ごjupyterhub Home Token", "Launcher 1 Ω", "168", "12:30")
    assert first.glyphs == ("C", "三", "8S", "00")
    assert (second.texts, second.glyphs) == (("是", "保存文件", "否"), ())


def test_a_lone_cjk_character_is_a_word_only_among_cjk_text() -> None:
    assert lone_ideograph("三") and lone_ideograph("日 M") and not lone_ideograph("保存") and not lone_ideograph("ご jupyter")
    assert not translatable("品", ["品", "Work", "Sign in"]) and translatable("品", ["品", "商品列表"])
    assert not translatable("品", ["品", "日"])  # two icons do not make a CJK screen
    assert translatable("OK", []) and not translatable("C", ["Cancel"]) and not translatable("12:30", [])
    assert glyph("品", ["品", "Work"]) and not glyph("品", ["品", "商品列表"]) and not glyph("12:30", [])


def ev(text: str, start: float, end: float, x: float = 0.1, y: float = 0.9, w: float = 0.3, scene: int = 0) -> TextEvent:
    return TextEvent(start, end, (x, y, x + w, y + 0.03), text, 0.9, scene)


def test_readings_that_differ_only_in_spaces_and_stops_are_one_text() -> None:
    """Read off the real JupyterLab recording: its status bar's cursor field, re-read four ways as
    the line typed above it grew the region read; the reading shown longest stands for them."""
    events = [ev("Ln 1, .…", 0, 1), ev("Ln 1,.", 1, 2), ev("Ln 1,…", 2, 5), ev("Ln1,…", 5, 6)]
    assert canonical(events) == [2, 2, 2, 2]
    (scene,) = unique_text(events)
    assert scene.texts == ("Ln 1,…",) and scene.variants == ("Ln 1, .…", "Ln 1,.", "Ln1,…")


def test_a_part_typed_or_cut_short_stands_as_the_whole_line_at_its_place() -> None:
    typed = [ev("The code 1544-35EF ha", 0, 1, y=0.3), ev("The code 1544-35EF has been copied.", 1, 9, y=0.3)]
    cut = [ev("Python 3 (ipyk.…", 0, 2, y=0.95, w=0.1), ev("Python 3 (ipykernel)", 2, 3, y=0.951, w=0.15)]
    elsewhere = [ev("Install", 0, 9, y=0.5, w=0.05), ev("Install on your personal account", 0, 9, x=0.4, y=0.2)]
    scenes = unique_text(typed + cut + elsewhere)
    assert scenes[0].texts == ("Install on your personal account", "The code 1544-35EF has been copied.", "Install",
                               "Python 3 (ipykernel)")
    assert scenes[0].variants == ("The code 1544-35EF ha", "Python 3 (ipyk.…")
    # a part of a part, at the place of that part only, stands as the whole too
    chain = [ev("git clone https://github.com/yuvipanda/testity-test", 0, 9, x=0.1, w=0.6),
             ev("git clone https://github.com/yuvipa", 0, 1, x=0.12, w=0.4), ev("git clone", 0, 1, x=0.14, w=0.1)]
    assert canonical(chain) == [0, 0, 0]


def test_other_numbers_short_parts_and_other_scenes_stay_apart() -> None:
    events = [ev("Mem: 329.39 MB", 0, 1), ev("Mem: 346.85 MB", 1, 2),  # digits are letters: both shown
              ev("In", 0, 1, y=0.5), ev("In this lesson", 1, 2, y=0.5),  # too short to be a part
              ev("Open the file", 0, 1, y=0.2), ev("Open the file and save it", 3, 4, y=0.2, scene=1)]
    assert canonical(events) == list(range(len(events)))
    first, second = unique_text(events)
    assert first.variants == second.variants == ()
    assert set(first.texts) == {"Mem: 329.39 MB", "Mem: 346.85 MB", "In", "In this lesson", "Open the file"}


def test_only_the_readings_at_the_whole_lines_place_stand_as_it() -> None:
    """A button "Open" beside a line typed "Open", then "Open the file": the button stays a text."""
    events = [ev("Open", 0, 9, x=0.7, y=0.1, w=0.05), ev("Open", 0, 1, y=0.5, w=0.05), ev("Open the file", 1, 9, y=0.5)]
    assert canonical(events) == [0, 2, 2]
    assert unique_text(events)[0].texts == ("Open", "Open the file")
    # the same row at another left edge, the same left edge on another row: not one place
    apart = [ev("Save as", 0, 1, x=0.1, y=0.5), ev("Save as PDF", 0, 1, x=0.3, y=0.5),
             ev("Print", 0, 1, x=0.1, y=0.2), ev("Print preview", 0, 1, x=0.1, y=0.3)]
    assert canonical(apart) == [0, 1, 2, 3]


def test_a_number_is_not_a_part_of_a_longer_number() -> None:
    events = [ev("Question 1", 0, 1), ev("Question 10", 1, 2), ev("Step 2 of 5", 0, 1, y=0.5),
              ev("Step 2 of 50", 1, 2, y=0.5)]
    assert canonical(events) == [0, 1, 2, 3]


def test_the_reading_kept_does_not_depend_on_the_events_order() -> None:
    events = [ev("Ln 1,.", 0, 2), ev("Ln 1,…", 2, 4)]  # shown as long: the first shown is kept
    backwards = events[::-1]
    assert [events[i].text for i in canonical(events)] == [backwards[i].text for i in canonical(backwards)] \
        == ["Ln 1,.", "Ln 1,."]
