"""Stage ``subtitles``: its options, and its runner on a fake engine."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, ClassVar

import pytest

from app.jobs import StageStatus
from app.stages import subtitles
from app.stages.context import StageContext
from app.stages.graph import run_stages
from pipelines.asr import AsrOptions, DecodeInfo, Segment, Transcript, Word
from pipelines.exceptions import ModelNotInstalledError, OptionsError
from pipelines.screen_feed import ScreenFeed
from pipelines.vocabulary import VocabularyWindow


def test_subtitle_options_parse_and_reject() -> None:
    opts = subtitles.STAGE.parse({"language": "de", "profile": "bbc", "profile_overrides": {"max_lines": 1}})
    asr, profile = opts.asr(), opts.style()
    assert asr.resolved_model() == "whisper-base"
    assert (profile.name, profile.max_line_chars, profile.max_lines) == ("bbc", 37, 1)
    with pytest.raises(OptionsError, match="Unknown subtitles option"):
        subtitles.STAGE.parse({"speed": 2})
    with pytest.raises(OptionsError, match="Unknown subtitle profile 'cinema'"):
        subtitles.STAGE.parse({"profile": "cinema"})
    with pytest.raises(OptionsError, match="beam_size"):
        subtitles.STAGE.parse({"beam_size": 99})
    with pytest.raises(OptionsError, match="vad_filter must be true or false"):
        subtitles.STAGE.parse({"vad_filter": "yes"})


@pytest.mark.parametrize(("values", "message"), [
    ({"beam_size": 5.7}, "subtitles.beam_size must be an integer, got 5.7."),  # was taken as 5
    ({"beam_size": "abc"}, "subtitles.beam_size must be an integer, got 'abc'."),
    ({"profile_overrides": {"max_line_chars": "abc"}},
     "profile_overrides.max_line_chars must be an integer, got 'abc'."),
    ({"profile_overrides": {"max_cps": "fast"}},
     "profile_overrides.max_cps must be a number or null (no limit), got 'fast'."),
    ({"hallucination_silence_threshold": "off"},
     'subtitles.hallucination_silence_threshold must be a number, got \'off\'; or send null (or "none") for no '
     "value."),
])
def test_a_bad_option_value_names_the_option_what_it_wants_and_what_it_got(values: dict[str, Any],
                                                                            message: str) -> None:
    with pytest.raises(OptionsError) as refused:
        subtitles.STAGE.parse(values)
    assert str(refused.value) == message


def test_optional_options_and_limits_take_null_or_none() -> None:
    """``none`` is how the README (and ``-O subtitles.KEY=none``) spells "off"."""
    for off in ("none", None):
        opts = subtitles.STAGE.parse({"hallucination_silence_threshold": off,
                                      "profile_overrides": {"max_cps": off}})
        assert opts.asr().hallucination_silence_threshold is None and opts.style().max_cps is None
    assert subtitles.STAGE.parse({"beam_size": 3.0, "profile_overrides": {"max_line_chars": 37.0}}).style(
        ).max_line_chars == 37


def test_subtitle_options_name_the_model_they_load() -> None:
    assert subtitles.STAGE.required_models({}) == ("whisper-tiny.en",)
    assert subtitles.STAGE.required_models({"language": "auto"}) == ("whisper-base",)
    # openai-whisper runs the checkpoint converted at install, a model folder of its own
    assert subtitles.STAGE.required_models({"engine": "openai-whisper"}) == ("whisper-tiny.en-openai",)
    assert subtitles.STAGE.required_models({"engine": "openai-whisper", "language": "de"}) == ("whisper-base-openai",)


def test_the_engine_is_a_checked_option() -> None:
    assert subtitles.SubtitlesOptions().engine == AsrOptions().engine == "faster-whisper"  # the default
    assert subtitles.STAGE.parse({"engine": "openai-whisper"}).asr().engine == "openai-whisper"
    with pytest.raises(OptionsError, match=r"Unknown ASR engine 'whisper\.cpp'\. Valid: faster-whisper, openai-whisper"):
        subtitles.STAGE.parse({"engine": "whisper.cpp"})
    with pytest.raises(OptionsError, match="Unknown ASR engine"):
        AsrOptions.from_mapping({"engine": "openai"})


def test_defaults_are_the_asr_defaults() -> None:
    opts, asr = subtitles.SubtitlesOptions(), AsrOptions()
    assert (opts.model, opts.language, opts.beam_size, opts.vad_filter) == (
        asr.model, asr.language, asr.beam_size, asr.vad_filter)
    assert opts.asr() == asr  # the decoding guards too


def test_decoding_guards_are_job_options() -> None:
    opts = subtitles.STAGE.parse({"condition_on_previous_text": False, "hallucination_silence_threshold": None,
                                  "no_speech_threshold": 0.5, "repetition_check": False})
    asr = opts.asr()
    assert not asr.condition_on_previous_text and asr.hallucination_silence_threshold is None
    assert asr.no_speech_threshold == 0.5 and not asr.repetition_check
    with pytest.raises(OptionsError, match="no_speech_threshold"):
        subtitles.STAGE.parse({"no_speech_threshold": 2})


class FakeEngine:
    name = "fake"
    screens: ClassVar[list[Any]] = []

    def transcribe(self, audio: Any, options: AsrOptions, progress: Any = None, screen: Any = ()) -> Transcript:
        self.screens.append(list(screen))
        words = tuple(Word(0.5 + i * 0.8, 0.8 + i * 0.8, f" word{i}", 0.9) for i in range(12))
        seg = Segment(0.5, 9.6, "".join(w.text for w in words), words, temperature=0.2)
        if progress:
            progress(1.0)
        offered = tuple(dict.fromkeys(e.text for e in screen))
        vocabulary = (VocabularyWindow(0.5, 9.6, offered, offered[:1]),) if offered else ()
        return Transcript((seg,), "en", 1.0, 6.0, "fake", vocabulary=vocabulary)


class FakeModels:
    engines: ClassVar[list[str]] = []

    def whisper(self, name: str, engine: str = "faster-whisper", threads: int = 0) -> FakeEngine:
        self.engines.append(engine)
        return FakeEngine()


def test_cues_follow_the_slide_changes_and_the_ocr_text_is_offered(samples: Path, tmp_path: Path) -> None:
    slides = json.loads((samples / "lesson.json").read_text())["slides"]
    events = [{"start": s["start"], "end": s["end"], "box": [0.1, 0.1, 0.9, 0.2], "text": s["title"],
               "confidence": 0.97, "scene": k} for k, s in enumerate(slides)]
    (tmp_path / "ocr.json").write_text(json.dumps({"events": events}))
    FakeEngine.screens.clear()
    ctx = StageContext(media_path=samples / "lesson.mp4", out_dir=tmp_path, models=FakeModels())  # type: ignore[arg-type]
    outcome = run_stages(ctx, ["subtitles"], {})["subtitles"]
    assert [e.text for e in FakeEngine.screens[-1]] == [s["title"] for s in slides]
    doc = json.loads((tmp_path / subtitles.SUBTITLES_JSON).read_text())
    cut = slides[1]["start"]
    assert doc["shot_changes"][0] == pytest.approx(cut, abs=1.5 / 24)
    assert outcome.summary["shot_changes"] == len(slides) - 1
    assert outcome.summary["shot_changes_from"] == subtitles.SHOTS_READ  # no OCR beside it
    for cue in doc["cues"]:  # the words run through the cut at 9.2 s with a pause at it: no cue crosses it
        assert not cue["start"] < doc["shot_changes"][0] < cue["end"]
    assert doc["vocabulary"][0]["offered"][0] == slides[0]["title"]
    assert outcome.summary["vocabulary"] == {"offered": len(slides), "used": 1}
    assert doc["reading_speed"]["cues"] == len(doc["cues"])
    # the job can switch both off
    FakeEngine.screens.clear()
    off = run_stages(ctx, ["subtitles"], {"subtitles": {"screen_vocabulary": False, "shot_changes": False}})
    assert FakeEngine.screens[-1] == [] and off["subtitles"].summary["shot_changes"] == 0


def test_subtitles_stage_writes_files_and_reports(samples: Path, tmp_path: Path) -> None:
    states: list[tuple[str, str]] = []
    ctx = StageContext(media_path=samples / "lesson.mp4", out_dir=tmp_path, models=FakeModels())  # type: ignore[arg-type]
    outcomes = run_stages(ctx, ["subtitles"], {}, lambda n, s, o: states.append((n, s)))
    assert states == [("subtitles", "running"), ("subtitles", "done")]
    outcome = outcomes["subtitles"]
    assert outcome.status == StageStatus.SUCCEEDED
    assert outcome.summary["words"] == 12
    assert outcome.summary["sampled_segments"] == 1  # its one segment came from a fallback temperature
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(outcome.files)
    assert subtitles.SUBTITLES_JSON in outcome.files
    assert FakeModels.engines[-1] == outcome.summary["engine"] == "faster-whisper"


def test_the_stage_loads_the_engine_the_job_asks_for(samples: Path, tmp_path: Path) -> None:
    ctx = StageContext(media_path=samples / "lesson.mp4", out_dir=tmp_path, models=FakeModels())  # type: ignore[arg-type]
    outcome = run_stages(ctx, ["subtitles"], {"subtitles": {"engine": "openai-whisper", "shot_changes": False}})
    assert FakeModels.engines[-1] == outcome["subtitles"].summary["engine"] == "openai-whisper"


def test_subtitles_stage_skips_without_audio(samples: Path, tmp_path: Path) -> None:
    ctx = StageContext(media_path=samples / "silent.mp4", out_dir=tmp_path, models=FakeModels())  # type: ignore[arg-type]
    outcome = run_stages(ctx, ["subtitles"], {})["subtitles"]
    assert outcome.status == StageStatus.SKIPPED
    assert outcome.reason and "no speech track" in outcome.reason


class LiveFakeEngine(FakeEngine):
    """Takes the on-screen text as the real ``ocr`` stage hands it: a live feed when they overlap."""

    def transcribe(self, audio: Any, options: AsrOptions, progress: Any = None, screen: Any = ()) -> Transcript:
        if isinstance(screen, ScreenFeed):
            screen = screen.wait(float("inf"), lambda: progress(0.0))[0]
        return super().transcribe(audio, options, progress, screen)


class RealOcrModels(FakeModels):
    threads: ClassVar[list[tuple[str, int]]] = []

    def whisper(self, name: str, engine: str = "faster-whisper", threads: int = 0) -> FakeEngine:
        self.threads.append(("asr", threads))
        return LiveFakeEngine()

    def ocr(self, engine: str, threads: int = 0) -> Any:
        from pipelines.models import DEFAULT_MODEL_DIR
        from pipelines.ocr.engines import load_engine

        self.threads.append(("ocr", threads))
        return load_engine(engine, DEFAULT_MODEL_DIR, threads=threads)


@pytest.mark.slow
def test_beside_the_real_ocr_stage_the_same_text_is_offered(samples: Path, tmp_path: Path) -> None:
    """Overlapped (one pass over the file, the text handed over live) or one after the other,
    subtitles is offered the same on-screen text: the events the ocr stage wrote."""
    offered = {}
    for overlap in (False, True):
        FakeEngine.screens.clear()
        out = tmp_path / str(overlap)
        ctx = StageContext(media_path=samples / "lesson.mp4", out_dir=out, models=RealOcrModels())  # type: ignore[arg-type]
        outcomes = run_stages(ctx, ["subtitles", "ocr"], {"subtitles": {"shot_changes": False}}, overlap=overlap,
                              threads=2)
        assert outcomes["subtitles"].status is outcomes["ocr"].status is StageStatus.SUCCEEDED
        events = json.loads((out / "ocr.json").read_text())["events"]
        assert [e.text for e in FakeEngine.screens[-1]] == [e["text"] for e in events] != []
        offered[overlap] = json.loads((out / subtitles.SUBTITLES_JSON).read_text())["vocabulary"]
    assert offered[True] == offered[False]
    assert RealOcrModels.threads[-2:] in ([("ocr", 1), ("asr", 1)], [("asr", 1), ("ocr", 1)])  # 2 threads shared


@pytest.mark.slow
def test_beside_the_real_ocr_stage_shot_changes_come_from_its_frames(samples: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Overlapped, the cuts are found in the frames OCR decodes (no second read of the file),
    at the slide changes the file's own read finds."""
    from pipelines.shots import detect_shot_changes

    expected = detect_shot_changes(samples / "lesson.mp4")

    def no_second_read(path: Path) -> tuple[float, ...]:
        raise AssertionError("the video was read a second time for its shot changes")

    monkeypatch.setattr(subtitles, "detect_shot_changes", no_second_read)
    ctx = StageContext(media_path=samples / "lesson.mp4", out_dir=tmp_path, models=RealOcrModels())  # type: ignore[arg-type]
    outcomes = run_stages(ctx, ["subtitles", "ocr"], {"subtitles": {"screen_vocabulary": False}}, threads=2)
    assert outcomes["subtitles"].status is StageStatus.SUCCEEDED
    assert outcomes["subtitles"].summary["shot_changes_from"] == subtitles.SHOTS_ONE_PASS
    found = json.loads((tmp_path / subtitles.SUBTITLES_JSON).read_text())["shot_changes"]
    assert len(found) == len(expected) > 0
    assert found == pytest.approx(expected, abs=0.5 / 24)


