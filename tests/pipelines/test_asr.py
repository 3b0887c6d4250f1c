"""Whisper through faster-whisper on the packaged weights: options, and real transcription."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jiwer
import numpy as np
import pytest
from whisper_normalizer.english import EnglishTextNormalizer

from pipelines.asr import (
    AsrOptions,
    FasterWhisperEngine,
    Segment,
    Transcript,
    WhisperEngine,
    Word,
)
from pipelines.asr_engines import load_engine
from pipelines.asr_guards import (
    cut_loops,
    doubted_speech,
    find_loops,
    find_stretched,
    find_unheard,
    is_silent_guess,
    trim_seams,
)
from pipelines.exceptions import OptionsError
from pipelines.media import load_audio
from pipelines.ocr.tracking import TextEvent
from pipelines.screen_feed import ScreenFeed

normalise = EnglishTextNormalizer()


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalise(reference), normalise(hypothesis)))


def reference_text(path: Path) -> str:
    return next(line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))


def test_options_resolve_models() -> None:
    assert AsrOptions().resolved_model() == "whisper-tiny.en"
    assert AsrOptions(language="de").resolved_model() == "whisper-base"
    assert AsrOptions(language="auto").resolved_model() == "whisper-base"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"model": "whisper-large"}, "Unknown Whisper model"),
        ({"beam_size": 0}, "beam_size"),
        ({"language": "english!"}, "language code Whisper knows"),
        ({"model": "whisper-tiny.en", "language": "de"}, "only understands English"),
        ({"temperature": 0.2}, "Unknown ASR option"),
        ({"vad_filter": "yes"}, "true or false"),
        ({"condition_on_previous_text": "no"}, "true or false"),
        ({"no_speech_threshold": 1.5}, "no_speech_threshold"),
        ({"log_prob_threshold": 0.5}, "log_prob_threshold"),
        ({"compression_ratio_threshold": "high"}, "Bad ASR option"),
        ({"hallucination_silence_threshold": 0}, "hallucination_silence_threshold"),
    ],
)
def test_bad_options_are_explained(values: dict[str, object], message: str) -> None:
    with pytest.raises(OptionsError, match=message):
        AsrOptions.from_mapping(values)


def test_the_language_found_is_for_language_auto_only() -> None:
    assert AsrOptions(language="auto", language_found="de").language_found == "de"
    with pytest.raises(OptionsError, match="language_found"):
        AsrOptions(language="en", language_found="de")
    with pytest.raises(OptionsError, match="language_found"):
        AsrOptions(language="auto", language_found="xx")


def test_guard_options_parse_from_user_values() -> None:
    options = AsrOptions.from_mapping(
        {"condition_on_previous_text": False, "hallucination_silence_threshold": "2", "beam_size": "3"}
    )
    assert options.condition_on_previous_text is False
    assert options.hallucination_silence_threshold == 2.0
    assert options.beam_size == 3
    assert AsrOptions.from_mapping({"hallucination_silence_threshold": None}).hallucination_silence_threshold is None
    assert AsrOptions().condition_on_previous_text  # context is the default


def seg(start: float, text: str) -> Segment:
    words = text.split()
    step = 0.3
    timed = tuple(Word(start + k * step, start + (k + 1) * step, " " + w, 0.9) for k, w in enumerate(words))
    return Segment(start, start + step * len(words), " " + text, timed)


def test_find_loops_catches_repeated_segments_and_ngram_runs() -> None:
    fine = [seg(0, "Open the settings page."), seg(2, "No, no, no, no."), seg(4, "Click save. Click save.")]
    assert find_loops(fine) == []
    repeated = [seg(0, "Open the settings page."), seg(2, "Then click on export."), seg(4, "Then click on export."),
                seg(6, "Done.")]
    assert find_loops(repeated) == [(1, 3)]
    three_short = [seg(0, "Okay."), seg(1, "Okay."), seg(2, "Okay.")]
    assert find_loops(three_short) == [(0, 3)]
    inner = [seg(0, "Hello there."), seg(2, "and then we go and then we go and then we go and then we go")]
    assert find_loops(inner) == [(1, 2)]
    assert find_loops([seg(0, "the the the the the")]) == [(0, 1)]
    # A run of marks standing alone (a fallback decode of a 10-minute job gave ~190 of them).
    ellipses = [seg(0, "In 1455, five. " + "… " * 12), seg(5, "Has never been surpassed.")]
    assert find_loops(ellipses) == [(0, 1)]
    assert find_loops([seg(0, "- Is it saved? - Yes... it is - and shared.")]) == []


def test_a_run_of_marks_is_cut_to_one() -> None:
    (cut,) = cut_loops([seg(0, "In 1455, five. " + "… " * 12)])
    assert cut.text.split() == ["In", "1455,", "five.", "…"]
    assert [w.text.strip() for w in cut.words] == cut.text.split() and cut.end == cut.words[-1].end


def test_cut_loops_keeps_the_first_occurrence() -> None:
    inner = seg(0, "so we go and then we go and then we go and then we go home")
    (cut,) = cut_loops([inner])
    assert cut.text.split() == ["so", "we", "go", "and", "then", "we", "go", "home"]
    assert [w.text.strip() for w in cut.words] == cut.text.split()
    twice = cut_loops([seg(0, "Then click on export."), seg(2, "Then click on export.")])
    assert [s.text for s in twice] == [" Then click on export."]


class FakeWhisper:
    """Stands in for faster_whisper.WhisperModel: loops when decoding with context."""

    def __init__(self) -> None:
        self.model = SimpleNamespace(is_multilingual=False)
        self.calls: list[dict[str, Any]] = []

    def transcribe(self, audio: np.ndarray, **kwargs: Any) -> tuple[Any, Any]:
        self.calls.append({"seconds": len(audio) / 16000, **kwargs})

        def fw_seg(start: float, text: str) -> SimpleNamespace:
            s = seg(start, text)
            words = [SimpleNamespace(start=w.start, end=w.end, word=w.text, probability=w.probability) for w in s.words]
            return SimpleNamespace(start=s.start, end=s.end, text=s.text, words=words, avg_logprob=-0.2,
                                   no_speech_prob=0.01, compression_ratio=1.5, temperature=0.0)

        if kwargs["condition_on_previous_text"]:
            segs = [fw_seg(0, "Open the export menu."), fw_seg(2, "Choose export as PDF now."),
                    fw_seg(4, "Choose export as PDF now."), fw_seg(6, "Choose export as PDF now.")]
        else:  # the context-free decode of the looping stretch (offset by the engine)
            segs = [fw_seg(0.2, "Choose export as PDF."), fw_seg(2.2, "Then press save.")]
        return iter(segs), SimpleNamespace(language="en", language_probability=1.0)


def test_a_loop_is_decoded_again_without_context() -> None:
    fake = FakeWhisper()
    engine = FasterWhisperEngine("fake", fake)
    transcript = engine.transcribe(np.zeros(16000 * 10, dtype=np.float32), AsrOptions())
    assert transcript.loops_repaired == 1
    assert transcript.text == "Open the export menu. Choose export as PDF. Then press save."
    first, again = fake.calls
    assert first["condition_on_previous_text"] and first["compression_ratio_threshold"] == 2.4
    assert not again["condition_on_previous_text"] and again["initial_prompt"] is None
    assert again["seconds"] == pytest.approx(10 - 1.8, abs=0.01)  # from the first copy to the end
    assert transcript.segments[1].start == pytest.approx(1.8 + 0.2)  # times back on the file's clock
    assert [s.start for s in transcript.segments] == sorted(s.start for s in transcript.segments)


def test_the_repetition_check_can_be_switched_off() -> None:
    fake = FakeWhisper()
    transcript = FasterWhisperEngine("fake", fake).transcribe(
        np.zeros(16000 * 10, dtype=np.float32), AsrOptions(repetition_check=False)
    )
    assert transcript.loops_repaired == 0 and len(fake.calls) == 1 and len(transcript.segments) == 4


def test_a_word_held_over_speech_is_found_and_one_before_a_pause_is_not() -> None:
    lost = [seg(0, "Of activities, they are under."), seg(2, "In this regard..."), seg(5, "We"), seg(6, "are")]
    held = replace(lost[1], words=(*lost[1].words[:2], replace(lost[1].words[2], end=5.0)))  # "regard..." 2.4 s
    are = replace(lost[3], words=(replace(lost[3].words[0], end=22.8),))  # 16.8 s
    segments = [lost[0], held, lost[2], replace(are, end=22.8)]
    assert find_stretched(segments, lambda start, end: 1.0) == [(3, 4)]  # 2.4 s is not past 2.5 s
    held = replace(held, words=(*held.words[:2], replace(held.words[2], end=7.0)))  # now 4.4 s
    segments[1] = held
    assert find_stretched(segments, lambda start, end: 1.0) == [(1, 4)]  # one segment apart: joined
    assert find_stretched(segments, lambda start, end: 0.2) == []  # held over a pause: the pause


def test_a_stretch_decoded_again_drops_the_words_its_neighbours_say() -> None:
    redone = [seg(10, "In this regard, go forward."), seg(12, "We are sure.")]
    trimmed = trim_seams(redone, seg(8, "they are under."), seg(14, "sure that one war is enough."))
    assert [s.text for s in trimmed] == [" In this regard, go forward.", " We are"]
    assert trimmed[-1].end == trimmed[-1].words[-1].end
    assert trim_seams(redone, seg(8, "they are under. In"), None)[0].text == " this regard, go forward."
    assert trim_seams(redone, None, None) == redone


class FakeLostWhisper(FakeWhisper):
    """Loses its way with context: "In this regard..." with "regard" held 7 s; without context
    (the stretch decoded again, from 1.8 s) says what was said, and nothing in the speech after
    its words (a third decode, of speech left without text)."""

    def transcribe(self, audio: np.ndarray, **kwargs: Any) -> tuple[Any, Any]:
        self.calls.append({"seconds": len(audio) / 16000, **kwargs})
        if len(self.calls) > 2:
            return iter([]), SimpleNamespace(language="en", language_probability=1.0)
        if kwargs["condition_on_previous_text"]:
            s = seg(2.0, "In this regard...")
            s = replace(s, end=9.6, words=(*s.words[:2], replace(s.words[2], end=9.6)))
        else:
            s = seg(0.2, "In this regard, go forward ten meters. The child almost hurt the small dog.")
        words = [SimpleNamespace(start=w.start, end=w.end, word=w.text, probability=0.9) for w in s.words]
        out = SimpleNamespace(start=s.start, end=s.end, text=s.text, words=words, avg_logprob=-0.2,
                              no_speech_prob=0.01, compression_ratio=1.5, temperature=0.0)
        return iter([out]), SimpleNamespace(language="en", language_probability=1.0)


def test_a_word_held_over_real_speech_is_decoded_again_without_context(testdata: Path) -> None:
    # Real speech (LJ Speech) under the held word, as Silero VAD hears it; silence leaves it alone.
    speech = load_audio(testdata / "audio" / "lj_LJ001-0001.wav")[: 16000 * 10]
    fake = FakeLostWhisper()
    transcript = FasterWhisperEngine("fake", fake).transcribe(speech, AsrOptions())
    assert transcript.stretches_restored == 1
    assert transcript.text == "In this regard, go forward ten meters. The child almost hurt the small dog."
    assert not fake.calls[1]["condition_on_previous_text"] and fake.calls[1]["initial_prompt"] is None
    assert transcript.segments[0].start == pytest.approx(1.8 + 0.2)
    quiet = FakeLostWhisper()
    transcript = FasterWhisperEngine("fake", quiet).transcribe(np.zeros(16000 * 10, dtype=np.float32), AsrOptions())
    assert transcript.stretches_restored == 0 and len(quiet.calls) == 1 and transcript.text == "In this regard..."


def test_speech_no_word_covers_is_found_and_speech_between_words_is_not() -> None:
    said = [seg(0.5, "Open the settings page."), seg(20.0, "Then save.")]  # words to 1.7 s, 20.0-20.6 s
    speech = [(0.4, 1.8), (2.5, 8.0), (8.6, 12.0), (13.5, 14.0), (19.8, 20.7)]
    # 2.5-12.0 s: two chunks 0.6 s apart with no word between, one stretch; 13.5-14.0 s, 1.5 s
    # after it, alone and too short; the pauses between words and the slack around them are not speech left out.
    assert find_unheard(said, speech) == [(2.5, 12.0)]
    assert find_unheard(said, speech, min_s=10.0) == []
    # A word between two gaps keeps them apart (each under 2 s, so neither counts).
    split = [*said, seg(3.9, "now")]  # covers 3.6-4.5 s
    assert find_unheard(split, [(2.5, 5.8)]) == []
    assert find_unheard(split, [(2.5, 5.8)], min_s=1.0) == [(2.5, 3.6), (4.5, 5.8)]
    # A segment without word times covers its whole time, past the words that start after it.
    assert find_unheard([Segment(2.0, 12.0, " Text.", ())], speech) == []
    assert find_unheard([Segment(2.0, 12.0, " Text.", ()), seg(3.0, "now")], speech) == []


def test_speech_heard_unsurely_or_not_at_all_is_where_the_language_is_doubted() -> None:
    def said(start: float, probability: float, n: int = 4) -> Segment:
        words = tuple(Word(start + k * 0.5, start + k * 0.5 + 0.4, f" w{k}", probability) for k in range(n))
        return Segment(start, start + n * 0.5, "", words)

    sure, unsure = said(0.0, 0.9), [said(2.0, 0.45), said(4.0, 0.3), said(8.0, 0.5, n=10)]
    assert doubted_speech([sure], ()) is None
    # the longest run of consecutive unsure segments: one of 8-13 s beats two segments at 2-6 s
    assert doubted_speech([sure, *unsure[:2], sure, unsure[2]], ()) == (8.0, 13.0)
    assert doubted_speech([sure, *unsure[:2]], ()) == (2.0, 6.0)  # a run of two segments, 8 words
    assert doubted_speech([sure, said(2.0, 0.2, n=2)], ()) is None  # two words tell nothing
    # speech left without text first, the longest of it
    assert doubted_speech([sure, *unsure], [(13.0, 15.0), (20.0, 25.0)]) == (20.0, 25.0)


class FakeBilingualWhisper(FakeWhisper):
    """A multilingual model on English speech, then German: the decode of the whole hears only
    the English; the German stretch decoded alone, with the language left to it, is German."""

    def __init__(self, alone: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.model = SimpleNamespace(is_multilingual=True)
        self.alone = alone or {}

    def transcribe(self, audio: np.ndarray, **kwargs: Any) -> tuple[Any, Any]:
        self.calls.append({"seconds": len(audio) / 16000, **kwargs})
        alone = not kwargs["condition_on_previous_text"]
        if not alone:
            text, language, start = "Printing, in the only sense with which we are at present concerned,", "en", 0.2
        else:
            text, language, start = "Jeden, der diese Software erhält.", kwargs["language"] or "de", 0.1
        s = seg(start, self.alone.get("text", text) if alone else text)
        if alone and "text" not in self.alone:  # its words spread over the speech it was given
            step = (len(audio) / 16000 - 0.4) / len(s.words)
            s = replace(s, words=tuple(replace(w, start=start + k * step, end=start + (k + 1) * step)
                                       for k, w in enumerate(s.words)))
        words = [SimpleNamespace(start=w.start, end=w.end, word=w.text, probability=0.9) for w in s.words]
        out = SimpleNamespace(start=s.start, end=s.words[-1].end, text=s.text, words=words, **{
            "avg_logprob": -0.2, "no_speech_prob": 0.01, "compression_ratio": 1.5, "temperature": 0.0,
            **({k: v for k, v in self.alone.items() if k != "text"} if alone else {})})
        return iter([out]), SimpleNamespace(language=language, language_probability=0.99)

    def detect_language(self, audio: np.ndarray, **kwargs: Any) -> tuple[str, float, list[Any]]:
        return "en", 0.99, []  # the whole is English to it: only the speech it left out is asked again


class FakeTranslatingWhisper(FakeWhisper):
    """A multilingual model on English speech, then German (from ``split`` s): the decode of the
    whole, in English, gives an English translation of the German; it tells the language of a
    piece of the audio by where the piece lies (unsure of one holding both)."""

    def __init__(self, audio: np.ndarray, split: float) -> None:
        super().__init__()
        self.model = SimpleNamespace(is_multilingual=True)
        self.audio, self.split = audio, split
        self.asked: list[tuple[float, float]] = []
        self.sure = False  # True: the translation scores as high as speech heard in its language
        self.noisy = False  # True: the English scores low too

    def _where(self, piece: np.ndarray) -> float:
        for k in np.flatnonzero(self.audio == piece[0]):
            if np.array_equal(self.audio[k : k + 64], piece[:64]):
                return k / 16000
        raise AssertionError("not a piece of the audio")

    def detect_language(self, audio: np.ndarray, **kwargs: Any) -> tuple[str, float, list[Any]]:
        start = self._where(audio)
        end = start + len(audio) / 16000
        self.asked.append((start, end))
        if end <= self.split + 0.3:
            return "en", 0.97, []
        return ("de", 0.97, []) if start >= self.split - 0.3 else ("de", 0.55, [])

    def transcribe(self, audio: np.ndarray, **kwargs: Any) -> tuple[Any, Any]:
        self.calls.append({"seconds": len(audio) / 16000, **kwargs})
        length = len(audio) / 16000
        if kwargs["language"] == "de":  # the German alone, in German (times from the piece's start)
            said = [(0.1, length - 0.3, "Jeden, der diese Software erhält, wird hiermit die Genehmigung erteilt.")]
        else:  # the words spread over the speech of each part
            said = [(0.2, self.split - 1.2, "Printing, in the only sense with which we are at present concerned,"),
                    (self.split + 0.2, length - 0.3,
                     "Each of these software and the available documentation will be divided.")]
        out = []
        for start, end, text in said:
            s = seg(start, text)
            step = (end - start) / len(s.words)
            words = [SimpleNamespace(start=start + k * step, end=start + (k + 1) * step, word=w.text, probability=0.9)
                     for k, w in enumerate(s.words)]
            s = replace(s, end=end)
            unsure = (text.startswith("Each") and not self.sure) or (text.startswith("Printing") and self.noisy)
            out.append(SimpleNamespace(start=s.start, end=s.end, text=s.text, words=words,
                                       avg_logprob=-0.8 if unsure else -0.3, no_speech_prob=0.01,
                                       compression_ratio=1.5, temperature=0.0))
        return iter(out), SimpleNamespace(language=kwargs["language"] or "en", language_probability=0.99)


def test_speech_in_another_language_is_decoded_again_in_it_where_the_language_changes(testdata: Path) -> None:
    english = load_audio(testdata / "audio" / "lj_LJ001-0001.wav")
    german = load_audio(testdata / "audio" / "fleurs_de-006.ogg")
    audio = np.concatenate([english, np.zeros(16000, dtype=np.float32), german])
    split = (len(english) + 16000) / 16000
    length = len(audio) / 16000
    fake = FakeTranslatingWhisper(audio, split)
    transcript = FasterWhisperEngine("fake", fake).transcribe(audio, AsrOptions(language="auto"))
    assert transcript.language == "en"
    first, second = transcript.segments
    assert first.language == "" and first.text.startswith(" Printing")
    assert second.language == "de" and "Genehmigung" in second.text and "software" not in transcript.text
    again = fake.calls[1]
    assert again["language"] == "de" and not again["condition_on_previous_text"]
    # from 0.2 s before the translated segment to 0.2 s after it, times on the file's clock
    assert again["seconds"] == pytest.approx((length - 0.3 + 0.2) - split, abs=0.01)
    assert second.start == pytest.approx(split + 0.1, abs=0.01) and transcript.unheard_restored == 0
    assert [round(a, 1) for a, _ in fake.asked] == [round(split + 0.2, 1)]  # the unsure segment alone
    # Both unsure (noisy English, then the translation): the run is asked, then each segment.
    noisy = FakeTranslatingWhisper(audio, split)
    noisy.noisy = True
    both = FasterWhisperEngine("fake", noisy).transcribe(audio, AsrOptions(language="auto"))
    assert [round(a, 1) for a, _ in noisy.asked] == [0.2, 0.2, round(split + 0.2, 1)]
    assert [s.language for s in both.segments] == ["", "de"] and len(noisy.calls) == 2
    # The language an earlier block was found in: decoded in it, unsure stretches still asked.
    later = FakeTranslatingWhisper(audio, split)
    again_found = FasterWhisperEngine("fake", later).transcribe(audio, AsrOptions(language="auto", language_found="en"))
    assert later.calls[0]["language"] == "en" and later.calls[1]["language"] == "de"
    assert [s.language for s in again_found.segments] == ["", "de"]
    # With the language given, or every segment decoded surely, nothing is asked or decoded again.
    given = FakeTranslatingWhisper(audio, split)
    kept = FasterWhisperEngine("fake", given).transcribe(audio, AsrOptions(language="en"))
    assert given.asked == [] and "Each of these software" in kept.text
    sure = FakeTranslatingWhisper(audio, split)
    sure.sure = True
    kept = FasterWhisperEngine("fake", sure).transcribe(audio, AsrOptions(language="auto"))
    assert sure.asked == [] and len(sure.calls) == 1 and "Each of these software" in kept.text


def _two_utterances(testdata: Path) -> np.ndarray:
    """Two real utterances (LJ Speech), 1 s apart: speech from about 0.1 to 18 s."""
    first = load_audio(testdata / "audio" / "lj_LJ001-0001.wav")
    second = load_audio(testdata / "audio" / "lj_LJ001-0002.wav")
    return np.concatenate([first, np.zeros(16000, dtype=np.float32), second])


def test_speech_left_without_text_is_decoded_alone_in_the_language_found_there(testdata: Path) -> None:
    audio = _two_utterances(testdata)
    fake = FakeBilingualWhisper()
    transcript = FasterWhisperEngine("fake", fake).transcribe(audio, AsrOptions(language="auto"))
    assert transcript.unheard_restored == 1 and transcript.unheard == ()
    english, german = transcript.segments
    assert english.language == "" and german.language == "de"  # "": the transcript's (en)
    assert transcript.language == "en" and "Jeden" in german.text
    again = fake.calls[1]
    assert again["language"] is None and not again["condition_on_previous_text"]  # language found there
    # Decoded from where the English words end (with their slack), times on the file's clock.
    assert again["seconds"] == pytest.approx(len(audio) / 16000 - english.end - 0.3, abs=0.3)
    assert german.start == pytest.approx(english.end + 0.3 + 0.1, abs=0.05)
    # A language given is kept: the stretch is decoded alone in it.
    given = FakeBilingualWhisper()
    FasterWhisperEngine("fake", given).transcribe(audio, AsrOptions(language="en"))
    assert given.calls[1]["language"] == "en"


@pytest.mark.parametrize("alone", [{"avg_logprob": -0.84}, {"temperature": 0.4}, {"text": "Thank you."}])
def test_an_unsure_decode_of_speech_left_without_text_is_not_kept_and_the_speech_is_reported(
        testdata: Path, alone: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    # -0.84: German speech decoded as English (a translation); a fallback to sampling; two words
    # said surely into 14 s of what voice activity called speech (a guess: music, noise).
    fake = FakeBilingualWhisper(alone)
    with caplog.at_level(logging.WARNING, logger="pipelines.asr"):
        transcript = FasterWhisperEngine("fake", fake).transcribe(_two_utterances(testdata), AsrOptions(language="auto"))
    assert transcript.unheard_restored == 0 and "Jeden" not in transcript.text
    (start, end), = transcript.unheard
    assert start == pytest.approx(transcript.segments[0].end + 0.3, abs=0.01)
    assert end == pytest.approx(len(_two_utterances(testdata)) / 16000, abs=1.0)
    assert "of speech at" in caplog.text and "has no text" in caplog.text


class FakeScreenWhisper(FakeWhisper):
    """Says what it hears in lower case, whatever it is offered: the first sentence where nothing
    came before (no prompt), the second after it, its words spread over the audio it is given
    (0.5 s from either end), so that no speech is left without a word."""

    def transcribe(self, audio: np.ndarray, **kwargs: Any) -> tuple[Any, Any]:
        self.calls.append({"seconds": len(audio) / 16000, **kwargs})
        s = seg(0.5, ["now press export as pdf and wait.", "then save it to nextcloud."][bool(kwargs["initial_prompt"])])
        step = max(0.3, (len(audio) / 16000 - 1.0) / len(s.words))
        spread = [replace(w, start=0.5 + k * step, end=0.5 + (k + 1) * step) for k, w in enumerate(s.words)]
        s = replace(s, end=spread[-1].end, words=tuple(spread))
        words = [SimpleNamespace(start=w.start, end=w.end, word=w.text, probability=0.9) for w in s.words]
        out = SimpleNamespace(start=s.start, end=s.end, text=s.text, words=words, avg_logprob=-0.2,
                              no_speech_prob=0.01, compression_ratio=1.5, temperature=0.0)
        return iter([out]), SimpleNamespace(language="en", language_probability=1.0)


def Seen(start: float, end: float, text: str, confidence: float = 0.95) -> TextEvent:
    """On-screen text as the ocr stage times it."""
    return TextEvent(start, end, (0.1, 0.1, 0.9, 0.2), text, confidence, scene=0)


def test_each_stretch_is_offered_the_terms_on_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    import faster_whisper.vad

    speech = [{"start": 0, "end": 16000 * 10}, {"start": 16000 * 40, "end": 16000 * 50}]
    monkeypatch.setattr(faster_whisper.vad, "get_speech_timestamps", lambda audio, options: speech)
    fake = FakeScreenWhisper()
    screen = [Seen(1, 9, "Export as PDF"), Seen(41, 49, "Nextcloud")]
    transcript = FasterWhisperEngine("fake", fake).transcribe(
        np.zeros(16000 * 60, dtype=np.float32), AsrOptions(hotwords="Northwind"), screen=screen
    )
    first, second = fake.calls
    assert first["hotwords"].startswith("Northwind, ") and "Export as PDF" in first["hotwords"]
    assert "Nextcloud" in second["hotwords"] and "Export as PDF" not in second["hotwords"]
    assert second["initial_prompt"] == "now press Export as PDF and wait."  # context carries over
    assert [w.offered[0] for w in transcript.vocabulary] == ["Export as PDF", "Nextcloud"]
    assert transcript.vocabulary[0].used == ("Export as PDF",) and transcript.vocabulary[1].used == ("Nextcloud",)
    assert transcript.segments[1].start == pytest.approx(40.5)
    assert transcript.text == "now press Export as PDF and wait. then save it to Nextcloud."  # as on screen


def _two_stretches(monkeypatch: pytest.MonkeyPatch) -> tuple[list[TextEvent], np.ndarray, Transcript]:
    """A minute of audio with speech at 0-10 s and 40-50 s, a term on screen during each, and the
    transcript of the finished OCR's events (what a live feed must give)."""
    import faster_whisper.vad

    speech = [{"start": 0, "end": 16000 * 10}, {"start": 16000 * 40, "end": 16000 * 50}]
    monkeypatch.setattr(faster_whisper.vad, "get_speech_timestamps", lambda audio, options: speech)
    screen = [Seen(1, 9, "Export as PDF"), Seen(41, 49, "Nextcloud")]
    audio = np.zeros(16000 * 60, dtype=np.float32)
    return screen, audio, FasterWhisperEngine("fake", FakeScreenWhisper()).transcribe(audio, AsrOptions(), screen=screen)


