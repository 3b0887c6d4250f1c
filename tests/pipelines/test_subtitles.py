"""Segmentation of word-timed speech into cues: hand-built cases and invariants."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.asr import Segment, Transcript, Word
from pipelines.exceptions import OptionsError
from pipelines.subtitles import PROFILES, StyleProfile, build_cues, segment_words

NETFLIX = PROFILES["netflix-en"]


def speak(
    text: str, *, start: float = 0.0, rate: float = 0.07, pause_after_sentence: float = 0.5
) -> list[Word]:
    """Word timings for text at a natural pace (about 14 characters a second)."""
    words, t = [], start
    for token in text.split():
        d = rate * len(token) + 0.08
        words.append(Word(t, t + d, " " + token, 0.9))
        t += d + 0.04
        if token.endswith((".", "?", "!")):
            t += pause_after_sentence
    return words


def joined(cues) -> list[str]:  # type: ignore[no-untyped-def]
    return [w.text for c in cues for w in c.words]


def test_short_sentence_is_one_cue_on_one_line() -> None:
    cues = segment_words(speak("Click Save to keep your changes."), NETFLIX)
    assert len(cues) == 1
    assert cues[0].lines == ("Click Save to keep your changes.",)
    assert cues[0].flags == ()


def test_lines_respect_limit_and_break_after_punctuation() -> None:
    text = "Open the settings page, and then choose the security tab."
    cues = segment_words(speak(text), NETFLIX)
    assert len(cues) == 1
    assert cues[0].lines == ("Open the settings page,", "and then choose the security tab.")


@pytest.mark.parametrize(
    ("text", "bad_break"),
    [
        ("Everyone in the sales team should now open the quarterly report for review.", ("the", "quarterly")),
        (
            "Yesterday our trainer Maria Lopez showed the whole group a really good shortcut.",
            ("Maria", "Lopez"),
        ),
        ("After the break we will look at the important security settings of your laptop.", ("we", "will")),
    ],
)
def test_never_breaks_inside_protected_pairs(text: str, bad_break: tuple[str, str]) -> None:
    cues = segment_words(speak(text), NETFLIX)
    for cue in cues:
        for upper, lower in zip(cue.lines, cue.lines[1:], strict=False):
            assert (upper.split()[-1].strip(",."), lower.split()[0]) != bad_break
    for a, b in pairwise(cues):
        assert (a.words[-1].text.strip(",."), b.words[0].text) != bad_break


def test_sentences_start_new_cues_when_both_do_not_fit() -> None:
    text = (
        "This module explains how expense claims work in the new finance portal. "
        "You will submit a claim, attach your receipts and follow its approval."
    )
    cues = segment_words(speak(text), NETFLIX)
    assert len(cues) >= 2
    assert any(c.text.endswith("portal.") for c in cues)


def test_pause_splits_cues() -> None:
    words = speak("Welcome back everyone") + speak("Let us continue", start=8.0)
    cues = segment_words(words, NETFLIX)
    assert [c.text for c in cues] == ["Welcome back everyone", "Let us continue"]


def test_minimum_duration_extends_short_cue_when_room() -> None:
    cues = segment_words([Word(1.0, 1.2, " Yes.", 0.99), Word(5.0, 5.3, " No.", 0.99)], NETFLIX)
    assert cues[0].end - cues[0].start >= NETFLIX.min_duration_s - 1e-3  # times are in ms
    assert not cues[0].flags


def test_gap_between_cues_at_least_two_frames() -> None:
    text = " ".join(["word"] * 60)  # continuous speech, many cues
    cues = segment_words(speak(text), NETFLIX)
    assert len(cues) > 2
    for a, b in pairwise(cues):
        assert b.start - a.end >= NETFLIX.min_gap_s - 1e-3


def test_speech_too_fast_is_kept_and_flagged() -> None:
    text = "This sentence is spoken far too quickly for anyone to read it comfortably on screen."
    words, t = [], 0.0
    for token in text.split():
        words.append(Word(t, t + 0.08, " " + token, 0.9))
        t += 0.09
    words.append(Word(t + 0.1, t + 0.3, " Next.", 0.9))
    cues = segment_words(words, NETFLIX)
    assert joined(cues) == [w.text.strip() for w in words]
    assert any("max_cps" in c.flags for c in cues)


def test_overlong_word_is_kept_whole_and_flagged() -> None:
    long = "Pneumonoultramicroscopicsilicovolcanoconiosis-and-more"
    cues = segment_words([Word(0.0, 2.0, " " + long, 0.8)], NETFLIX)
    assert cues[0].text == long
    assert "max_line_chars" in cues[0].flags


def test_children_profile_reads_slower() -> None:
    text = "We are going to learn about the water cycle and how rain is made in the clouds today."
    words, t = [], 0.0
    for token in text.split():
        words.append(Word(t, t + 0.2, " " + token, 0.9))
        t += 0.26  # ~18 characters a second: fine for adults, too fast for children
    adult = segment_words(words, PROFILES["netflix-en"])
    child = segment_words(words, PROFILES["netflix-en-children"])
    assert not any("max_cps" in c.flags for c in adult)
    # children need longer: the cue stays up into the silence after the speech (lag-out)
    assert child[-1].end > words[-1].end + 0.1 and not any("max_cps" in c.flags for c in child)
    assert max(c.cps for c in child) <= 17.0 * 1.001 < max(c.cps for c in adult)
    # with more speech right after, there is no silence to extend into: flagged
    more = [Word(w.start + t + 0.05, w.end + t + 0.05, w.text, 0.9) for w in words]
    crowded = segment_words(words + more, PROFILES["netflix-en-children"])
    assert any("max_cps" in c.flags for c in crowded)


def test_bbc_profile_uses_37_characters() -> None:
    text = "Remember to lock your screen whenever you leave your desk, even for a minute."
    cues = segment_words(speak(text), PROFILES["bbc"])
    assert all(len(line) <= 37 for c in cues for line in c.lines)


def test_profile_overrides_and_validation() -> None:
    custom = NETFLIX.with_overrides({"max_line_chars": 32, "max_lines": 1})
    assert (custom.max_line_chars, custom.max_lines) == (32, 1)
    cues = segment_words(speak("Choose the correct answer from the list below and press next."), custom)
    assert all(len(c.lines) == 1 and len(c.lines[0]) <= 32 for c in cues)
    with pytest.raises(OptionsError, match="Unknown profile field"):
        NETFLIX.with_overrides({"max_chars": 10})
    with pytest.raises(OptionsError, match="min_duration_s"):
        StyleProfile("broken", min_duration_s=8.0, max_duration_s=7.0)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"max_line_chars": "abc"}, "profile_overrides.max_line_chars must be an integer, got 'abc'."),
    ({"max_line_chars": 37.5}, "profile_overrides.max_line_chars must be an integer, got 37.5."),
    ({"max_lines": True}, "profile_overrides.max_lines must be an integer, got True."),
    ({"max_cps": "fast"}, "profile_overrides.max_cps must be a number or null (no limit), got 'fast'."),
    ({"fps": float("inf")}, "profile_overrides.fps must be a number, got inf."),
    ({"description": 5}, "profile_overrides.description must be text, got 5."),
])
def test_profile_overrides_are_checked_against_the_field_types(overrides: dict[str, object], message: str) -> None:
    """A value of the wrong type is refused naming the field (it failed later, comparing a str to an int)."""
    with pytest.raises(OptionsError) as refused:
        NETFLIX.with_overrides(overrides)
    assert str(refused.value) == message
    kept = NETFLIX.with_overrides({"max_line_chars": 37.0, "max_cps": "none", "max_wpm": 160, "fps": 25})
    assert (kept.max_line_chars, kept.max_cps, kept.max_wpm, kept.fps) == (37, None, 160.0, 25.0)
    assert type(kept.max_line_chars) is int and type(kept.fps) is float
    # Numbers as text, as the stage options take them ("-O subtitles.beam_size=5" is text too).
    spelled = NETFLIX.with_overrides({"max_line_chars": " 37", "max_cps": "17.5", "fps": "25"})
    assert (spelled.max_line_chars, spelled.max_cps, spelled.fps) == (37, 17.5, 25.0)
    assert type(spelled.max_line_chars) is int


def test_a_cue_holds_one_language_and_says_which_when_not_the_transcript_s() -> None:
    # English, then German right after it (0.1 s later: one cue, were it one language).
    english = speak("Welcome to the course and")
    german = speak("Willkommen im Kurs.", start=english[-1].end + 0.1)
    segments = (Segment(english[0].start, english[-1].end, "", tuple(english)),
                Segment(german[0].start, german[-1].end, "", tuple(german), language="de"))
    result = build_cues(Transcript(segments, "en", 0.99, 5.0, "fake", unheard=((6.0, 9.0),)), NETFLIX)
    assert [c.text for c in result.cues] == ["Welcome to the course and", "Willkommen im Kurs."]
    assert [c.language for c in result.cues] == ["", "de"] and [c.index for c in result.cues] == [1, 2]
    assert result.unheard == ((6.0, 9.0),)
    # A short cue held to the minimum duration does not run into the next language's first cue.
    hi = speak("Hi")
    willkommen = speak("Willkommen im Kurs.", start=hi[-1].end + 0.05)
    parted = build_cues(Transcript((Segment(0, 0.2, "", tuple(hi)),
                                    Segment(0.3, 1.8, "", tuple(willkommen), language="de")), "en", 0.99, 2.0, "fake"),
                        NETFLIX).cues
    assert parted[0].end + NETFLIX.min_gap_s <= parted[1].start + 1e-3 and parted[0].end >= hi[-1].end - 1e-3
    assert "min_duration" in parted[0].flags  # too short now, and said so
    alone = build_cues(Transcript((Segment(0, 5, "", tuple(english + german)),), "en", 0.99, 5.0, "fake"), NETFLIX)
    assert [c.text for c in alone.cues] == ["Welcome to the course and Willkommen im Kurs."]  # one language: one cue


def test_empty_input_gives_no_cues() -> None:
    assert segment_words([], NETFLIX) == []
    assert segment_words([Word(0, 1, "  ", 0.5)], NETFLIX) == []


# ---------------------------------------------------------------- invariants

VOCAB = [
    "the",
    "a",
    "click",
    "settings",
    "and",
    "then",
    "Maria",
    "Lopez",
    "report,",
    "done.",
    "in",
    "supercalifragilistic",
    "we",
    "will",
    "save",
    "to",
    "page",
    "quickly",
    "I",
    "menu?",
    "42",
]


@st.composite
def word_streams(draw: st.DrawFn) -> list[Word]:
    n = draw(st.integers(min_value=1, max_value=80))
    words, t = [], draw(st.floats(min_value=0, max_value=5))
    for _ in range(n):
        t += draw(st.floats(min_value=0.0, max_value=2.5))
        d = draw(st.floats(min_value=0.0, max_value=1.2))
        words.append(Word(t, t + d, " " + draw(st.sampled_from(VOCAB)), draw(st.floats(0, 1))))
        t += d
    return words


@settings(max_examples=150, deadline=None)
@given(word_streams(), st.sampled_from(sorted(PROFILES)))
def test_invariants(words: list[Word], profile_name: str) -> None:
    profile = PROFILES[profile_name]
    cues = segment_words(words, profile)
    # every word kept once, in order
    assert joined(cues) == [w.text.strip() for w in words]
    for c in cues:
        assert " ".join(c.lines) == " ".join(w.text for w in c.words)
        assert c.end > c.start
        # every limit respected or flagged
        if any(len(line) > profile.max_line_chars for line in c.lines):
            assert "max_line_chars" in c.flags
        assert len(c.lines) <= profile.max_lines
        duration = c.end - c.start
        if duration < profile.min_duration_s - 1e-3:
            assert "min_duration" in c.flags
        if duration > profile.max_duration_s + 1e-3:
            assert "max_duration" in c.flags
        if profile.max_cps and len(c.text) / duration > profile.max_cps * 1.001:
            assert "max_cps" in c.flags
    # ordered, not overlapping, numbered
    for a, b in pairwise(cues):
        assert b.start >= a.end
    assert [c.index for c in cues] == list(range(1, len(cues) + 1))


# ---------------------------------------------------------------- words as Whisper writes them

def test_a_piece_of_a_word_whisper_wrote_without_a_space_stays_with_it() -> None:
    """faster-whisper's words for "the Gutenberg, or 42-line Bible" (real LJ Speech clip): "-line"
    comes without a leading space. It was a word of its own: a cue started "-line Bible", which
    reads as a new speaker's dash."""
    words = [*speak("The earliest book printed with movable types, the Gutenberg, or 42")]
    t = words[-1].end
    words += [Word(t, t + 0.3, "-line", 0.9)]
    words += speak("Bible, of about 1455, has never been surpassed in its typography.", start=t + 0.34)
    cues = segment_words(words, NETFLIX)
    texts = [w.text for c in cues for w in c.words]
    assert "42-line" in texts and "-line" not in texts
    assert not any(line.startswith("-") for c in cues for line in c.lines)
    assert "or 42-line Bible," in " ".join(c.text for c in cues)