class BilingualEngine(FakeEngine):
    """English, then German heard in a decode of its own, then speech it gave no text for."""

    def transcribe(self, audio: Any, options: AsrOptions, progress: Any = None, screen: Any = ()) -> Transcript:
        english = tuple(Word(0.5 + i * 0.4, 0.8 + i * 0.4, f" word{i}", 0.9) for i in range(6))
        german = tuple(Word(4.5 + i * 0.4, 4.8 + i * 0.4, f" wort{i}", 0.9) for i in range(3))
        segments = (Segment(0.5, 2.8, "", english), Segment(4.5, 5.6, "", german, language="de"))
        return Transcript(segments, "en", 0.97, 6.0, "fake", unheard_restored=1, unheard=((6.5, 9.0), (9.5, 11.5)))


def test_cues_in_another_language_and_speech_without_text_are_reported(samples: Path, tmp_path: Path) -> None:
    class Models(FakeModels):
        def whisper(self, name: str, engine: str = "faster-whisper", threads: int = 0) -> Any:
            return Hearing("en", 0.99) if name == "whisper-base" else BilingualEngine()  # the unheard: English

    ctx = StageContext(media_path=samples / "lesson.mp4", out_dir=tmp_path, models=Models())  # type: ignore[arg-type]
    summary = run_stages(ctx, ["subtitles"], {"subtitles": {"shot_changes": False}})["subtitles"].summary
    doc = json.loads((tmp_path / subtitles.SUBTITLES_JSON).read_text())
    assert [c["language"] for c in doc["cues"]] == ["", "de"] and doc["language"] == "en"
    assert summary["other_languages"] == {"de": 1} and summary["unheard_restored"] == 1
    assert summary["unheard_speech_s"] == 4.5 and summary["unheard_speech"] == [[6.5, 9.0], [9.5, 11.5]]
    assert doc["unheard"] == [[6.5, 9.0], [9.5, 11.5]] and "language_doubt" not in summary



