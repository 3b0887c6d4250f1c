"""Shorten the over-long cues of an SRT or WebVTT file to their own slots.

pysubs2 parses the file (format detection, timings, text). The output is the input file with
only the text lines of changed cues replaced: pysubs2's writers would drop WebVTT cue ids,
cue settings, NOTE blocks and literal braces, and timings must not change at all. Cues are
found by their timing lines ("-->") and matched to pysubs2's events in order; when the two
disagree, the file is written by pysubs2 instead and the report says so.

A cue's slot is its own duration. Reading mode checks the profile's reading speed and lines;
speaking mode checks syllables at the language's (or a calibrated) rate.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pipelines.exceptions import SubtitleFormatError, UnsupportedLanguageError
from pipelines.fit.sentence import FitOptions, FitResult, LMUse, Mode, SentenceFitter, resolve_profile
from pipelines.linebreaks import wrap_lines
from pipelines.reading import ReadingProfile

if TYPE_CHECKING:
    import pysubs2

log = logging.getLogger(__name__)

CueStatus = Literal["ok", "shortened", "over"]
_TIMING = re.compile(
    r"^\s*((?:\d+:)?\d{1,2}:\d{2}[,.]\d{1,3})\s*-->\s*((?:\d+:)?\d{1,2}:\d{2}[,.]\d{1,3})(.*)$"
)
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class SubtitleFitOptions:
    """How to fit each cue to its own slot (see ``FitOptions`` for the fields).

    Attributes:
        min_slot_s: cues shorter than this are left alone and reported "over" if too long
            (a 0.2 s cue has no useful slot to fit).
    """

    mode: Mode = "reading"
    language: str = "en"
    profile: str | ReadingProfile = "netflix-en"
    syllables_per_second: float | None = None
    similarity_floor: float = 0.8
    lm: LMUse = "auto"
    lm_candidates: int = 4
    min_slot_s: float = 0.3

    def cue_options(self, slot_s: float, language: str | None = None) -> FitOptions:
        """FitOptions for one cue's slot; ``language``: the cue's, when not the file's."""
        return FitOptions(
            mode=self.mode, language=language or self.language, max_seconds=slot_s, profile=self.profile,
            syllables_per_second=self.syllables_per_second, similarity_floor=self.similarity_floor,
            lm=self.lm, lm_candidates=self.lm_candidates, check_lines=True,
        )


@dataclass(frozen=True)
class CueFit:
    """What happened to one cue.

    Attributes:
        status: ``ok`` (fitted already), ``shortened`` (rewritten and fits), ``over`` (still too
            long: nothing acceptable fits; ``text`` is the best acceptable, maybe the original).
        markup_dropped: the original had inline tags (<i>...) that the new text lost.
    """

    index: int
    start: float
    end: float
    slot_s: float
    original: str
    text: str
    status: CueStatus
    estimate_before: float
    estimate_after: float
    overrun: float
    similarity: float
    method: str
    markup_dropped: bool = False


@dataclass(frozen=True)
class SubtitleFitResult:
    """The rewritten file and a report per cue."""

    text: str
    format: str
    cues: tuple[CueFit, ...]
    preserved_layout: bool
    elapsed_s: float

    @property
    def counts(self) -> dict[str, int]:
        """How many cues ended ok, shortened and over."""
        out = {"ok": 0, "shortened": 0, "over": 0}
        for cue in self.cues:
            out[cue.status] += 1
        return out


@dataclass
class _Block:
    text_start: int  # index of the first text line in the file's lines
    text_end: int


def _cue_blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    i = 0
    while i < len(lines):
        if _TIMING.match(lines[i]) and (i == 0 or "-->" not in lines[i - 1]):
            j = i + 1
            while j < len(lines) and lines[j].strip():
                j += 1
            blocks.append(_Block(i + 1, j))
            i = j
        else:
            i += 1
    return blocks


def _layout(text: str, profile: ReadingProfile | None) -> list[str]:
    if profile is None:
        return [text]
    return wrap_lines(text, int(profile.max_line_chars), int(profile.max_lines)) or [text]


