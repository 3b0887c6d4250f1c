"""Merge checked target texts into the job: fitted target subtitles (and burned-in captions), a
report, on-screen texts.

Each cue's target is measured against the cue's own slot in the target language: reading mode
(the style profile's reading speed and lines) for subtitles, speaking mode (syllables at the
language's rate) for voice-over scripts. A target that does not fit goes through the
sentence fitter (``SentenceFitter.fit``: rules, trims, deletions, the LM where the language has one),
as the fit stage does; what still does not fit is kept, flagged with the rule it breaks.

On-screen texts are not rewritten (a UI label must match the translated software, not be
paraphrased); a target longer than its place is flagged for the translator.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from pipelines.fit.estimates import reading_estimate
from pipelines.fit.sentence import FitResult, SentenceFitter, resolve_profile
from pipelines.fit.subtitle_file import SubtitleFitOptions
from pipelines.linebreaks import wrap_lines
from pipelines.ocr.tracking import Box
from pipelines.reading import reading_chars
from pipelines.subtitles import Cue
from pipelines.translation.targets import Targets
from pipelines.translation.units import TranslationDocument, TranslationUnit

CueStatus = Literal["ok", "shortened", "over"]


@dataclass(frozen=True)
class CueReport:
    """What happened to one cue's translation.

    Attributes:
        target: the translator's text; ``text`` is what the subtitles show.
        status: ``ok`` (fits as translated), ``shortened`` (rewritten to fit), ``over`` (nothing
            acceptable fits; ``flags`` names the rules it breaks).
        estimate_before / estimate_after: reading (or speaking) time in seconds.
        similarity: meaning kept by the rewrite (1.0 when unchanged).
        method: which candidate won (``original``, ``rules:phrases``, ``trim``, ``lm``...).
    """

    id: str
    index: int
    start: float
    end: float
    slot_s: float
    max_chars: int
    target: str
    text: str
    lines: tuple[str, ...]
    status: CueStatus
    chars_before: int
    chars_after: int
    estimate_before: float
    estimate_after: float
    similarity: float
    method: str
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScreenReport:
    """An on-screen text's translation and whether it fits its place."""

    id: str
    scene: int | None
    start: float
    end: float
    box: Box | None
    source: str
    text: str
    max_chars: int
    fits: bool
    translated: bool