class Detecting(FakeEngine):
    """Language auto: detects ``language`` at ``probability`` and writes a few words in it."""

    def __init__(self, language: str, probability: float, words: int = 4) -> None:
        self.language, self.probability, self.words = language, probability, words

    def transcribe(self, audio: Any, options: AsrOptions, progress: Any = None, screen: Any = ()) -> Transcript:
        words = tuple(Word(0.5 + i * 0.6, 0.9 + i * 0.6, f" słowo{i}", 0.8) for i in range(self.words))
        segments = (Segment(0.5, 3.0, "", words),) if words else ()
        return Transcript(segments, self.language, self.probability, 6.0, "fake")


@pytest.mark.parametrize(("probability", "words", "reported"), [(0.27, 4, True), (0.84, 4, False), (0.27, 0, False)])
def test_a_language_detected_unsurely_is_reported(samples: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                   probability: float, words: int, reported: bool) -> None:
    """A real Korean drama line, the language left to Whisper, was heard as Polish at 0.27 and
    Polish subtitles written without a word."""
    class Models(FakeModels):
        def whisper(self, name: str, engine: str = "faster-whisper", threads: int = 0) -> Any:
            return Detecting("pl", probability, words)

    ctx = StageContext(media_path=samples / "lesson.mp4", out_dir=tmp_path, models=Models())  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        summary = run_stages(ctx, ["subtitles"], {"subtitles": {"shot_changes": False, "language": "auto"}}
                             )["subtitles"].summary
    if reported:
        assert summary["language_unsure"] == {"heard": "pl", "probability": probability}
        assert "unsure which language" in caplog.text and "heard pl at only 0.27" in caplog.text
    else:
        assert "language_unsure" not in summary and "unsure which language" not in caplog.text
    # with no cue, no share of cues is within reading speed (it said 0.0)
    assert ("within_reading_speed" in summary) == bool(words)


