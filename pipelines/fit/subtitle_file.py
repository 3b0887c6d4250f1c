"""Shorten the over-long cues of an SRT or WebVTT file to their own slots.

pysubs2 parses the file (format detection, timings, text). The output is the input file with
only the text lines of changed cues replaced: pysubs2's writers would drop WebVTT cue ids,
cue settings, NOTE blocks and literal braces, and timings must not change at all. Cues are
found by their timing lines ("-->") and matched to pysubs2's events in order; when the two
disagree, the file is written by pysubs2 instead and the report says so.

A cue's slot is its own duration. Reading mode checks the profile's reading speed and lines;
speaking mode checks syllables at the language's (or a calibrated) rate. A cue whose words fit
but whose lines break the profile (a line of 45 characters where 42 are allowed, three lines
where two are) is laid out again (``linebreaks.wrap_lines``). The report says of each cue which
limits its written text still misses (``flags``) and why (``note``: the limit in numbers, the
closest candidate that fits and why the meaning guard refused it, a time budget that ran out),
with the fit's best candidates.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pipelines.exceptions import SubtitleFormatError, UnsupportedLanguageError
from pipelines.fit.candidates import Candidate
from pipelines.fit.estimates import reading_estimate, speaking_estimate
from pipelines.fit.languages import fit_language
from pipelines.fit.sentence import FitOptions, FitResult, LMUse, Mode, SentenceFitter, resolve_profile
from pipelines.linebreaks import wrap_lines
from pipelines.reading import ReadingProfile, reading_chars

if TYPE_CHECKING:
    import pysubs2

log = logging.getLogger(__name__)

CueStatus = Literal["ok", "shortened", "over"]
_TIMING = re.compile(
    r"^\s*((?:\d+:)?\d{1,2}:\d{2}[,.]\d{1,3})\s*-->\s*((?:\d+:)?\d{1,2}:\d{2}[,.]\d{1,3})(.*)$"
)
_TAG = re.compile(r"<[^>]*>")
REPORTED_CANDIDATES = 10  # a cue's best candidates in its report (a hard cue has dozens)
# No-break spaces (French: "pas ?", "« oui »") are words' glue in a layout: written as these
# non-space stand-ins of the same width while lines are laid out, so no line breaks there.
_GLUE = {"\u00a0": "\u2060", "\u202f": "\u2063"}


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

    def __post_init__(self) -> None:
        """Check the options before any cue is fitted (or a model loaded).

        Raises:
            UnsupportedLanguageError: ``language`` is no language code the fit knows
                ("english", "zz"); the message names the supported ones.
            OptionsError: a mode, profile, floor or LM choice out of range.
        """
        fit_language(self.language)
        self.cue_options(1.0)

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
        lines: the lines the cue shows in the written file.
        relaid: the words are unchanged but the lines were laid out again: the original's broke
            the profile (a line too long, too many lines).
        flags: the limits the written cue still misses, named as in ``pipelines.subtitles``:
            ``max_cps`` / ``max_wpm`` (reading speed), ``max_lines``, ``max_line_chars``,
            ``speaking_time``; empty when it keeps them all.
        note: why, in words: each limit missed in numbers ("needs 3 lines of at most 42
            characters; the profile allows 2"), the closest candidate that fits and why it was
            refused, a time budget that ran out, a slot too short to fit into; and a relayout.
        candidates: the fit's best candidates (at most ``REPORTED_CANDIDATES``), best first,
            each with its estimate and, when refused, the reason.
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
    lines: tuple[str, ...] = ()
    relaid: bool = False
    flags: tuple[str, ...] = ()
    note: str = ""
    candidates: tuple[Candidate, ...] = ()


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
    for space, stand_in in _GLUE.items():
        text = text.replace(space, stand_in)
    lines = wrap_lines(text, int(profile.max_line_chars), int(profile.max_lines)) or [text]
    for space, stand_in in _GLUE.items():
        lines = [line.replace(stand_in, space) for line in lines]
    return lines


def _within(lines: list[str], profile: ReadingProfile) -> bool:
    return len(lines) <= profile.max_lines and all(reading_chars(line) <= profile.max_line_chars for line in lines)


def _no_break_spaces(source: str, text: str) -> str:
    """``text`` with the no-break space ``source`` writes before ; : ! ? % » and after « (French
    typography; the fit itself works on plain spaces)."""
    found = re.search(r"([\u00a0\u202f])[;:!?%»]|«([\u00a0\u202f])", source)
    if found is None:
        return text
    space = found.group(1) or found.group(2)
    return re.sub(r"«\s", "«" + space, re.sub(r"\s([;:!?%»])", space + r"\1", text))


def _limits(text: str, lines: list[str], slot: float, profile: ReadingProfile | None, language: str,
            syllables_per_second: float | None) -> tuple[tuple[str, ...], list[str]]:
    """The limits a cue's written ``text`` in ``lines`` misses: their flags and, for each, what it
    needs against what is allowed; ``profile`` None: speaking mode.

    Raises:
        UnsupportedLanguageError: speaking mode, and no syllable rate for ``language``.
    """
    flags: list[str] = []
    says: list[str] = []
    if profile is None:
        speaking = speaking_estimate(text, language, syllables_per_second)
        if speaking.seconds > slot + 1e-9:
            flags.append("speaking_time")
            says.append(f"speaking time: {speaking.seconds:.2f} s at {speaking.syllables_per_second:.1f} syllables "
                        f"a second, the cue lasts {slot:.2f} s")
        return tuple(flags), says
    estimate = reading_estimate(text, profile)
    if estimate.seconds > slot + 1e-9:
        by_chars = bool(profile.max_cps) and estimate.chars / float(profile.max_cps or 1) >= estimate.seconds - 1e-9
        flags.append("max_cps" if by_chars else "max_wpm")
        rate = f"{profile.max_cps:g} characters a second" if by_chars else f"{profile.max_wpm:g} words a minute"
        says.append(f"reading speed: {estimate.seconds:.2f} s to read at {rate}, the cue lasts {slot:.2f} s")
    needed = max(estimate.lines, len(lines))
    if needed > profile.max_lines:
        flags.append("max_lines")
        says.append(f"lines: needs {needed} lines of at most {profile.max_line_chars} characters, "
                    f"the profile allows {profile.max_lines}")
    longest = max((reading_chars(line) for line in lines), default=0)
    if longest > profile.max_line_chars:
        flags.append("max_line_chars")
        says.append(f"line length: a line of {longest} characters, the profile allows {profile.max_line_chars}")
    return tuple(flags), says


def _search_note(result: FitResult) -> str:
    """Why no candidate both fits and keeps the meaning (the closest refused one and its reason)."""
    refused = [c for c in result.candidates if c.fits and not c.acceptable]
    if refused:
        closest = min(refused, key=lambda c: c.change)
        says = (f"{len(refused)} candidate(s) fit but were refused; the closest, {closest.text!r} "
                f"({closest.method}): {closest.note}")
    else:
        says = f"no candidate is short enough ({len(result.candidates)} tried)"
    return f"{says}; {result.note}" if result.note else says


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
        cue, new_lines = _fit_cue(n + 1, event, options, fitter, profile, (languages or {}).get(n + 1))
        report.append(cue)
        if new_lines is not None:
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


def _fit_cue(index: int, event: pysubs2.SSAEvent, options: SubtitleFitOptions, fitter: SentenceFitter,
             profile: ReadingProfile | None, language: str | None) -> tuple[CueFit, list[str] | None]:
    """Fit one cue: its report, and its new lines (None: the file's lines stay)."""
    start, end = event.start / 1000.0, event.end / 1000.0
    slot = end - start
    source = re.sub(r"[ \t\r\n\f\v]+", " ", event.plaintext).strip()  # no-break spaces kept
    plain = " ".join(source.split())
    if not plain:
        return CueFit(index, start, end, slot, "", "", "ok", 0.0, 0.0, 0.0, 1.0, "original"), None
    result: FitResult | None = None
    notes: list[str] = []
    if slot < options.min_slot_s:
        log.warning("cue %d lasts %.3f s, too short to fit anything into; left unchanged", index, slot)
        notes.append(f"the cue lasts {slot:.3f} s, too short to fit anything into "
                     f"(min_slot_s {options.min_slot_s:g} s): left unchanged")
    else:
        try:
            cue_options = options.cue_options(slot, language)
        except UnsupportedLanguageError as err:  # only a cue's own language can be unknown here
            log.warning("cue %d is in %s, which fitting does not know (%s); left unchanged", index, language, err)
            notes.append(f"the cue is in {language!r}, which fitting does not know: left unchanged ({err})")
        else:
            result = fitter.fit(plain, cue_options)
    text = plain if result is None else result.text
    shown, new_lines, layout_note = _lines(event, source, result, profile)
    notes += [layout_note] if layout_note else []
    measured = True
    try:
        flags, says = _limits(text, shown, slot, profile, language or options.language, options.syllables_per_second)
    except UnsupportedLanguageError:  # speaking mode, a cue's language with no known rate: unmeasured
        flags, says, measured = (), [], False
    if result is not None and not result.fits:
        says.append(_search_note(result))
    elif result is not None and result.note:
        says.append(result.note)
    note = "; ".join(says + notes)
    if result is None:
        status: CueStatus = "over" if flags or not measured else "ok"
        return CueFit(index, start, end, slot, plain, plain, status, 0.0, 0.0, 0.0, 1.0, "original",
                      lines=tuple(shown), relaid=new_lines is not None, flags=flags, note=note), new_lines
    status = "ok" if result.fits and not result.changed else ("shortened" if result.fits else "over")
    return CueFit(
        index=index, start=start, end=end, slot_s=slot, original=plain, text=result.text,
        status=status, estimate_before=result.original_estimate, estimate_after=result.estimate,
        overrun=result.overrun, similarity=result.similarity, method=result.method,
        markup_dropped=result.changed and "{" in event.text, lines=tuple(shown),
        relaid=new_lines is not None and not result.changed, flags=flags, note=note,
        candidates=result.candidates[:REPORTED_CANDIDATES],
    ), new_lines


def _lines(event: pysubs2.SSAEvent, source: str, result: FitResult | None,
           profile: ReadingProfile | None) -> tuple[list[str], list[str] | None, str]:
    """The lines a cue shows, its new lines (None: the file's stay) and a note on its layout.

    A rewritten text is laid out anew; the original text keeps its lines unless they break the
    profile where a layout of its words keeps it (then it is laid out again, markup permitting)."""
    written = [" ".join(line.split()) for line in event.plaintext.splitlines() if line.strip()]
    if result is not None and result.changed:
        new = _layout(_no_break_spaces(source, result.text), profile)
        return new, new, ""
    if profile is None or _within(written, profile):
        return written, None, ""
    laid = _layout(source, profile)
    if not _within(laid, profile):
        return written, None, ""
    if "{" in event.text:  # pysubs2's inline tags (<i>...): a layout of the plain text would lose them
        return written, None, "its lines break the profile but were not laid out again: the cue has markup"
    return laid, laid, (f"lines laid out again: the original's {len(written)} line(s) of up to "
                        f"{max(map(reading_chars, written))} characters broke the profile's {profile.max_lines} "
                        f"of at most {profile.max_line_chars}")
