"""Word times moved out of the silence measured on the audio (``pipelines.word_times``)."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from pipelines.asr import AsrOptions, FasterWhisperEngine, Segment, Word
from pipelines.word_times import MIN_WORD_S, Silence, fit_segments, fit_to_speech

RATE = 16_000


def bursts(spans: list[tuple[float, float]], seconds: float, noise: float = 1e-3, seed: int = 7) -> np.ndarray:
    """A quiet room (white noise at ``noise`` RMS) with a 220 Hz tone at 0.3 over each span."""
    rng = np.random.default_rng(seed)
    audio = (rng.standard_normal(int(seconds * RATE)) * noise).astype(np.float32)
    t = np.arange(len(audio)) / RATE
    for start, end in spans:
        inside = (t >= start) & (t < end)
        audio[inside] += (0.3 * np.sin(2 * np.pi * 220 * t[inside])).astype(np.float32)
    return audio


def word(start: float, end: float, text: str = " w") -> Word:
    return Word(start, end, text, 0.9)


SPEECH = [(0.5, 1.0), (1.6, 2.2), (3.0, 3.4)]  # three words said, pauses of 0.6 and 0.8 s between


@pytest.fixture(scope="module")
def silence() -> Silence:
    measured = Silence.measure(bursts(SPEECH, 4.0))
    assert measured is not None
    return measured


def test_the_silence_is_where_the_bursts_are_not(silence: Silence) -> None:
    runs = silence.runs(0.3)
    assert runs == [pytest.approx((a, b), abs=0.02) for a, b in [(0.0, 0.5), (1.0, 1.6), (2.2, 3.0), (3.4, 4.0)]]


def test_an_end_run_on_into_the_pause_is_pulled_back_to_where_the_speech_stops(silence: Silence) -> None:
    words = [word(0.5, 1.5, " Hello"), word(1.6, 2.2, " there"), word(3.0, 3.9, " friend.")]
    out = fit_to_speech(words, silence)
    assert [w.end for w in out] == [pytest.approx(1.0, abs=0.02), 2.2, pytest.approx(3.4, abs=0.02)]
    assert [w.start for w in out] == [0.5, 1.6, 3.0]
    assert [w.text for w in out] == [w.text for w in words]


def test_a_start_in_the_pause_before_the_word_is_pushed_to_where_the_speech_starts(silence: Silence) -> None:
    words = [word(0.5, 1.0, " Hello"), word(1.1, 2.2, " there"), word(2.4, 3.4, " friend.")]
    out = fit_to_speech(words, silence)
    assert [w.start for w in out] == [0.5, pytest.approx(1.6, abs=0.02), pytest.approx(3.0, abs=0.02)]
    assert [w.end for w in out] == [1.0, 2.2, 3.4]


def test_a_word_reaching_over_a_pause_from_its_neighbour_s_tail_keeps_its_own_side(silence: Silence) -> None:
    # Whisper's boundary 0.95 s: "there" takes the last 50 ms of "Hello", the pause and its speech
    words = [word(0.5, 0.95, " Hello"), word(0.95, 2.2, " there")]
    out = fit_to_speech(words, silence)
    assert out[1].start == pytest.approx(1.6, abs=0.02) and out[1].end == 2.2
    assert out[0] == words[0]  # the neighbour is never widened into the time given up


def test_a_zero_length_word_gets_a_minimal_duration_without_passing_its_neighbours(silence: Silence) -> None:
    words = [word(1.6, 1.8, " on"), word(1.8, 1.8, " a"), word(1.8, 2.2, " table")]
    out = fit_to_speech(words, silence)
    assert out[1].end - out[1].start == pytest.approx(MIN_WORD_S, abs=1e-3)
    assert out[0].end <= out[1].start and out[1].end <= out[2].start  # taken from the neighbours, not over them
    assert out[0].start == 1.6 and out[2].end == 2.2


def test_a_word_wholly_in_a_pause_goes_to_the_nearer_speech_with_a_minimal_duration(silence: Silence) -> None:
    late = fit_to_speech([word(0.5, 0.8, " Hello"), word(1.45, 1.45, " there")], silence)  # pause 1.0-1.6
    assert late[1].start == pytest.approx(1.6, abs=0.02)  # onto the speech after the pause
    assert late[1].end - late[1].start == pytest.approx(MIN_WORD_S, abs=1e-3)
    early = fit_to_speech([word(0.5, 0.8, " Hello"), word(1.1, 1.3, " there")], silence)
    assert early[1].end == pytest.approx(1.0, abs=0.02)  # back onto the speech before it ...
    assert early[1].start == pytest.approx(1.0 - MIN_WORD_S, abs=0.02)  # ... its time taken from the free speech
    assert early[0] == Word(0.5, 0.8, " Hello", 0.9)


def test_a_word_in_the_silence_before_or_after_all_speech_goes_onto_the_speech(silence: Silence) -> None:
    """A block of audio starts and ends in a pause (``audio_blocks`` cuts at pauses): the audio's
    own ends are not speech, so a word there goes onto the speech beside it, never to 0 s or past
    the audio's end."""
    (first,) = fit_to_speech([word(0.1, 0.2, " So")], silence)  # leading pause 0-0.5
    assert first.start == pytest.approx(0.5, abs=0.02) and first.end - first.start == pytest.approx(MIN_WORD_S, abs=1e-3)
    (last,) = fit_to_speech([word(3.7, 3.9, " now.")], silence)  # trailing pause 3.4-4.0
    assert last.end == pytest.approx(3.4, abs=0.02) and last.end - last.start == pytest.approx(MIN_WORD_S, abs=1e-3)
    (past,) = fit_to_speech([word(3.9, 4.3, " now.")], silence)  # runs on past the audio: left alone
    assert (past.start, past.end) == (3.9, 4.3)
    (before,) = fit_to_speech([word(-0.3, -0.2, " So")], silence)  # before the audio: onto its first speech
    assert before.start == pytest.approx(0.5, abs=0.02) and before.end > before.start