class UnsureEngine(FakeEngine):
    """English-only, on speech in another language: confident-looking words it gives 0.3."""

    multilingual = False

    def transcribe(self, audio: Any, options: AsrOptions, progress: Any = None, screen: Any = ()) -> Transcript:
        words = tuple(Word(0.5 + i * 0.6, 0.9 + i * 0.6, f" word{i}", 0.3) for i in range(6))
        return Transcript((Segment(0.5, 4.0, "", words),), "en", 1.0, 6.0, "fake")


class Hearing:
    """A multilingual model that hears ``language`` (how sure: ``probability``) in what it is given."""

    multilingual = True
    heard: ClassVar[list[int]] = []

    def __init__(self, language: str, probability: float, probabilities: dict[str, float] | None = None) -> None:
        self.found = DecodeInfo(language, probability, probabilities or {})

    def detect_language(self, audio: Any) -> DecodeInfo:
        self.heard.append(len(audio))
        return self.found


def test_speech_that_sounds_like_another_language_is_reported(samples: Path, tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    class Models(FakeModels):
        installed = True
        hearing = Hearing("zh", 0.97)

        def whisper(self, name: str, engine: str = "faster-whisper", threads: int = 0) -> Any:
            if name == "whisper-base":
                if not self.installed:
                    raise ModelNotInstalledError("whisper-base is not installed: run lessonlens models install")
                return self.hearing
            return UnsureEngine()

    ctx = StageContext(media_path=samples / "lesson.mp4", out_dir=tmp_path, models=Models())  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        summary = run_stages(ctx, ["subtitles"], {"subtitles": {"shot_changes": False}})["subtitles"].summary
    assert summary["language_doubt"] == {"asked": "en", "heard": "zh", "probability": 0.97, "sure": True, "at": [0.25, 4.25]}
    assert json.loads((tmp_path / subtitles.SUBTITLES_JSON).read_text())["language_doubt"]["heard"] == "zh"
    assert "at 0.2-4.2 s sounds like zh (0.97), not en" in caplog.text and "language auto" in caplog.text
    assert Hearing.heard[-1] == 4 * 16000  # the words heard unsurely (3.5 s), grown to 4 s about their middle
    # unsure of another language (with the one asked likely enough, or not known), or hearing the
    # one asked: nothing reported
    for found in (("zh", 0.5), ("zh", 0.5, {"zh": 0.5, "en": 0.4}), ("en", 0.99)):
        Models.hearing = Hearing(*found)  # type: ignore[arg-type]
        assert "language_doubt" not in run_stages(ctx, ["subtitles"], {"subtitles": {"shot_changes": False}}
                                                  )["subtitles"].summary
    # unsure which language it is, but sure it is not the one asked: reported, unsure
    Models.hearing = Hearing("pl", 0.13, {"pl": 0.13, "ko": 0.06, "en": 0.03})
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        summary = run_stages(ctx, ["subtitles"], {"subtitles": {"shot_changes": False}})["subtitles"].summary
    assert summary["language_doubt"] == {"asked": "en", "heard": "pl", "probability": 0.13, "asked_probability": 0.03,
                                         "sure": False, "at": [0.25, 4.25]}
    assert "does not sound like en (the multilingual model's best guess, unsure: pl at 0.13), not en (0.03)" in caplog.text
    # no multilingual model: said so, nothing else
    Models.installed = False
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        outcome = run_stages(ctx, ["subtitles"], {"subtitles": {"shot_changes": False}})["subtitles"]
    assert outcome.status is StageStatus.SUCCEEDED and "language_doubt" not in outcome.summary
    assert "no multilingual model is installed" in caplog.text


def test_words_heard_surely_are_not_doubted(samples: Path, tmp_path: Path) -> None:
    class Models(FakeModels):
        def whisper(self, name: str, engine: str = "faster-whisper", threads: int = 0) -> Any:
            if name == "whisper-base":
                raise AssertionError("the language was asked of speech heard surely")
            return FakeEngine()  # words of 0.9

    ctx = StageContext(media_path=samples / "lesson.mp4", out_dir=tmp_path, models=Models())  # type: ignore[arg-type]
    assert "language_doubt" not in run_stages(ctx, ["subtitles"], {})["subtitles"].summary


@pytest.mark.slow
def test_chinese_speech_transcribed_as_english_is_reported(testdata: Path, tmp_path: Path) -> None:
    """Real Chinese speech (a film clip) with the default language: tiny.en writes English words,
    whisper-base hears Chinese."""
    from app.model_cache import ModelCache
    from app.settings import Settings

    ctx = StageContext(media_path=testdata / "video" / "rvo_coldwar_zh.mp4", out_dir=tmp_path,
                       models=ModelCache(Settings()))
    summary = run_stages(ctx, ["subtitles"], {"subtitles": {"shot_changes": False}})["subtitles"].summary
    assert summary["language"] == "en" and summary["language_doubt"]["heard"] == "zh"
    assert summary["language_doubt"]["probability"] >= 0.8


@pytest.mark.slow
def test_a_short_korean_line_is_doubted_and_a_noisy_english_film_is_not(testdata: Path, tmp_path: Path) -> None:
    """Real speech, 4 s of Korean (a drama clip): tiny.en writes "Don't mind what you're doing."
    at a mean word probability of 0.43, and whisper-base, unsure which language it is, is sure it
    is not English. A noisy 1940 film's English (fast dialogue) is left alone."""
    from app.model_cache import ModelCache
    from app.settings import Settings

    models = ModelCache(Settings())
    korean = StageContext(media_path=testdata / "video" / "emk_kdrama_en.mp4", out_dir=tmp_path / "ko", models=models)
    doubt = run_stages(korean, ["subtitles"], {"subtitles": {"shot_changes": False}})["subtitles"].summary["language_doubt"]
    assert doubt["asked"] == "en" and doubt["heard"] != "en" and doubt["asked_probability"] < 0.05
    english = StageContext(media_path=testdata / "video" / "mdn_friday.mp4", out_dir=tmp_path / "en", models=models)
    assert "language_doubt" not in run_stages(english, ["subtitles"], {"subtitles": {"shot_changes": False}}
                                              )["subtitles"].summary
    # the language left to Whisper: it guesses unsurely (ko on one machine, another language on the
    # next: 4 s of speech decide it by a few hundredths), and says what it guessed and how unsurely
    auto = StageContext(media_path=testdata / "video" / "emk_kdrama_en.mp4", out_dir=tmp_path / "auto", models=models)
    summary = run_stages(auto, ["subtitles"], {"subtitles": {"shot_changes": False, "language": "auto"}}
                         )["subtitles"].summary
    unsure = summary["language_unsure"]
    assert unsure["heard"] == summary["language"] and unsure["probability"] < 0.4


def test_speech_left_without_text_is_asked_its_language(samples: Path, tmp_path: Path) -> None:
    """Words heard surely, then 3 s of speech without text: the model listens to those 3 s."""
    class Unheard(FakeEngine):
        multilingual = False

        def transcribe(self, audio: Any, options: AsrOptions, progress: Any = None, screen: Any = ()) -> Transcript:
            words = tuple(Word(0.5 + i * 0.4, 0.8 + i * 0.4, f" word{i}", 0.95) for i in range(4))
            return Transcript((Segment(0.5, 2.0, "", words),), "en", 1.0, 6.0, "fake", unheard=((3.0, 6.0),))

    class Models(FakeModels):
        def whisper(self, name: str, engine: str = "faster-whisper", threads: int = 0) -> Any:
            return Hearing("de", 0.99) if name == "whisper-base" else Unheard()

    ctx = StageContext(media_path=samples / "lesson.mp4", out_dir=tmp_path, models=Models())  # type: ignore[arg-type]
    summary = run_stages(ctx, ["subtitles"], {"subtitles": {"shot_changes": False}})["subtitles"].summary
    assert summary["language_doubt"] == {"asked": "en", "heard": "de", "probability": 0.99, "sure": True, "at": [2.5, 6.5]}
    assert Hearing.heard[-1] == 4 * 16000 and summary["unheard_speech_s"] == 3.0


def test_the_profile_follows_the_language_heard_unless_one_is_chosen(samples: Path, tmp_path: Path) -> None:
    class Models(FakeModels):
        def whisper(self, name: str, engine: str = "faster-whisper", threads: int = 0) -> Any:
            return Detecting("zh", 0.99)

    ctx = StageContext(media_path=samples / "lesson.mp4", out_dir=tmp_path, models=Models())  # type: ignore[arg-type]
    auto = run_stages(ctx, ["subtitles"], {"subtitles": {"shot_changes": False, "language": "auto"}})["subtitles"]
    assert auto.summary["profile"] == "netflix-zh"
    saved = json.loads((tmp_path / subtitles.SUBTITLES_JSON).read_text())
    assert saved["profile"] == "netflix-zh" and saved["profile_auto"] is True
    chosen = run_stages(ctx, ["subtitles"], {"subtitles": {"shot_changes": False, "language": "auto",
                                                           "profile": "netflix-en"}})["subtitles"]
    assert chosen.summary["profile"] == "netflix-en"
    assert json.loads((tmp_path / subtitles.SUBTITLES_JSON).read_text())["profile_auto"] is False
    with pytest.raises(OptionsError, match="Valid profiles: auto, bbc"):
        subtitles.STAGE.parse({"profile": "cinema"})