def test_a_live_feed_gives_the_transcript_of_the_finished_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    """OCR running beside the recogniser: each stretch waits for the watermark, is decoded on the
    terms read by then, and is decoded again only where the final terms differ."""
    screen, audio, after = _two_stretches(monkeypatch)

    feed = ScreenFeed()
    fake = FakeScreenWhisper()
    waits: list[float] = []

    def publish() -> None:  # the first stretch's terms early; a late reading changes the second's
        while not waits:
            time.sleep(0.01)
        feed.publish(13.0, screen[:1])
        while len(waits) < 2:
            time.sleep(0.01)
        feed.publish(55.0, [screen[0], Seen(41, 49, "Nextcloud", confidence=0.5)])  # a doubtful first reading
        time.sleep(0.05)
        feed.close(screen)

    original = feed.wait

    def wait(until: float, check: Any = None, poll_s: float = 0.5) -> Any:
        waits.append(until)
        return original(until, check, poll_s)

    monkeypatch.setattr(feed, "wait", wait)
    thread = threading.Thread(target=publish)
    thread.start()
    live = FasterWhisperEngine("fake", fake).transcribe(audio, AsrOptions(), screen=feed)
    thread.join()
    assert waits[:2] == [10 + 2.0, 50 + 2.0]  # each stretch waited for its end plus the margin
    assert live.text == after.text and live.vocabulary == after.vocabulary
    # decoded: the whole audio plainly while the feed was behind and no terms were offered yet
    # (the transcript had none come), stretch 1 once, stretch 2 on the doubtful reading (no
    # terms), then again on "Nextcloud"
    assert [c["seconds"] for c in fake.calls] == [60, 10, 10, 10] and fake.calls[0]["hotwords"] is None
    assert "Nextcloud" in fake.calls[3]["hotwords"]


