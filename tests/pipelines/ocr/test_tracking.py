"""Unit tests of text tracking on synthetic detections (no models, no media)."""

from __future__ import annotations

import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.ocr.scene_text import unique_text
from pipelines.ocr.tracking import (
    SCRIPT_UNCERTAIN,
    Detection,
    FrameDetections,
    TextEvent,
    TextTracker,
    edit_distance,
    reading_order,
    similarity,
    to_webvtt,
    track_text,
)

PERIOD = 0.5


def det(text: str, x: float = 0.1, y: float = 0.1, w: float = 0.3, h: float = 0.05, conf: float = 0.95) -> Detection:
    return Detection((x, y, x + w, y + h), text, conf)


def frames(*per_sample: list[Detection], new_scene_at: tuple[int, ...] = ()) -> list[FrameDetections]:
    return [
        FrameDetections(i * PERIOD, tuple(d), new_scene=i in new_scene_at) for i, d in enumerate(per_sample)
    ]


def test_static_text_is_one_event_spanning_its_samples() -> None:
    events = track_text(frames(*[[det("Click Settings")]] * 6, []), PERIOD)
    assert len(events) == 1
    e = events[0]
    assert (e.text, e.start, e.end) == ("Click Settings", 0.0, 3.0)
    assert e.confidence == 0.95


def test_one_sample_miss_does_not_split_but_two_do() -> None:
    one_miss = frames([det("Save")], [det("Save")], [], [det("Save")], [det("Save")])
    assert [(e.start, e.end) for e in track_text(one_miss, PERIOD)] == [(0.0, 2.5)]
    two_miss = frames([det("Save")], [], [], [det("Save")])
    assert [(e.start, e.end) for e in track_text(two_miss, PERIOD)] == [(0.0, 0.5), (1.5, 2.0)]


def test_ocr_flicker_keeps_the_reading_seen_most() -> None:
    readings = ["Preferences", "Preferences", "Prefererces", "Preferences", "Pref3rences", "Preferences"]
    events = track_text(frames(*[[det(t)] for t in readings]), PERIOD)
    assert [e.text for e in events] == ["Preferences"]


def test_an_event_carries_the_script_and_flags_of_the_reading_it_keeps() -> None:
    """An unsure look-alike reading flagged in one sample, read otherwise in others: the event
    keeps the reading seen most and that reading's flags, no more; text read unflagged has none."""
    unsure = Detection((0.1, 0.1, 0.4, 0.15), "HaxMnTe", 0.7, "LATIN", (SCRIPT_UNCERTAIN,))
    other = Detection((0.1, 0.1, 0.4, 0.15), "HaxMnTo", 0.6, "LATIN", (SCRIPT_UNCERTAIN,))
    sure = Detection((0.1, 0.5, 0.4, 0.55), "Нажмите", 0.9, "CYRILLIC")
    flagged, read = track_text(frames([unsure, sure], [other, sure], [unsure, sure]), PERIOD)
    assert (flagged.text, flagged.script, flagged.flags) == ("HaxMnTe", "LATIN", (SCRIPT_UNCERTAIN,))
    assert (read.text, read.script, read.flags) == ("Нажмите", "CYRILLIC", ())


def test_typing_keeps_the_final_form() -> None:
    typed = ["h", "he", "hello", "hello wo", "hello world", "hello world", "hello world"]
    samples = [[det(t, w=0.02 + 0.03 * len(t))] for t in typed]
    events = track_text(frames(*samples), PERIOD)
    assert len(events) == 1
    assert events[0].text == "hello world"
    assert (events[0].start, events[0].end) == (0.0, len(typed) * PERIOD)


def test_text_typed_until_it_disappears_still_keeps_the_final_form() -> None:
    typed = ["Sea", "Search", "Search set", "Search settings"]
    events = track_text(frames(*[[det(t)] for t in typed], []), PERIOD)
    assert [e.text for e in events] == ["Search settings"]


def test_different_numbers_are_different_texts() -> None:
    events = track_text(frames([det("Step 1 of 3")], [det("Step 2 of 3")], [det("Step 3 of 3")]), PERIOD)
    assert [e.text for e in events] == ["Step 1 of 3", "Step 2 of 3", "Step 3 of 3"]
    assert [(e.start, e.end) for e in sorted(events, key=lambda e: e.start)] == [(0, 0.5), (0.5, 1.0), (1.0, 1.5)]


def test_scrolling_text_stays_one_event_and_new_lines_start_their_own() -> None:
    lines = ["First paragraph line", "Second line of text", "Third line appears"]
    samples = []
    for step in range(6):
        y0 = 0.8 - 0.1 * step
        samples.append([det(t, y=y0 + 0.1 * i) for i, t in enumerate(lines) if y0 + 0.1 * i < 0.85])
    events = track_text(frames(*samples), PERIOD)
    by_text = {e.text: e for e in events}
    assert sorted(by_text) == sorted(lines)
    assert len(events) == 3
    assert by_text["First paragraph line"].start == 0.0
    assert by_text["Second line of text"].start == 0.5
    assert by_text["Third line appears"].start == 1.0
    assert all(e.end == 3.0 for e in events)


def test_two_texts_at_once_stay_apart() -> None:
    a = det("File", x=0.05, y=0.02, w=0.05)
    b = det("Edit", x=0.12, y=0.02, w=0.05)
    c = det("Fil", x=0.05, y=0.02, w=0.05)  # a misread of "File" in place
    events = track_text(frames([a, b], [b, a], [c, b], [a]), PERIOD)
    assert [(e.text, e.start, e.end) for e in events] == [("File", 0.0, 2.0), ("Edit", 0.0, 1.5)]