def test_words_over_sound_without_pauses_are_left_alone() -> None:
    audio = bursts([(0.0, 3.0)], 3.0)
    words = [word(0.0, 0.7), word(0.7, 1.4), word(1.5, 2.9)]
    assert fit_to_speech(words, Silence.measure(audio)) == words


def test_words_are_left_alone_without_audio_or_without_sound() -> None:
    words = [word(0.5, 1.5), word(1.5, 1.5)]
    assert Silence.measure(None) is None
    assert Silence.measure(np.zeros(RATE * 3, dtype=np.float32)) is None  # nothing louder than -60 dBFS
    assert fit_to_speech(words, None) == words
    segments = [Segment(0.5, 1.5, " w w", tuple(words))]
    assert fit_segments(segments, np.zeros(RATE * 3, dtype=np.float32)) == segments
    assert fit_segments(segments, None) == segments


def test_words_keep_their_order_text_and_count_whatever_their_times(silence: Silence) -> None:
    rng = random.Random(3)
    for _ in range(200):
        edges = sorted(round(rng.uniform(0, 4.2), 2) for _ in range(2 * rng.randint(1, 8)))
        words = [word(a, b, f" w{k}") for k, (a, b) in enumerate(zip(edges[0::2], edges[1::2], strict=True))]
        out = fit_to_speech(words, silence)
        assert [w.text for w in out] == [w.text for w in words]
        assert all(w.start <= w.end for w in out)
        assert all(a.end <= b.start + 1e-9 for a, b in itertools.pairwise(out)), (words, out)