@dataclass(frozen=True)
class MergeResult:
    """The target-language subtitles (cues ready for the SRT/WebVTT writers) and the reports."""

    language: str
    mode: str
    cues: tuple[Cue, ...]
    report: tuple[CueReport, ...]
    screen: tuple[ScreenReport, ...]
    elapsed_s: float
    captions: tuple[Cue, ...] = ()
    caption_report: tuple[CueReport, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        """Cues ended ok, shortened and over; on-screen texts over their place; with burned-in
        captions, theirs as ``caption_ok``, ``caption_shortened`` and ``caption_over``."""
        out = {"ok": 0, "shortened": 0, "over": 0}
        for r in self.report:
            out[r.status] += 1
        out["screen_over"] = sum(1 for s in self.screen if not s.fits)
        if self.caption_report:
            out |= {f"caption_{status}": 0 for status in ("ok", "shortened", "over")}
            for r in self.caption_report:
                out[f"caption_{r.status}"] += 1
        return out


def _lines(text: str, max_line_chars: int, max_lines: int) -> tuple[str, ...]:
    return tuple(wrap_lines(text, max_line_chars, max_lines)) or (text,)


def _flags(unit: TranslationUnit, result: FitResult, lines: tuple[str, ...], mode: str) -> tuple[str, ...]:
    if result.fits:
        return ()
    if mode == "speaking":
        return ("speaking_time",)
    flags = []
    limit = unit.limit
    if reading_chars(result.text) > limit.max_chars:
        flags.append("max_chars")
    if result.estimate > result.limit + 1e-9:
        flags.append("max_wpm" if limit.max_words is not None else "max_cps")
    if limit.max_lines is not None and len(lines) > limit.max_lines:
        flags.append("max_lines")
    if limit.max_line_chars is not None and any(len(line) > limit.max_line_chars for line in lines):
        flags.append("max_line_chars")
    return tuple(flags) or ("max_cps",)


def _fit_cue(unit: TranslationUnit, target: str, options: SubtitleFitOptions,
             fitter: SentenceFitter) -> CueReport:
    cue_options = options.cue_options(unit.slot_s)
    if unit.slot_s < options.min_slot_s:  # no useful slot: measure, do not search
        cue_options = replace(cue_options, lm="never", prune_steps=0)
    result = fitter.fit(target, cue_options)
    profile = resolve_profile(options.profile)
    lines = _lines(result.text, int(profile.max_line_chars), int(profile.max_lines))
    status: CueStatus = "over" if not result.fits else ("shortened" if result.changed else "ok")
    return CueReport(
        id=unit.id, index=unit.cue_index or 0, start=unit.start, end=unit.end, slot_s=round(unit.slot_s, 3),
        max_chars=unit.limit.max_chars, target=result.original, text=result.text, lines=lines, status=status,
        chars_before=reading_chars(result.original), chars_after=reading_chars(result.text),
        estimate_before=round(result.original_estimate, 3), estimate_after=round(result.estimate, 3),
        similarity=round(result.similarity, 4), method=result.method,
        flags=_flags(unit, result, lines, options.mode),
    )


def merge_translation(
    doc: TranslationDocument,
    targets: Targets,
    options: SubtitleFitOptions,
    fitter: SentenceFitter | None,
    progress: Callable[[float], None] | None = None,
) -> MergeResult:
    """Fit every cue's (and burned-in caption's) target to its slot and check every on-screen
    target against its place. Captions without targets (an SRT/WebVTT file brings the cues') are
    left out.

    Args:
        doc: the job's units.
        targets: checked targets (``check_translation``).
        options: fit options; ``language`` is replaced by the targets' language.
        fitter: a loaded sentence fitter (reused for every cue); None when ``doc`` has no cues or captions.
        progress: called with the fraction of cues (and captions) done.
    """
    started = time.monotonic()
    options = replace(options, language=targets.language)
    timed = [*doc.cues, *(u for u in doc.captions if u.id in targets.texts)]
    if timed and fitter is None:
        raise ValueError("a document with cues or captions needs a sentence fitter to merge them")
    reports: list[CueReport] = []
    for n, unit in enumerate(timed, start=1):
        assert fitter is not None
        reports.append(_fit_cue(unit, targets.texts[unit.id], options, fitter))
        if progress is not None:
            progress(n / len(timed))
    cue_reports = tuple(r for r, u in zip(reports, timed, strict=True) if u.kind == "cue")
    caption_reports = tuple(r for r, u in zip(reports, timed, strict=True) if u.kind == "caption")
    screen = []
    for unit in doc.screen:
        text = targets.texts.get(unit.id, unit.source)
        screen.append(ScreenReport(
            id=unit.id, scene=unit.scene, start=unit.start, end=unit.end, box=unit.box, source=unit.source,
            text=text, max_chars=unit.limit.max_chars, fits=reading_chars(text) <= unit.limit.max_chars,
            translated=unit.id in targets.texts and unit.id not in targets.untranslated,
        ))
    return MergeResult(targets.language, options.mode, _subtitles(cue_reports), cue_reports, tuple(screen),
                       time.monotonic() - started, _subtitles(caption_reports), caption_reports)


def _subtitles(reports: tuple[CueReport, ...]) -> tuple[Cue, ...]:
    return tuple(Cue(index=r.index, start=r.start, end=r.end, lines=r.lines, words=(), flags=r.flags,
                     cps=round(r.chars_after / r.slot_s, 2) if r.slot_s > 0 else 0.0) for r in reports)


def reading_fits(unit: TranslationUnit, text: str, profile_name: str) -> bool:
    """Whether ``text`` fits a cue unit's slot and lines as the import measures it (reading mode)."""
    profile = resolve_profile(profile_name)
    estimate = reading_estimate(text, profile)
    return estimate.seconds <= unit.slot_s + 1e-9 and estimate.lines_ok
