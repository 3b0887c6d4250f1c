"""Stage ``subtitles``: speech to style-checked subtitles (Whisper), in SRT, WebVTT and JSON.

With video, cues are timed to the shot changes (found while Whisper runs, or in the frames the
``ocr`` stage decodes when it runs beside this one); when the ``ocr``
stage ran first, the text it read is offered to Whisper as vocabulary, stretch by stretch.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from app.jobs import StageStatus
from app.stages import ocr
from app.stages.context import (
    Stage,
    StageContext,
    StageOutcome,
    StageView,
    read_json,
    write_atomic,
    write_json,
)
from pipelines import media
from pipelines.asr import MULTILINGUAL_MODEL, AsrEngine, AsrOptions, Transcript
from pipelines.asr_blocks import transcribe_blocks
from pipelines.asr_guards import doubted_speech
from pipelines.demux import AUDIO, SHOTS
from pipelines.exceptions import MediaError, ModelNotInstalledError, NoAudioError, OptionsError
from pipelines.ocr.tracking import TextEvent
from pipelines.screen_feed import ScreenFeed
from pipelines.shots import ShotTracker, detect_shot_changes
from pipelines.subtitle_formats import to_srt, to_vtt
from pipelines.subtitles import PROFILES, StyleProfile, build_cues, profile_for

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

NAME = "subtitles"
SUBTITLES_SRT = "subtitles.srt"
SUBTITLES_VTT = "subtitles.vtt"
SUBTITLES_JSON = "subtitles.json"
TRANSCRIPT_TXT = "transcript.txt"
DEFAULT_PROFILE = "netflix-en"  # where no language is known (the fit's reading mode, a translation)
AUTO_PROFILE = "auto"  # the subtitles' default: Netflix's profile for the language heard (``profile_for``)


@dataclass(frozen=True)
class SubtitlesOptions:
    """Per-job options of stage ``subtitles``: how to transcribe (see ``AsrOptions``: the decoding
    guards too) and the style.

    Attributes:
        profile: a style profile name from ``pipelines.subtitles.PROFILES``, or ``auto`` (the
            default): Netflix's for the language heard (Chinese, Japanese, Korean), else netflix-en.
        profile_overrides: StyleProfile fields to change, e.g. ``{"max_line_chars": 37}``.
        screen_vocabulary: offer Whisper the on-screen text the ``ocr`` stage read (when it ran).
        shot_changes: with video, time cues to the shot changes.
    """

    engine: str = AsrOptions.engine
    model: str = AsrOptions.model
    language: str = AsrOptions.language
    beam_size: int = AsrOptions.beam_size
    vad_filter: bool = AsrOptions.vad_filter
    initial_prompt: str | None = AsrOptions.initial_prompt
    hotwords: str | None = AsrOptions.hotwords
    condition_on_previous_text: bool = AsrOptions.condition_on_previous_text
    compression_ratio_threshold: float = AsrOptions.compression_ratio_threshold
    log_prob_threshold: float = AsrOptions.log_prob_threshold
    no_speech_threshold: float = AsrOptions.no_speech_threshold
    prompt_reset_on_temperature: float = AsrOptions.prompt_reset_on_temperature
    hallucination_silence_threshold: float | None = AsrOptions.hallucination_silence_threshold
    repetition_check: bool = AsrOptions.repetition_check
    fit_words_to_speech: bool = AsrOptions.fit_words_to_speech
    profile: str = AUTO_PROFILE
    profile_overrides: Mapping[str, Any] | None = None
    screen_vocabulary: bool = True
    shot_changes: bool = True

    def __post_init__(self) -> None:
        self.asr()
        self.style()

    def asr(self) -> AsrOptions:
        """The ASR options (raises OptionsError for a bad combination)."""
        mine = {f.name for f in fields(self)}
        return AsrOptions(**{f.name: getattr(self, f.name) for f in fields(AsrOptions) if f.name in mine})

    def style(self, language: str = "") -> StyleProfile:
        """The style profile for speech in ``language``, overrides applied (raises OptionsError)."""
        if self.profile != AUTO_PROFILE and self.profile not in PROFILES:
            raise OptionsError(f"Unknown subtitle profile {self.profile!r}. Valid profiles: "
                               f"{', '.join([AUTO_PROFILE, *sorted(PROFILES)])}.")
        profile = profile_for(language) if self.profile == AUTO_PROFILE else PROFILES[self.profile]
        return profile.with_overrides(dict(self.profile_overrides)) if self.profile_overrides else profile


def _no_speech(ctx: StageContext, reason: str) -> StageOutcome:
    write_json(ctx.out_dir / SUBTITLES_JSON, {"status": "no speech track", "cues": []})
    return StageOutcome(StageStatus.SKIPPED, {"speech": "no speech track"}, (SUBTITLES_JSON,), reason=reason)


def _screen_text(ctx: StageContext, options: SubtitlesOptions) -> Sequence[TextEvent] | ScreenFeed:
    """The on-screen text of the ``ocr`` stage, when vocabulary is wanted: its feed while it runs
    beside this stage, else the text it wrote when it ran before."""
    if not options.screen_vocabulary:
        return []
    if ctx.screen is not None:
        return ctx.screen
    return ocr.events_from_json(read_json(ctx.out_dir / ocr.OCR_JSON).get("events") or [])


def _shots(ctx: StageContext) -> tuple[float, ...]:
    try:
        return detect_shot_changes(ctx.media_path)
    except MediaError as err:  # a video stream that cannot be decoded: time to speech alone
        log.warning("shot changes not found: %s", err)
        return ()


SHOTS_ONE_PASS = "the frames OCR decoded"  # where the shot changes were found (``shot_changes_from``)
SHOTS_READ = "the video read for them"


def _tracked_shots(ctx: StageContext, tracker: ShotTracker) -> tuple[tuple[float, ...], str]:
    """The shot changes found in the frames OCR decoded (waits for it to decode the last);
    when it stopped before the end, read from the file. With where they were found."""
    cuts = tracker.cuts(lambda: ctx.progress(0.9))
    if cuts is None:
        log.info("shot changes: the one pass stopped before the end; reading the video again")
        return _shots(ctx), SHOTS_READ
    return cuts, SHOTS_ONE_PASS


LANGUAGE_HEARD_SURE = 0.8  # how sure the multilingual model must be to say the language asked is wrong
# ... or how unlikely it must find the language asked, however unsure of another: on 2 s windows of
# the shared real clips (whisper-base), English speech (65 windows, a noisy 1940 film included) was
# never under 0.35 English; Korean, Russian, Japanese, Chinese, German, French, Spanish and
# Portuguese speech was under 0.05 English in 61 of 79 windows (a 1.8 s Korean line: English 0.03,
# its best guess Polish at 0.13).
LANGUAGE_ASKED_UNLIKELY = 0.05
LANGUAGE_CHECK_S = 30.0  # the speech it listens to
# ... listening to this much at least (the doubted stretch grown about its middle): in 0.6 s of faint
# Chinese it heard Chinese at 0.19 and English likely enough (see the README)
LANGUAGE_LISTEN_S = 4.0


# With the language left to Whisper (auto), how sure its detection must be to go unremarked. On the
# shared real recordings with speech (whisper-base on their first 30 s of speech, as a job detects):
# 48 of 51 detected at 0.84 or more, every one right (Japanese anime speech 0.87); the other three
# under 0.4: a Korean drama line heard as Polish (0.27), faint Chinese heard as Korean (0.33) and a
# noisy 1940 film's English (0.30: right, but a guess). Subtitles in the wrong language were written
# without a word.
LANGUAGE_AUTO_UNSURE = 0.4


def _language_unsure(options: AsrOptions, transcript: Transcript) -> dict[str, Any] | None:
    """With the language left to Whisper, ``{"heard", "probability"}`` when its detection was
    unsure (under ``LANGUAGE_AUTO_UNSURE``) and it wrote subtitles in that language."""
    if options.language != "auto" or not transcript.segments or transcript.language_probability >= LANGUAGE_AUTO_UNSURE:
        return None
    log.warning("Whisper was unsure which language the speech is in: it heard %s at only %.2f and wrote the "
                "subtitles in it; if the speech is in another language, transcribe it again with that language",
                transcript.language, transcript.language_probability)
    return {"heard": transcript.language, "probability": round(transcript.language_probability, 3)}


def _language_heard(ctx: StageContext, engine: AsrEngine, audio: np.ndarray, options: AsrOptions,
                    transcript: Transcript) -> dict[str, Any] | None:
    """With a language given, the language the multilingual model hears where the transcript
    doubts it most (``asr_guards.doubted_speech``: speech left without text, or words that sound
    unlike the language asked; its first 30 s), if it is sure that it is another one:
    ``{"asked", "heard", "probability", "at"}``. A model decoding speech in a language it was not
    told gives confident-looking nonsense, or nothing. ``audio``: the first block's."""
    if options.language == "auto":
        return None
    rate = media.SAMPLE_RATE
    length = len(audio) / rate  # the speech of later blocks is not at hand: its doubts are not asked
    at = doubted_speech(transcript.segments, [(a, min(b, length)) for a, b in transcript.unheard if a < length - 1.0])
    if at is None or at[0] >= length - 1.0:
        return None
    if at[1] - at[0] < LANGUAGE_LISTEN_S:
        start = max(0.0, min((at[0] + at[1] - LANGUAGE_LISTEN_S) / 2, length - LANGUAGE_LISTEN_S))
        at = (start, min(length, start + LANGUAGE_LISTEN_S))
    if not getattr(engine, "multilingual", False):
        try:
            engine = ctx.models.whisper(MULTILINGUAL_MODEL, options.engine, threads=ctx.threads)
        except ModelNotInstalledError as err:
            log.warning("the speech at %.1f-%.1f s may not be in %s, but no multilingual model is installed to tell "
                        "which language it is (%s)", at[0], at[1], options.language, err)
            return None
    found = engine.detect_language(audio[int(at[0] * rate) : int(min(at[1], at[0] + LANGUAGE_CHECK_S) * rate)])
    asked = found.probabilities.get(options.language) if found.probabilities else None
    unlikely = asked is not None and asked < LANGUAGE_ASKED_UNLIKELY
    if found.language == options.language or (found.language_probability < LANGUAGE_HEARD_SURE and not unlikely):
        log.info("the speech at %.1f-%.1f s was heard unsurely in %s; the multilingual model hears %s (%.2f): left "
                 "as asked", at[0], at[1], options.language, found.language, found.language_probability)
        return None
    sure = found.language_probability >= LANGUAGE_HEARD_SURE
    log.warning("the speech at %.1f-%.1f s %s, not %s%s, which it was transcribed as: its subtitles there are likely "
                "wrong or missing; transcribe it with language auto%s", at[0], at[1],
                f"sounds like {found.language} ({found.language_probability:.2f})" if sure else
                f"does not sound like {options.language} (the multilingual model's best guess, unsure: "
                f"{found.language} at {found.language_probability:.2f})",
                options.language, f" ({asked:.2f})" if asked is not None else "",
                f" (or {found.language})" if sure else " (or the language it is in)")
    return {"asked": options.language, "heard": found.language, "probability": round(found.language_probability, 3),
            **({"asked_probability": round(asked, 3)} if asked is not None else {}), "sure": sure,
            "at": [round(at[0], 3), round(at[1], 3)]}