def _plain_segment_by_segment(yielded: list[float], after_each: Callable[[], None]) -> FakeScreenWhisper:
    """A fake whose plain decode (60 s) comes segment by segment (their starts into ``yielded``),
    ``after_each`` called once each is taken (what OCR publishes meanwhile)."""

    class Plain(FakeScreenWhisper):
        def transcribe(self, audio: np.ndarray, **kwargs: Any) -> tuple[Any, Any]:
            if len(audio) < 16000 * 60:
                return super().transcribe(audio, **kwargs)
            self.calls.append({"seconds": len(audio) / 16000, **kwargs})

            def segments() -> Any:
                for start in (1.0, 20.0, 41.0):
                    yielded.append(start)
                    s = seg(start, "words heard here.")
                    yield SimpleNamespace(start=s.start, end=s.end, text=s.text, words=[], avg_logprob=-0.2,
                                          no_speech_prob=0.01, compression_ratio=1.5, temperature=0.0)
                    after_each()

            return segments(), SimpleNamespace(language="en", language_probability=1.0)

    return Plain()


def _close_once_waited_on(feed: ScreenFeed, events: list[TextEvent]) -> threading.Thread:
    """A thread that closes ``feed`` with ``events`` once a reader waits on it (OCR ends later)."""

    def close() -> None:
        deadline = time.monotonic() + 10
        while not feed.readers_waiting and time.monotonic() < deadline:
            time.sleep(0.01)
        feed.close(events)

    thread = threading.Thread(target=close)
    thread.start()
    return thread