def test_chinese_is_written_without_spaces_and_read_by_its_characters() -> None:
    """Whisper's words in Chinese are characters without leading spaces; they were joined with
    spaces ("廣 州 市 ...", real AISHELL clip) and the spaces counted in the reading speed."""
    text = "广州市房地产中介协会分析，"
    words = [Word(0.2 + 0.25 * k, 0.2 + 0.25 * (k + 1), ch, 0.9) for k, ch in enumerate(text)]
    cues = segment_words(words, NETFLIX)
    assert [c.text for c in cues] == ["广州市房地产中介协会分析，"]
    cue = cues[0]
    assert cue.cps == pytest.approx(len(text) / (cue.end - cue.start), abs=0.01)
    # Korean is written with spaces: its words keep them
    korean = [Word(0.0, 0.5, " 안녕하세요", 0.9), Word(0.5, 1.0, " 여러분", 0.9)]
    assert segment_words(korean, NETFLIX)[0].text == "안녕하세요 여러분"


def test_a_word_of_punctuation_alone_is_never_a_cue() -> None:
    """A real Spanish clip transcribed as English gave one cue: "."."""
    assert segment_words([Word(19.92, 20.1, " .", 0.3)], NETFLIX) == []
    words = [*speak("Save your work."), Word(9.0, 9.2, " .", 0.2)]
    cues = segment_words(words, NETFLIX)
    assert [c.text for c in cues] == ["Save your work.."]
    assert cues[0].end < 5.0  # the mark joined the word's text, not its time