def read_subtitles(content: str) -> tuple[pysubs2.SSAFile, str]:
    """Parse an SRT or WebVTT text: its cues (pysubs2) and its format, ``srt`` or ``vtt``.

    Raises:
        SubtitleFormatError: the text is not SRT or WebVTT.
    """
    import pysubs2

    try:
        subs = pysubs2.SSAFile.from_string(content)
    except Exception as exc:
        raise SubtitleFormatError(
            f"Could not read the subtitles as SRT or WebVTT ({exc}); check the file's format."
        ) from exc
    fmt = getattr(subs, "format", None) or ("vtt" if content.lstrip("\ufeff").startswith("WEBVTT") else "srt")
    if fmt not in ("srt", "vtt"):
        raise SubtitleFormatError(f"Expected SRT or WebVTT, got {fmt!r}; convert the file first.")
    return subs, fmt


def fit_subtitles(
    content: str,
    options: SubtitleFitOptions,
    fitter: SentenceFitter,
    progress: Callable[[float], None] | None = None,
    languages: Mapping[int, str] | None = None,
) -> SubtitleFitResult:
    """Shorten each over-long cue of an SRT or WebVTT text to its own slot; timings unchanged.

    Args:
        content: the file's text.
        options: mode, language, profile and the sentence fitter's settings.
        fitter: a loaded ``SentenceFitter`` (reused for every cue).
        progress: called with the fraction of cues done.
        languages: by cue number (1-based), the language of a cue spoken in another one than
            ``options.language`` (``subtitles.json``): it is fitted in its own; one the fitter
            does not know is left unchanged.

    Raises:
        SubtitleFormatError: the text is not SRT or WebVTT.
    """
    started = time.monotonic()
    subs, fmt = read_subtitles(content)
    newline = "\r\n" if "\r\n" in content else "\n"
    lines = content.splitlines()
    blocks = _cue_blocks(lines)
    events = list(subs)
    preserved = len(blocks) == len(events)
    if not preserved:
        log.warning("cue blocks (%d) and parsed events (%d) differ; writing with pysubs2",
                    len(blocks), len(events))
    profile = resolve_profile(options.profile) if options.mode == "reading" else None

    report: list[CueFit] = []
    for n, event in enumerate(events):
        start, end = event.start / 1000.0, event.end / 1000.0
        slot = end - start
        plain = " ".join(event.plaintext.split())
        if not plain:
            report.append(CueFit(n + 1, start, end, slot, "", "", "ok", 0.0, 0.0, 0.0, 1.0, "original"))
            continue
        result: FitResult | None = None
        language = (languages or {}).get(n + 1)
        if slot >= options.min_slot_s:
            try:
                cue_options = options.cue_options(slot, language)
            except UnsupportedLanguageError as err:  # only a cue's own language can be unknown here
                log.warning("cue %d is in %s, which fitting does not know (%s); left unchanged", n + 1, language, err)
            else:
                result = fitter.fit(plain, cue_options)
        else:
            log.warning("cue %d lasts %.3f s, too short to fit anything into; left unchanged", n + 1, slot)
        if result is None:
            report.append(CueFit(n + 1, start, end, slot, plain, plain, "over", 0.0, 0.0, 0.0, 1.0, "original"))
        else:
            status: CueStatus = "ok" if result.fits and not result.changed else (
                "shortened" if result.fits else "over")
            report.append(CueFit(
                index=n + 1, start=start, end=end, slot_s=slot, original=plain, text=result.text,
                status=status, estimate_before=result.original_estimate, estimate_after=result.estimate,
                overrun=result.overrun, similarity=result.similarity, method=result.method,
                markup_dropped=result.changed and "{" in event.text,
            ))
            if result.changed:
                new_lines = _layout(result.text, profile)
                if preserved:
                    block = blocks[n]
                    lines[block.text_start : block.text_end] = new_lines
                    shift = len(new_lines) - (block.text_end - block.text_start)
                    for later in blocks[n + 1 :]:
                        later.text_start += shift
                        later.text_end += shift
                event.text = r"\N".join(new_lines)
        if progress is not None:
            progress((n + 1) / max(1, len(events)))

    if preserved:
        text = newline.join(lines) + (newline if content.endswith(("\n", "\r")) else "")
    else:
        text = subs.to_string(fmt)
    return SubtitleFitResult(
        text=text, format=fmt, cues=tuple(report), preserved_layout=preserved,
        elapsed_s=time.monotonic() - started,
    )