def test_the_plain_decode_is_given_up_once_the_feed_passes_a_stretch_with_terms(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    screen, audio, after = _two_stretches(monkeypatch)
    feed = ScreenFeed()
    yielded: list[float] = []
    fake = _plain_segment_by_segment(yielded, lambda: feed.close(screen))  # OCR ends during the second
    with caplog.at_level(logging.INFO, logger="pipelines.asr"):
        live = FasterWhisperEngine("fake", fake).transcribe(audio, AsrOptions(), screen=feed)
    assert yielded == [1.0, 20.0]  # stopped after the segment during which the screen got terms
    assert [c["seconds"] for c in fake.calls] == [60, 10, 10]
    assert live.text == after.text and live.vocabulary == after.vocabulary
    assert "plain decode given up: the screen has terms from 0.0 s on" in caplog.text


def test_no_plain_decode_when_the_part_of_a_stretch_passed_has_terms(monkeypatch: pytest.MonkeyPatch) -> None:
    """OCR has read 5 s of the first stretch (0-10 s), a term among it: that stretch will be
    decoded with terms, so the plain decode would be thrown away and is not started."""
    screen, audio, after = _two_stretches(monkeypatch)
    feed = ScreenFeed()
    feed.publish(5.0, screen[:1])
    fake = FakeScreenWhisper()
    thread = _close_once_waited_on(feed, screen)
    live = FasterWhisperEngine("fake", fake).transcribe(audio, AsrOptions(), screen=feed)
    thread.join()
    assert [c["seconds"] for c in fake.calls] == [10, 10]  # the two stretches, no plain 60 s
    assert live.text == after.text and live.vocabulary == after.vocabulary


def test_the_plain_decode_is_given_up_once_the_feed_passes_a_term_within_a_stretch(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The watermark reaches 5 s (a term at 1-9 s read) while the plain decode runs: given up
    then, not once OCR has passed the whole stretch and its margin (12 s)."""
    screen, audio, after = _two_stretches(monkeypatch)
    feed = ScreenFeed()
    yielded: list[float] = []
    fake = _plain_segment_by_segment(yielded, lambda: feed.publish(5.0, screen[:1]))
    thread = _close_once_waited_on(feed, screen)
    with caplog.at_level(logging.INFO, logger="pipelines.asr"):
        live = FasterWhisperEngine("fake", fake).transcribe(audio, AsrOptions(), screen=feed)
    thread.join()
    assert yielded == [1.0, 20.0]  # stopped after the segment during which the term was read
    assert [c["seconds"] for c in fake.calls] == [60, 10, 10]
    assert live.text == after.text and live.vocabulary == after.vocabulary
    assert "plain decode given up: the screen has terms from 0.0 s on" in caplog.text


def test_a_live_feed_with_no_terms_ever_uses_the_plain_decode_made_while_ocr_ran(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import faster_whisper.vad

    speech = [{"start": 0, "end": 16000 * 10}, {"start": 16000 * 40, "end": 16000 * 50}]
    monkeypatch.setattr(faster_whisper.vad, "get_speech_timestamps", lambda audio, options: speech)
    feed = ScreenFeed()
    fake = FakeScreenWhisper()
    audio = np.zeros(16000 * 60, dtype=np.float32)
    closed_after: list[int] = []

    def close_once_decoded() -> None:  # OCR ends after the plain decode: nothing left to decode then
        deadline = time.monotonic() + 10
        while not fake.calls and time.monotonic() < deadline:
            time.sleep(0.01)
        closed_after.append(len(fake.calls))
        feed.close([Seen(0, 1, "12:30")])

    thread = threading.Thread(target=close_once_decoded)
    thread.start()
    # The guards off: the fake's one sentence over the whole minute holds its words 8 s each.
    options = AsrOptions(repetition_check=False)
    transcript = FasterWhisperEngine("fake", fake).transcribe(audio, options, screen=feed)
    thread.join()
    plain = FasterWhisperEngine("fake", FakeScreenWhisper()).transcribe(audio, options)
    assert closed_after == [1] and len(fake.calls) == 1 and fake.calls[0]["hotwords"] is None
    assert transcript.text == plain.text and transcript.vocabulary == ()


def test_a_live_feed_without_screen_terms_is_one_plain_decode() -> None:
    feed = ScreenFeed()
    feed.close([Seen(0, 1, "12:30")])
    fake = FakeScreenWhisper()
    transcript = FasterWhisperEngine("fake", fake).transcribe(np.zeros(16000, dtype=np.float32), AsrOptions(),
                                                              screen=feed)
    assert len(fake.calls) == 1 and fake.calls[0]["hotwords"] is None and transcript.vocabulary == ()


def test_without_screen_terms_it_is_one_plain_decode() -> None:
    fake = FakeScreenWhisper()
    transcript = FasterWhisperEngine("fake", fake).transcribe(np.zeros(16000, dtype=np.float32), AsrOptions(),
                                                              screen=[Seen(0, 1, "12:30")])
    assert len(fake.calls) == 1 and fake.calls[0]["hotwords"] is None and transcript.vocabulary == ()


def test_a_probable_silence_filled_with_doubted_words_is_dropped() -> None:
    doubted = Segment(5.0, 6.0, " Nextcloud.", (Word(5.0, 6.0, " Nextcloud.", 0.01),), -1.0, 0.92)
    heard = Segment(0.0, 2.0, " Hello there.", (Word(0.0, 1.0, " Hello", 0.9), Word(1.0, 2.0, " there.", 0.8)), -0.3,
                    0.92)
    assert is_silent_guess(doubted, AsrOptions())
    assert not is_silent_guess(heard, AsrOptions())
    assert not is_silent_guess(replace(doubted, no_speech_prob=0.1), AsrOptions())
    # at the pause that ends a stretch: an unlikely first word makes the next one likely
    thanks = Segment(25.03, 25.15, " Thank you.", (Word(25.03, 25.11, " Thank", 0.02), Word(25.11, 25.15, " you.", 0.98)),
                     -0.7, 0.92)
    assert is_silent_guess(thanks, AsrOptions())


class ScoredWhisper(WhisperEngine):
    """Scores texts against the audio from a table (unknown texts score very low)."""

    name, multilingual = "scored", False

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores
        self.asked: list[tuple[int, str | None]] = []

    def text_log_probs(self, audio: np.ndarray, texts: Any, language: str, hotwords: str | None = None) -> list[float]:
        self.asked.append((len(audio), hotwords))
        return [self.scores.get(t, -99.0) for t in texts]


def test_a_near_miss_takes_the_screen_spelling_where_the_audio_agrees() -> None:
    heard = seg(10.0, "press Exporting PDF then pick libykernel.")
    fixed = " press Export as PDF then pick libykernel."
    engine = ScoredWhisper({heard.text: -12.0, fixed: -10.0, " press Exporting PDF then pick ipykernel.": -20.0})
    audio = np.zeros(16000 * 20, dtype=np.float32)
    out = engine._respelled_by_audio(audio, heard, ["Export as PDF", "ipykernel"], "en", "Export as PDF, ipykernel")
    assert out.text == fixed  # ipykernel: the audio says otherwise
    assert [w.text for w in out.words[:4]] == [" press", " Export", " as", " PDF"]
    assert out.words[1].start == heard.words[1].start and out.words[3].end == heard.words[2].end
    assert [w.start for w in out.words] == sorted(w.start for w in out.words)
    assert engine.asked == [(int((heard.words[-1].end + 0.3 - 9.7) * 16000), "Export as PDF, ipykernel")]
    unchanged = ScoredWhisper({heard.text: -12.0, fixed: -12.5})._respelled_by_audio(
        audio, heard, ["Export as PDF"], "en", None)
    assert unchanged == heard


@pytest.fixture(scope="module")
def tiny(model_dir: Path, require_model):  # type: ignore[no-untyped-def]
    require_model("whisper-tiny.en")
    return load_engine("whisper-tiny.en", model_dir)


@pytest.fixture(scope="module")
def base(model_dir: Path, require_model):  # type: ignore[no-untyped-def]
    require_model("whisper-base")
    return load_engine("whisper-base", model_dir)


@pytest.mark.slow
def test_tiny_en_transcribes_sample_lesson_with_word_timings(tiny, samples: Path) -> None:  # type: ignore[no-untyped-def]
    reference = json.loads((samples / "lesson.json").read_text())
    progress: list[float] = []
    transcript = tiny.transcribe(load_audio(samples / "lesson.mp4"), AsrOptions(), progress.append)
    assert transcript.language == "en"
    assert wer(reference["narration"], transcript.text) < 0.15
    words = transcript.words
    assert len(words) > 50
    assert all(0 <= w.start <= w.end <= transcript.duration + 0.5 for w in words)
    assert all(0.0 <= w.probability <= 1.0 for w in words)
    assert progress[-1] == 1.0 and progress == sorted(progress)
    # the first slide's speech starts after its 0.5 s of silence
    first = reference["slides"][0]
    assert words[0].start == pytest.approx(first["speech_start"], abs=0.6)


@pytest.mark.slow
def test_batched_decoding_gives_the_same_lesson(model_dir: Path, require_model, samples: Path) -> None:  # type: ignore[no-untyped-def]
    """The GPU's way (speech chunks decoded side by side, ``batch_size`` > 1) runs anywhere: on
    the CPU here, with the same options, to much the same transcript."""
    require_model("whisper-tiny.en")
    batched = load_engine("whisper-tiny.en", model_dir, batch_size=4)
    reference = json.loads((samples / "lesson.json").read_text())
    transcript = batched.transcribe(load_audio(samples / "lesson.mp4"), AsrOptions())
    assert wer(reference["narration"], transcript.text) < 0.2
    assert len(transcript.words) > 50


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lj_LJ001-0001", "librivox_sns01_0870", "sb_spk1_snt1", "ps_goforward"])
def test_tiny_en_on_human_references(tiny, testdata: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    transcript = tiny.transcribe(load_audio(testdata / "audio" / f"{name}.wav"), AsrOptions())
    assert wer(reference_text(testdata / "audio" / f"{name}.txt"), transcript.text) < 0.25


def test_narration_without_long_pauses_is_cut_into_stretches_of_one_window(testdata: Path) -> None:
    """Real speech clips 0.7 s apart (no pause reaches VAD's 2 s): the stretches that get their own
    on-screen terms, and are decoded as OCR passes them, still last one Whisper window at most."""
    from pipelines.vocabulary import WINDOW_S

    names = ["lj_LJ001-0001", "librivox_sns01_0870", "ds_new-home-in-the-stars-16k", "sb_spk1_snt1"]
    gap = np.zeros(int(0.7 * 16000), np.float32)
    clips = [load_audio(testdata / "audio" / f"{name}.wav") for name in names]
    audio = np.concatenate([part for _ in range(3) for clip in clips for part in (clip, gap)])
    assert len(audio) / 16000 > 2.5 * WINDOW_S
    spans = FasterWhisperEngine._spans(audio)
    assert len(spans) >= 3
    assert all(end - start <= WINDOW_S + 1.0 for start, end in spans)  # VAD pads a chunk by 0.4 s a side
    assert spans[0][0] < 1.0 and spans[-1][1] > len(audio) / 16000 - 2.0  # all the speech is in them


@pytest.mark.slow
def test_initial_prompt_and_hotwords_reach_the_model(tiny, testdata: Path) -> None:  # type: ignore[no-untyped-def]
    audio = load_audio(testdata / "audio" / "fw_hotwords.mp3")
    transcript = tiny.transcribe(audio, AsrOptions(hotwords="ComfyUI"))
    assert "comfyui" in transcript.text.lower().replace(" ", "")


@pytest.mark.slow
def test_base_detects_russian(base, testdata: Path) -> None:  # type: ignore[no-untyped-def]
    transcript = base.transcribe(load_audio(testdata / "audio" / "ds_ru.wav"), AsrOptions(language="auto"))
    assert transcript.language == "ru"
    assert transcript.language_probability > 0.5
    assert any("\u0400" <= ch <= "\u04ff" for ch in transcript.text)


@pytest.mark.slow
def test_a_recording_in_english_then_german_is_transcribed_in_both(  # type: ignore[no-untyped-def]
        base, tiny, testdata: Path) -> None:
    # Real speech (faster-whisper's test file): the MIT licence read in English (0-29 s), then in
    # German (30-60 s). Whisper decoding the whole in the language it found first gives nothing for
    # the German half (faster-whisper alone too).
    audio = load_audio(testdata / "audio" / "fw_multilingual.mp3")
    both = base.transcribe(audio, AsrOptions(language="auto", model="whisper-base"))
    # Recovered by decoding the German stretch as unheard speech (unheard_restored 1) or by the
    # language check of the segments (``_repair_languages``): which one fires depends on the
    # floating point of the CPU it runs on (both seen on this project's machines).
    assert both.language == "en" and both.unheard == ()
    german = [s for s in both.segments if s.language == "de"]
    assert german and all(s.start > 28.0 for s in german)
    heard = " ".join(s.text for s in german).lower()
    assert sum(w in heard for w in ("software", "recht", "verwenden", "veröffentlichen", "bedingungen")) >= 4
    assert "permission" in " ".join(s.text for s in both.segments if not s.language).lower()
    # English only: the German half cannot be heard, and is reported, not filled with English words.
    english = tiny.transcribe(audio, AsrOptions(language="en"))
    assert english.unheard_restored == 0 and all(s.end < 31.0 for s in english.segments)
    ((start, end),) = english.unheard
    assert 28.0 < start < 32.0 and end > 58.0


@pytest.mark.slow
def test_english_only_model_refuses_other_languages(tiny) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    with pytest.raises(OptionsError, match="English-only"):
        tiny.transcribe(np.zeros(16000, dtype=np.float32), AsrOptions(model="auto", language="fr"))


@pytest.mark.slow
def test_screen_terms_spell_the_sample_lesson_labels(tiny, samples: Path) -> None:  # type: ignore[no-untyped-def]
    slides = json.loads((samples / "lesson.json").read_text())["slides"]
    screen = [Seen(s["start"], s["end"], text) for s in slides for text in [s["title"], *s["bullets"]]]
    audio = load_audio(samples / "lesson.mp4")
    plain = tiny.transcribe(audio, AsrOptions())
    aware = tiny.transcribe(audio, AsrOptions(), screen=screen)
    assert "Change Password" not in plain.text and "Change Password" in aware.text
    assert any("Change Password" in term for w in aware.vocabulary for term in w.used)
    reference = json.loads((samples / "lesson.json").read_text())["narration"]
    assert wer(reference, aware.text) <= wer(reference, plain.text)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["faster-whisper", "openai-whisper"])
def test_the_audio_scores_what_was_said_above_a_near_miss(  # type: ignore[no-untyped-def]
    model_dir: Path, require_model, testdata: Path, engine: str
) -> None:
    require_model("whisper-tiny.en" if engine == "faster-whisper" else "whisper-tiny.en-openai")
    loaded = load_engine("whisper-tiny.en", model_dir, engine=engine)
    audio = load_audio(testdata / "audio" / "sb_spk1_snt4.wav")
    texts = ["A thin stripe runs down the middle.", "A thin strip runs down the model."]
    said, near = loaded.text_log_probs(audio, texts, "en")
    assert near < said < 0
    prompted = loaded.text_log_probs(audio, texts, "en", hotwords="Stripe, Middle")
    assert prompted != [said, near] and all(-50 < x < 0 for x in prompted)  # the prompt is heard


def test_whisper_s_languages_are_faster_whisper_s() -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    from pipelines.asr import WHISPER_LANGUAGES

    assert frozenset(_LANGUAGE_CODES) == WHISPER_LANGUAGES