def test_a_title_keeps_its_name_and_ends_no_sentence() -> None:
    """ "And Mr." was a cue of its own (real LibriVox clip): the title's full stop read as a
    sentence's end."""
    words = speak("And Mr. John Dashwood had then leisure to consider how much there might be prudently "
                  "in his power to do for them.", pause_after_sentence=0.16)
    cues = segment_words(words, NETFLIX)
    assert cues[0].words[0].text == "And" and cues[0].words[-1].text != "Mr."
    for c in cues:
        for upper, _ in pairwise(c.lines):
            assert upper.split()[-1] != "Mr."


def test_the_last_cue_ends_by_the_media_s_end() -> None:
    """The real 6.17 s film clip's last cue ran to 6.62 s (lag-out and minimum duration past the
    end); a word Whisper timed past the end is cut there too."""
    words = speak("Somebody must've stolen the crown jewels.", start=4.3, rate=0.03)
    assert words[-1].end < 6.166
    result = build_cues(Transcript((Segment(4.3, words[-1].end, "", tuple(words)),), "en", 0.99, 6.166, "fake"),
                        NETFLIX)
    assert result.cues[-1].end <= 6.166
    late = [*speak("Yeah."), Word(0.9, 6.2, " sure.", 0.5)]
    cues = build_cues(Transcript((Segment(0, 6.2, "", tuple(late)),), "en", 0.99, 5.667, "fake"), NETFLIX).cues
    assert cues[-1].end <= 5.667
    # with no duration known, the cue takes its lag-out as before
    free = build_cues(Transcript((Segment(4.3, words[-1].end, "", tuple(words)),), "en", 0.99, 0.0, "fake"), NETFLIX)
    assert free.cues[-1].end > 6.166


def test_chinese_japanese_and_korean_speech_get_their_own_profiles() -> None:
    """Netflix's guides: 16 characters a line for Chinese and Korean, 13 for Japanese; 9, 12 and 4
    characters a second. The English profile let a line of Chinese run to 42 characters."""
    from pipelines.subtitles import profile_for

    assert (profile_for("zh").max_line_chars, profile_for("zh").max_cps) == (16, 9.0)
    assert (profile_for("ja").max_line_chars, profile_for("ja").max_cps) == (13, 4.0)
    assert profile_for("ko").max_line_chars == 16 and profile_for("de") is NETFLIX
    text = "我们今天要学习如何在设置页面里修改账户的密码并保存所有的更改"  # 30 characters
    words = [Word(0.2 + 0.3 * k, 0.2 + 0.3 * (k + 1), ch, 0.9) for k, ch in enumerate(text)]
    cues = segment_words(words, profile_for("zh"))
    assert "".join(c.text for c in cues) == text
    assert all(len(line) <= 16 for c in cues for line in c.lines) and sum(len(c.lines) for c in cues) >= 2