def test_segments_keep_their_words_and_hold_them(silence: Silence) -> None:
    audio = bursts(SPEECH, 4.0)
    segments = [Segment(0.5, 1.5, " Hello", (word(0.5, 1.5, " Hello"),)),
                Segment(1.5, 3.9, " there friend.", (word(1.5, 2.2, " there"), word(3.0, 3.9, " friend.")))]
    out = fit_segments(segments, audio)
    assert [s.text for s in out] == [s.text for s in segments]
    assert [len(s.words) for s in out] == [1, 2]
    assert all(s.start <= s.words[0].start and s.words[-1].end <= s.end for s in out)
    assert out[1].words[0].start == pytest.approx(1.6, abs=0.02)
    # A segment spans its fitted words: no silence they left (" friend." 3.0-3.9 ends at 3.4 now),
    # and no overlap where a short word took time from the segment before.
    assert out[1].end == pytest.approx(3.4, abs=0.02)
    touching = [Segment(1.6, 2.0, " a", (word(1.6, 2.0, " a"),)),
                Segment(2.0, 2.2, " b c", (word(2.0, 2.0, " b"), word(2.0, 2.2, " c")))]
    fitted = fit_segments(touching, audio)
    assert fitted[0].end <= fitted[1].start and all((s.start, s.end) == (s.words[0].start, s.words[-1].end)
                                                    for s in fitted)


class SaysWords:
    """Stands in for faster_whisper.WhisperModel: one segment whose last word runs into the pause."""

    model = SimpleNamespace(is_multilingual=False)

    def transcribe(self, audio: np.ndarray, **kwargs: Any) -> tuple[Any, Any]:
        words = [SimpleNamespace(start=0.5, end=1.0, word=" Hello", probability=0.9),
                 SimpleNamespace(start=1.6, end=2.9, word=" there.", probability=0.9)]
        seg = SimpleNamespace(start=0.5, end=2.9, text=" Hello there.", words=words, avg_logprob=-0.2,
                              no_speech_prob=0.01, compression_ratio=1.2, temperature=0.0)
        return iter([seg]), SimpleNamespace(language="en", language_probability=1.0)


def test_the_engine_fits_its_words_to_the_speech_unless_told_not_to() -> None:
    audio = bursts(SPEECH[:2], 4.0)
    engine = FasterWhisperEngine("fake", SaysWords())
    fitted = engine.transcribe(audio, AsrOptions(repetition_check=False))
    plain = engine.transcribe(audio, AsrOptions(repetition_check=False, fit_words_to_speech=False))
    assert plain.words[-1].end == 2.9
    assert fitted.words[-1].end == pytest.approx(2.2, abs=0.02)
    assert fitted.text == plain.text and [w.text for w in fitted.words] == [w.text for w in plain.words]


def test_the_option_parses_from_user_values() -> None:
    assert AsrOptions.from_mapping({"fit_words_to_speech": False}).fit_words_to_speech is False
    from app.stages.graph import STAGES  # -O subtitles.fit_words_to_speech=false reaches the ASR options

    assert STAGES["subtitles"].parse({"fit_words_to_speech": False}).asr().fit_words_to_speech is False


# ---------------------------------------------------------------- real speech (tiny.en)

REAL_FILE = "lj_LJ001-0003.wav"  # LJ Speech: read with pauses at its commas


@pytest.mark.slow
def test_on_real_speech_no_word_holds_a_long_silence_once_fitted(  # type: ignore[no-untyped-def]
    testdata: Path, model_dir: Path, require_model
) -> None:
    from pipelines.asr_engines import load_engine
    from pipelines.media import load_audio

    require_model("whisper-tiny.en")
    engine = load_engine("whisper-tiny.en", model_dir)
    audio = load_audio(testdata / "audio" / REAL_FILE)
    silence = Silence.measure(audio)
    assert silence is not None

    def holding(words: list[Word]) -> list[Word]:
        return [w for w in words if any(b - a >= 0.3 - 1e-6 for a, b in silence.within(w.start, w.end, 0.3))]

    plain = engine.transcribe(audio, AsrOptions(fit_words_to_speech=False))
    fitted = engine.transcribe(audio, AsrOptions())
    assert [w.text for w in fitted.words] == [w.text for w in plain.words]
    assert holding(plain.words), "Whisper's own times held no long silence here: pick another file"
    assert holding(fitted.words) == []
    assert all(w.end - w.start >= 0.02 for w in fitted.words)
