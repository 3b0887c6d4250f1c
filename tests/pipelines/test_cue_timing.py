"""Cue timing: reading time from lag-out, lead-in and rebalancing; shot changes; the readability report."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.asr import Word
from pipelines.cue_timing import place_cues, reading_speed_report, rebalance, too_fast
from pipelines.subtitles import PROFILES, segment_words

NETFLIX = PROFILES["netflix-en"]
FRAME = 1 / NETFLIX.fps


def spoken(text: str, start: float, seconds_per_word: float) -> list[Word]:
    out = []
    for k, token in enumerate(text.split()):
        t = start + k * seconds_per_word
        out.append(Word(t, t + seconds_per_word * 0.9, " " + token, 0.9))
    return out


def test_a_fast_cue_stays_up_at_most_the_lag_out_past_its_speech() -> None:
    # 49 characters spoken in 1.6 s need 2.45 s at 20 characters a second: more than the 0.5 s lag-out gives
    words = spoken("Choose the security tab and change your password.", 10.0, 0.2)
    ((start, end),) = place_cues([(0, len(words))], words, NETFLIX)
    assert end == round(words[-1].end + NETFLIX.lag_out_s, 3)
    assert start == round(words[0].start - NETFLIX.lead_in_s, 3)  # and it leads in, into the silence before


def test_lag_out_keeps_the_minimum_gap_before_the_next_speech() -> None:
    first = spoken("Choose the security tab and change it.", 0.0, 0.2)
    second = spoken("Then save.", first[-1].end + 0.2, 0.3)
    words = first + second
    times = place_cues([(0, len(first)), (len(first), len(words))], words, NETFLIX)
    assert times[1][0] - times[0][1] >= NETFLIX.min_gap_s - 1e-3
    assert times[0][1] > first[-1].end  # it used the pause


def timed(spec: list[tuple[str, float]], t: float) -> tuple[list[Word], float]:
    out = []
    for token, seconds in spec:
        out.append(Word(t, t + seconds, " " + token, 0.9))
        t += seconds + 0.03
    return out, t


def test_rebalancing_hands_a_word_to_the_slower_neighbour() -> None:
    # a long word said quickly at the end of a dense cue; the next cue is slow and has silence after it
    fast, t = timed([("Please", 0.3), ("open", 0.3), ("the", 0.2), ("settings", 0.4), ("internationalisation", 0.45)],
                    1.0)
    slow, t = timed([("right", 0.5), ("away.", 0.6)], t + 0.02)
    done, _ = timed([("Done.", 0.4)], t + 3)
    words = fast + slow + done
    spans = [(0, 5), (5, 7), (7, 8)]
    before = place_cues(spans, words, NETFLIX)
    assert too_fast(words[0:5], *before[0], NETFLIX) > 0
    new_spans, times = rebalance(spans, words, NETFLIX)
    assert new_spans == [(0, 4), (4, 7), (7, 8)]  # "internationalisation" went to the next cue
    assert all(too_fast(words[j:i], s, e, NETFLIX) == 0 for (j, i), (s, e) in zip(new_spans, times, strict=True))
    assert all(e - s >= NETFLIX.min_duration_s - 1e-3 for s, e in times)


def test_no_cue_reaches_across_a_cut_its_speech_does_not_cross() -> None:
    words = spoken("Click save.", 1.0, 0.3)
    cut = words[-1].end + 0.3  # inside the lag-out and minimum duration the cue would take
    ((_, end),) = place_cues([(0, len(words))], words, NETFLIX, [cut])
    assert end <= cut - NETFLIX.min_gap_s + 1e-3


def test_times_near_a_cut_snap_onto_it() -> None:
    words = spoken("Now the results page opens for you.", 2.0, 0.3)
    cut_before = words[0].start - 5 * FRAME  # speech starts 5 frames after a cut
    cut_after = words[-1].end + NETFLIX.min_gap_s + 4 * FRAME  # display would end 4 frames before one
    ((start, end),) = place_cues([(0, len(words))], words, NETFLIX, [cut_before, cut_after])
    assert start == round(cut_before, 3)
    assert end == round(cut_after - NETFLIX.min_gap_s, 3)


def test_segmenter_breaks_at_a_cut_in_a_pause() -> None:
    words = spoken("This is the first slide", 0.0, 0.3) + spoken("and this the second one.", 1.9, 0.3)
    cut = 1.7
    plain = segment_words(words, NETFLIX)
    timed = segment_words(words, NETFLIX, [cut])
    assert len(plain) == 1
    assert [c.text for c in timed] == ["This is the first slide", "and this the second one."]
    assert timed[0].end <= cut - NETFLIX.min_gap_s + 1e-3 and timed[1].start >= cut - 1e-3


def test_reading_speed_report_counts_what_timing_allows() -> None:
    calm = spoken("Welcome to the course.", 0.0, 0.4)
    rushed = spoken("This sentence goes by far too quickly to read at all.", 5.0, 0.08)
    words = calm + rushed
    cues = [calm, rushed]
    times = place_cues([(0, len(calm)), (len(calm), len(words))], words, NETFLIX)
    report = reading_speed_report(cues, times, NETFLIX)
    assert (report.cues, report.within, report.allowed, report.within_allowed) == (2, 1, 1, 1)
    assert report.share_allowed == 1.0


@st.composite
def speech_with_cuts(draw: st.DrawFn) -> tuple[list[Word], list[float]]:
    words, t = [], draw(st.floats(min_value=0, max_value=2))
    for _ in range(draw(st.integers(min_value=1, max_value=60))):
        t += draw(st.floats(min_value=0.0, max_value=1.5))
        d = draw(st.floats(min_value=0.05, max_value=0.8))
        words.append(Word(t, t + d, " " + draw(st.sampled_from(["the", "settings", "click", "save.", "a", "menu"])), 0.9))
        t += d
    cuts = sorted(draw(st.lists(st.floats(min_value=0, max_value=t + 1), max_size=8)))
    return words, cuts


@settings(max_examples=120, deadline=None)
@given(speech_with_cuts(), st.sampled_from(sorted(PROFILES)))
def test_timing_invariants_with_cuts(case: tuple[list[Word], list[float]], name: str) -> None:
    words, cuts = case
    profile = PROFILES[name]
    cues = segment_words(words, profile, cuts)
    assert [w.text for c in cues for w in c.words] == [w.text.strip() for w in words]
    for a, b in pairwise(cues):
        assert b.start - a.end >= profile.min_gap_s - 2e-3
    for c in cues:
        for cut in cuts:
            if c.start + 2e-3 < cut < c.end - 2e-3:  # display crosses a cut only where its speech does
                assert c.words[0].start - 2e-3 < cut < c.words[-1].end + profile.shot_snap_s + 2e-3
        if profile.max_cps and len(c.text) / (c.end - c.start) > profile.max_cps * 1.001:
            assert "max_cps" in c.flags