def run(ctx: StageContext, options: SubtitlesOptions) -> StageOutcome:
    """Transcribe, segment into cues by the style profile, write the subtitle files."""
    asr_options = options.asr()
    info = ctx.info or media.probe(ctx.media_path)
    if not info.has_audio:
        return _no_speech(ctx, "no speech track: the media has no audio stream")
    # With OCR decoding the frames in the one pass, shot changes are found in them; else they
    # are read from the file while Whisper works.
    wants_shots = options.shot_changes and info.has_video
    tracker = ctx.media.shots() if ctx.media is not None and wants_shots else None
    if ctx.media is not None and not wants_shots:
        ctx.media.release(SHOTS)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    decoding = [True]

    def decoded(fraction: float) -> None:  # the first block's decode is ~5 % of the stage
        if decoding[0]:
            ctx.progress(0.05 * fraction)

    try:
        # The audio comes in blocks cut at pauses (memory holds a block, whatever the duration);
        # its decode reports let a cancel stop it. With OCR running beside this stage, the one
        # pass over the file reads both (``pipelines.demux``).
        chunks = (ctx.media.audio_chunks(decoded) if ctx.media is not None
                  else media.iter_audio(ctx.media_path, progress=decoded))
        blocks = media.audio_blocks(chunks)
        first = next(blocks)
    except NoAudioError:
        return _no_speech(ctx, "no speech track: the audio stream holds no samples")
    decoding[0] = False
    timings["decode_s"] = time.monotonic() - t0  # to the first block: all of the audio up to 15 min
    ctx.progress(0.05)

    engine = ctx.models.whisper(asr_options.resolved_model(), asr_options.engine, threads=ctx.threads)
    screen = _screen_text(ctx, options)
    with ThreadPoolExecutor(1) as pool:  # decoding video frames overlaps Whisper's work
        shots: Future[tuple[float, ...]] | None = pool.submit(_shots, ctx) if wants_shots and not tracker else None
        t1 = time.monotonic()
        transcript = transcribe_blocks(engine, itertools.chain([first], blocks), asr_options,
                                       progress=lambda f: ctx.progress(0.05 + 0.85 * f), screen=screen,
                                       duration=info.duration)
        timings["asr_s"] = time.monotonic() - t1
        cuts, cuts_from = ((shots.result(), SHOTS_READ) if shots is not None
                           else _tracked_shots(ctx, tracker) if tracker is not None else ((), ""))
        timings["shots_wait_s"] = time.monotonic() - t1 - timings["asr_s"]

    t2 = time.monotonic()
    heard = _language_heard(ctx, engine, first, asr_options, transcript)
    timings["language_check_s"] = time.monotonic() - t2
    t2 = time.monotonic()
    profile = options.style(transcript.language)  # auto: the language's own, now it is known
    result = build_cues(transcript, profile, cuts)
    write_atomic(ctx.out_dir / SUBTITLES_SRT, to_srt(result.cues))
    write_atomic(ctx.out_dir / SUBTITLES_VTT, to_vtt(result.cues))
    write_json(ctx.out_dir / SUBTITLES_JSON, {**asdict(result), "profile_auto": options.profile == AUTO_PROFILE,
                                              **({"language_doubt": heard} if heard else {})})
    write_atomic(ctx.out_dir / TRANSCRIPT_TXT, result.text + "\n")
    timings["segment_write_s"] = time.monotonic() - t2
    ctx.progress(1.0)
    flagged = sum(1 for c in result.cues if c.flags)
    summary: dict[str, Any] = {
        "language": result.language,
        "language_probability": round(result.language_probability, 3),
        "model": result.model,
        "engine": asr_options.engine,
        "profile": profile.name,
        "duration_s": round(info.duration, 3),
        "cues": len(result.cues),
        "flagged_cues": flagged,
        "words": sum(len(c.words) for c in result.cues),
        "loops_repaired": transcript.loops_repaired,
        "stretches_restored": transcript.stretches_restored,
        "unheard_restored": transcript.unheard_restored,
        # Decoded at a fallback temperature, by sampling: a run of the same job may read these
        # differently (CTranslate2 seeds each of its threads at random).
        "sampled_segments": sum(1 for seg in transcript.segments if seg.temperature > 0),
        "shot_changes": len(cuts),
        **({"shot_changes_from": cuts_from} if cuts_from else {}),  # which: an operator's question when they differ
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    if result.reading_speed is not None and result.reading_speed.cues:  # none to read: not 0 %
        summary["within_reading_speed"] = round(result.reading_speed.within / max(1, result.reading_speed.cues), 3)
    if result.vocabulary:
        summary["vocabulary"] = {"offered": sum(len(w.offered) for w in result.vocabulary),
                                 "used": sum(len(w.used) for w in result.vocabulary)}
    other = Counter(c.language for c in result.cues if c.language)
    if other:  # cues heard in another language than the transcript's (language auto)
        summary["other_languages"] = dict(other.most_common())
    if result.unheard:  # speech Whisper gave no text for, even alone: a person should listen
        summary["unheard_speech_s"] = round(sum(b - a for a, b in result.unheard), 1)
        summary["unheard_speech"] = [[a, b] for a, b in result.unheard]
    if heard:  # the speech sounds like another language than the one asked: the cues are likely wrong
        summary["language_doubt"] = heard
    unsure = _language_unsure(asr_options, transcript)
    if unsure:  # the language detected may be wrong, and the cues with it
        summary["language_unsure"] = unsure
    if not result.cues:
        summary["speech"] = "no speech detected"
    log.info("subtitles: %s cues (%s flagged), language %s%s, %d segments decoded at a fallback temperature, "
             "asr %.1f s for %.1f s of media%s", len(result.cues), flagged, result.language,
             "".join(f", {n} cues in {code}" for code, n in other.most_common()),
             summary["sampled_segments"], timings["asr_s"], info.duration,
             f"; {summary['unheard_speech_s']} s of speech without text" if result.unheard else "")
    return StageOutcome(StageStatus.SUCCEEDED, summary,
                        (SUBTITLES_SRT, SUBTITLES_VTT, SUBTITLES_JSON, TRANSCRIPT_TXT))


STAGE = Stage(NAME, lambda: SubtitlesOptions, run, label="Subtitles (speech to text)",
              description="Speech to style-checked subtitles (Whisper).", uses=(ocr.NAME,), overlaps=(ocr.NAME,),
              reads=(AUDIO, SHOTS),
              models=lambda options: (options.asr().weights(),),
              view=StageView("transcript", data=SUBTITLES_JSON, track=SUBTITLES_VTT))
