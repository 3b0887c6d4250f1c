"""Stage ``fit``: shorten over-long subtitle cues to fit their time slots (timings unchanged)."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from app.jobs import StageStatus
from app.stages import subtitles
from app.stages.context import (
    Stage,
    StageContext,
    StageOutcome,
    StageView,
    read_json,
    write_atomic,
    write_json,
)
from app.stages.subtitles import AUTO_PROFILE
from pipelines.exceptions import OptionsError, SubtitleFormatError

if TYPE_CHECKING:
    from pipelines.fit.subtitle_file import SubtitleFitOptions

log = logging.getLogger(__name__)

NAME = "fit"
FIT_REPORT_JSON = "fit_report.json"
FITTED_STEM = "subtitles.fit"  # + ".srt" or ".vtt", the format of the fitted file


@dataclass(frozen=True)
class FitStageOptions:
    """Per-job options of stage ``fit`` (the fields of ``SubtitleFitOptions`` a job may set).

    Attributes:
        subtitles: the SRT or WebVTT text to fit (e.g. a translation), with cues; None: this
            job's own subtitles.
        language: the language of the text, a code the fit knows (``pipelines.fit.languages``);
            None: the language the subtitles stage detected (English when it did not run).
        mode, profile, syllables_per_second, similarity_floor, lm: as in ``SubtitleFitOptions``
            (defaults the same; ``pipelines.fit`` is not imported by the API to repeat them).
    """

    subtitles: str | None = None
    mode: str = "reading"
    language: str | None = None
    profile: str = AUTO_PROFILE
    syllables_per_second: float | None = None
    similarity_floor: float = 0.8
    lm: str = "auto"

    def __post_init__(self) -> None:
        from pipelines.fit.languages import fit_language
        from pipelines.fit.subtitle_file import read_subtitles

        if self.subtitles is not None:  # checked at submit, not once Whisper has run
            if not isinstance(self.subtitles, str):
                raise OptionsError("fit option 'subtitles' must be the text of an SRT or WebVTT file.")
            try:
                cues, _ = read_subtitles(self.subtitles)
            except SubtitleFormatError as err:
                raise OptionsError(f"fit.subtitles: {err}") from None
            if not len(cues):
                raise OptionsError("fit.subtitles has no cues: nothing to fit. Give the text of an .srt or "
                                   ".vtt file with cues, or leave it out to fit this job's own subtitles.")
        if self.language is not None:
            fit_language(self.language)  # raises UnsupportedLanguageError naming the supported codes
        self.fit_options(self.language).cue_options(1.0)  # the pipeline checks ranges and choices

    def fit_options(self, detected_language: str | None, job_profile: str | None = None) -> SubtitleFitOptions:
        """The pipeline's options; ``detected_language`` fills in a language left unset. Profile
        ``auto``: ``job_profile`` (the one the job's own subtitles were made to), else Netflix's for
        the language (a Japanese job's cues at 13 characters a line and 4 a second, not English's)."""
        from pipelines.fit.subtitle_file import SubtitleFitOptions
        from pipelines.subtitles import PROFILES, profile_for

        language = self.language or detected_language or "en"
        profile = self.profile
        if profile == AUTO_PROFILE:
            profile = job_profile if job_profile in PROFILES else profile_for(language).name
        return SubtitleFitOptions(
            mode=self.mode,  # type: ignore[arg-type]  # checked by FitOptions
            language=language,
            profile=profile,
            syllables_per_second=self.syllables_per_second,
            similarity_floor=self.similarity_floor,
            lm=self.lm,  # type: ignore[arg-type]  # checked by FitOptions
        )


def run(ctx: StageContext, options: FitStageOptions) -> StageOutcome:
    """Fit the uploaded subtitles, or this job's own; write the fitted file and a report."""
    from pipelines.fit.subtitle_file import fit_subtitles

    transcript = read_json(ctx.out_dir / subtitles.SUBTITLES_JSON)
    detected = transcript.get("language")
    content, source = options.subtitles, "uploaded"
    languages: dict[int, str] = {}
    if content is None:
        srt = ctx.out_dir / subtitles.SUBTITLES_SRT
        if not srt.is_file():
            return StageOutcome(StageStatus.SKIPPED, {"fit": "nothing to fit"}, (),
                                reason="no subtitles to fit: the media has no speech track")
        content, source = srt.read_text(), subtitles.SUBTITLES_SRT
        if not content.strip():  # an audio track without speech (silence, a tone, music): no cues
            return StageOutcome(StageStatus.SKIPPED, {"fit": "nothing to fit"}, (),
                                reason="no subtitles to fit: no speech was heard in the audio")
        # the job's own cues spoken in another language are fitted in theirs (``Cue.language``)
        languages = {n: str(c["language"]) for n, c in enumerate(transcript.get("cues") or [], start=1)
                     if c.get("language")}
    fitter = ctx.models.fitter()
    own = source == subtitles.SUBTITLES_SRT
    result = fit_subtitles(content, options.fit_options(detected, transcript.get("profile") if own else None),
                           fitter, progress=ctx.progress,
                           languages=languages)
    name = f"{FITTED_STEM}.{'vtt' if result.format == 'vtt' else 'srt'}"
    write_atomic(ctx.out_dir / name, result.text)
    report = {"source": source, "format": result.format, "counts": result.counts,
              "cues": [asdict(c) for c in result.cues], "seconds": result.elapsed_s}
    write_json(ctx.out_dir / FIT_REPORT_JSON, report)
    summary: dict[str, Any] = {"source": source, **result.counts, "seconds": round(result.elapsed_s, 3)}
    log.info("fit: %s", ", ".join(f"{k} {v}" for k, v in result.counts.items()))
    return StageOutcome(StageStatus.SUCCEEDED, summary, (name, FIT_REPORT_JSON))


STAGE = Stage(NAME, lambda: FitStageOptions, run, needs=(subtitles.NAME,),
              label="Fit long cues to their time",
              description="Shorten over-long subtitle cues to fit their time slots.",
              view=StageView("fit", data=FIT_REPORT_JSON))
