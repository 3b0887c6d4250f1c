"""Stage ``subtitles``: speech to style-checked subtitles (Whisper), in SRT, WebVTT and JSON."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from app.jobs import StageStatus
from app.stages.context import Stage, StageContext, StageOutcome, StageView, write_atomic, write_json
from pipelines import media
from pipelines.asr import AsrOptions
from pipelines.exceptions import NoAudioError, OptionsError
from pipelines.subtitle_formats import to_srt, to_vtt
from pipelines.subtitles import PROFILES, StyleProfile, build_cues

log = logging.getLogger(__name__)

NAME = "subtitles"
SUBTITLES_SRT = "subtitles.srt"
SUBTITLES_VTT = "subtitles.vtt"
SUBTITLES_JSON = "subtitles.json"
TRANSCRIPT_TXT = "transcript.txt"
DEFAULT_PROFILE = "netflix-en"


@dataclass(frozen=True)
class SubtitlesOptions:
    """Per-job options of stage ``subtitles``: how to transcribe (see ``AsrOptions``) and the style.

    Attributes:
        profile: a style profile name from ``pipelines.subtitles.PROFILES``.
        profile_overrides: StyleProfile fields to change, e.g. ``{"max_line_chars": 37}``.
    """

    model: str = AsrOptions.model
    language: str = AsrOptions.language
    beam_size: int = AsrOptions.beam_size
    vad_filter: bool = AsrOptions.vad_filter
    initial_prompt: str | None = AsrOptions.initial_prompt
    hotwords: str | None = AsrOptions.hotwords
    profile: str = DEFAULT_PROFILE
    profile_overrides: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        self.asr()
        self.style()

    def asr(self) -> AsrOptions:
        """The ASR options (raises OptionsError for a bad combination)."""
        return AsrOptions(model=self.model, language=self.language, beam_size=self.beam_size,
                          vad_filter=self.vad_filter, initial_prompt=self.initial_prompt,
                          hotwords=self.hotwords)

    def style(self) -> StyleProfile:
        """The style profile, overrides applied (raises OptionsError)."""
        if self.profile not in PROFILES:
            raise OptionsError(
                f"Unknown subtitle profile {self.profile!r}. Valid profiles: {', '.join(sorted(PROFILES))}."
            )
        profile = PROFILES[self.profile]
        return profile.with_overrides(dict(self.profile_overrides)) if self.profile_overrides else profile


def _no_speech(ctx: StageContext, reason: str) -> StageOutcome:
    write_json(ctx.out_dir / SUBTITLES_JSON, {"status": "no speech track", "cues": []})
    return StageOutcome(StageStatus.SKIPPED, {"speech": "no speech track"}, (SUBTITLES_JSON,), reason=reason)


def run(ctx: StageContext, options: SubtitlesOptions) -> StageOutcome:
    """Transcribe, segment into cues by the style profile, write the subtitle files."""
    asr_options, profile = options.asr(), options.style()
    info = ctx.info or media.probe(ctx.media_path)
    if not info.has_audio:
        return _no_speech(ctx, "no speech track: the media has no audio stream")
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    try:
        audio = media.load_audio(ctx.media_path)
    except NoAudioError:
        return _no_speech(ctx, "no speech track: the audio stream holds no samples")
    timings["decode_s"] = time.monotonic() - t0
    ctx.progress(0.05)

    engine = ctx.models.whisper(asr_options.resolved_model())
    t1 = time.monotonic()
    transcript = engine.transcribe(audio, asr_options, progress=lambda f: ctx.progress(0.05 + 0.85 * f))
    timings["asr_s"] = time.monotonic() - t1

    t2 = time.monotonic()
    result = build_cues(transcript, profile)
    write_atomic(ctx.out_dir / SUBTITLES_SRT, to_srt(result.cues))
    write_atomic(ctx.out_dir / SUBTITLES_VTT, to_vtt(result.cues))
    write_json(ctx.out_dir / SUBTITLES_JSON, asdict(result))
    write_atomic(ctx.out_dir / TRANSCRIPT_TXT, result.text + "\n")
    timings["segment_write_s"] = time.monotonic() - t2
    ctx.progress(1.0)
    flagged = sum(1 for c in result.cues if c.flags)
    summary: dict[str, Any] = {
        "language": result.language,
        "language_probability": round(result.language_probability, 3),
        "model": result.model,
        "profile": profile.name,
        "duration_s": round(info.duration, 3),
        "cues": len(result.cues),
        "flagged_cues": flagged,
        "words": sum(len(c.words) for c in result.cues),
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    if not result.cues:
        summary["speech"] = "no speech detected"
    log.info("subtitles: %s cues (%s flagged), language %s, asr %.1f s for %.1f s of media",
             len(result.cues), flagged, result.language, timings["asr_s"], info.duration)
    return StageOutcome(StageStatus.SUCCEEDED, summary,
                        (SUBTITLES_SRT, SUBTITLES_VTT, SUBTITLES_JSON, TRANSCRIPT_TXT))


STAGE = Stage(NAME, lambda: SubtitlesOptions, run, label="Subtitles (speech to text)",
              description="Speech to style-checked subtitles (Whisper).",
              models=lambda options: (options.asr().resolved_model(),),
              view=StageView("transcript", data=SUBTITLES_JSON, track=SUBTITLES_VTT))