def test_same_text_elsewhere_is_another_event() -> None:
    left = det("OK", x=0.1, y=0.5, w=0.05)
    right = det("OK", x=0.8, y=0.1, w=0.05)
    events = track_text(frames([left], [right]), PERIOD)
    assert len(events) == 2


def test_reading_order_per_scene_and_unique_text() -> None:
    s0 = [det("Body text", y=0.5), det("Title", y=0.1), det("Right", x=0.6, y=0.505)]
    s1 = [det("Next slide", y=0.1), det("Title", x=0.5, y=0.8)]
    events = track_text(frames(s0, s0, s1, s1, new_scene_at=(2,)), PERIOD)
    assert [(e.scene, e.text) for e in events] == [
        (0, "Title"), (0, "Body text"), (0, "Right"), (1, "Next slide"), (1, "Title"),
    ]
    scenes = unique_text(events)
    assert [s.texts for s in scenes] == [("Title", "Body text", "Right"), ("Next slide", "Title")]
    assert (scenes[1].start, scenes[1].end) == (1.0, 2.0)


def test_similarity_is_normalised_edit_distance() -> None:
    assert similarity("Settings", "settings") == 1.0
    assert similarity("abcd", "abce") == 0.75
    assert similarity("", "") == 1.0


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@given(st.text(alphabet="abcé Ж漢", max_size=12), st.text(alphabet="abcé Ж漢", max_size=12))
@settings(max_examples=300, deadline=None)
def test_edit_distance_is_levenshtein(a: str, b: str) -> None:
    assert edit_distance(a, b) == _levenshtein(a, b) == edit_distance(b, a)


def test_webvtt_parses_with_webvtt_py() -> None:
    events = [
        TextEvent(0.0, 2.5, (0.1, 0.05, 0.5, 0.1), "Welcome <b> & more --> here", 0.9, 0),
        TextEvent(1.0, 3661.25, (0.2, 0.8, 0.6, 0.9), "Second  line", 0.8, 0),
    ]
    vtt = webvtt.from_string(to_webvtt(events))
    caps = vtt.captions
    assert [(c.start, c.end) for c in caps] == [("00:00:00.000", "00:00:02.500"), ("00:00:01.000", "01:01:01.250")]
    assert caps[1].text == "Second line"
    assert "&amp;" in caps[0].raw_text and "-->" not in caps[0].raw_text
    assert "line:5.0%" in to_webvtt(events)


@st.composite
def static_screens(draw: st.DrawFn) -> tuple[list[tuple[str, int, int]], list[set[int]]]:
    """Texts shown in non-overlapping time ranges at distinct rows, plus random single-sample misses."""
    count = draw(st.integers(1, 4))
    shown = []
    for row in range(count):
        start = draw(st.integers(0, 10))
        length = draw(st.integers(3, 10))
        shown.append((f"Label number {row} {'x' * row}", start, start + length))
    misses = []
    for _, start, end in shown:
        # Single-sample misses, never two in a row, never at the first or last sample.
        candidates = list(range(start + 1, end - 1, 2))
        misses.append(set(draw(st.lists(st.sampled_from(candidates), unique=True))) if candidates else set())
    return shown, misses


@settings(max_examples=60, deadline=None)
@given(static_screens())
def test_flickering_static_texts_give_one_event_each_with_exact_times(
    case: tuple[list[tuple[str, int, int]], list[set[int]]],
) -> None:
    shown, misses = case
    horizon = max(end for _, _, end in shown) + 2
    samples = [
        [det(text, y=0.1 + 0.15 * row) for row, (text, start, end) in enumerate(shown)
         if start <= i < end and i not in misses[row]]
        for i in range(horizon)
    ]
    events = track_text(frames(*samples), PERIOD)
    got = sorted((e.text, e.start, e.end) for e in events)
    assert got == sorted((text, start * PERIOD, end * PERIOD) for text, start, end in shown)


@st.composite
def busy_screens(draw: st.DrawFn) -> tuple[list[FrameDetections], list[int]]:
    """Samples of a few lines that come, go, are retyped, move and change scene; and cut points."""
    texts = ["Click Settings", "Click Settings now", "Step 1 of 3", "Step 2 of 3", "Save", "Saved", ""]
    samples = []
    for _ in range(draw(st.integers(1, 30))):
        lines = draw(st.lists(st.tuples(st.sampled_from(texts), st.integers(0, 4), st.floats(0.5, 1.0)), max_size=4))
        samples.append([det(text, y=0.1 + 0.15 * row, conf=conf) for text, row, conf in lines])
    scenes = tuple(draw(st.lists(st.integers(0, len(samples) - 1), max_size=3)))
    cuts = sorted(draw(st.lists(st.integers(0, len(samples)), max_size=4)))
    return frames(*samples, new_scene_at=scenes), cuts


@settings(max_examples=80, deadline=None)
@given(busy_screens())
def test_a_tracker_fed_piece_by_piece_gives_the_events_of_the_samples_so_far(
    case: tuple[list[FrameDetections], list[int]],
) -> None:
    samples, cuts = case
    tracker = TextTracker(PERIOD)
    fed = 0
    for cut in [*cuts, len(samples)]:
        tracker.feed(samples[fed:cut])
        fed = max(fed, cut)
        assert tracker.events() == track_text(samples[:fed], PERIOD)


def test_reading_order_groups_a_line_before_the_next() -> None:
    e = [
        TextEvent(0, 1, (0.6, 0.30, 0.9, 0.35), "B", 1, 0),
        TextEvent(0, 1, (0.1, 0.31, 0.4, 0.36), "A", 1, 0),
        TextEvent(0, 1, (0.1, 0.10, 0.4, 0.15), "top", 1, 0),
    ]
    assert [x.text for x in reading_order(e)] == ["top", "A", "B"]
