"""From a translated file to one checked target text per unit of the job.

A translation comes back as the XLIFF we exported (any version) or as an SRT/WebVTT file whose
cues are aligned with the job's by number (with its burned-in captions' where it has no cues) (its timings are not used: the job's are, and the units
the file times otherwise are named in ``Targets.retimed``, for a warning). Every
problem is collected before anything is refused, so one answer names them all: a file from
another job, a missing or wrong target language, units the job does not have, units missing or
left untranslated, a source text that is not the job's (the file was exported before the
subtitles changed).
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, replace

from pipelines.exceptions import OptionsError, TranslationFileError, UnitProblem
from pipelines.fit.estimates import normalize_language
from pipelines.translation.units import (
    TranslationDocument,
    TranslationUnit,
    caption_unit_id,
    clock,
    cue_unit_id,
)
from pipelines.translation.xliff import ReadUnit, TranslatedFile, read_xliff

MAX_LISTED = 5  # problems spelled out in the message; all of them are in ``problems``
TIME_TOLERANCE_S = 0.001  # SRT and WebVTT times are whole milliseconds; the job's are rounded to them


@dataclass(frozen=True)
class Retimed:
    """A unit the translated file times otherwise than the job (seconds): the job's times are kept."""

    unit: str
    file_start: float
    file_end: float
    start: float
    end: float

    @property
    def message(self) -> str:
        return (f"{self.unit}: the file's times {clock(self.file_start)} - {clock(self.file_end)} were replaced "
                f"by the job's {clock(self.start)} - {clock(self.end)}")


@dataclass(frozen=True)
class Targets:
    """Checked target texts by unit id, in the target language; ``untranslated`` units kept their
    source because the file marks them ``translate="no"`` (or the export did and they came back
    without a target); ``retimed`` units came with other times than the job's (which are kept)."""

    language: str
    texts: dict[str, str]
    format: str
    untranslated: tuple[str, ...] = ()
    retimed: tuple[Retimed, ...] = ()


def _looks_like_xml(data: bytes) -> bool:
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:64]
    return head.startswith(b"<")


def _refuse(problem: str, advice: str) -> TranslationFileError:
    return TranslationFileError(f"The file is {problem}; {advice}", (UnitProblem(None, problem),))


def read_subtitles(data: bytes) -> TranslatedFile:
    """An SRT or WebVTT file as units ``cue-NNNN`` numbered by position (1, 2, ...).

    Read with webvtt-py, not pysubs2: pysubs2 takes ``{...}`` for ASS tags and drops it, and a
    translated screencast says "{userId}" too. Tags (``<i>``) go; WebVTT entities are decoded.

    Raises:
        TranslationFileError: not UTF-8 text, or not SRT/WebVTT.
    """
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    advice = "send the translated XLIFF, or an SRT or WebVTT file with one cue per cue of the job."
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse("not XLIFF and not UTF-8 text", advice) from None
    fmt = "vtt" if text.lstrip().startswith("WEBVTT") else "srt"
    try:
        captions = webvtt.WebVTT.from_buffer(io.StringIO(text), format=fmt).captions
    except (MalformedFileError, MalformedCaptionError, ValueError) as err:
        raise _refuse(f"not XLIFF, SRT or WebVTT ({err})", advice) from None
    if not captions:
        raise _refuse("not XLIFF, SRT or WebVTT (no cues found)", advice)
    units = []
    for n, caption in enumerate(captions, start=1):
        plain = html.unescape(caption.text) if fmt == "vtt" else caption.text
        start, end = (t.in_milliseconds() / 1000 for t in (caption.start_time, caption.end_time))
        units.append(ReadUnit(cue_unit_id(n), "", " ".join(plain.split()), start=start, end=end))
    return TranslatedFile(format=fmt, original=None, source_language=None, target_language=None,
                          units=tuple(units))


def read_translation(data: bytes) -> TranslatedFile:
    """Read a translated XLIFF, SRT or WebVTT file (told apart by content, not by name)."""
    return read_xliff(data) if _looks_like_xml(data) else read_subtitles(data)


def _base(language: str) -> str:
    try:
        return normalize_language(language)
    except OptionsError:
        return ""


def _file_problems(doc: TranslationDocument, read: TranslatedFile, language: str | None) -> list[UnitProblem]:
    problems = []
    if read.original is not None and read.original != doc.original:
        problems.append(UnitProblem(None, f"the file belongs to {read.original!r}, not to this job "
                                          f"({doc.original!r}): export this job's file and translate that"))
    if read.source_language and _base(read.source_language) != _base(doc.source_language):
        problems.append(UnitProblem(None, f"the file's source language is {read.source_language!r}; "
                                          f"this job's is {doc.source_language!r}"))
    if language and read.target_language and _base(read.target_language) != _base(language):
        problems.append(UnitProblem(None, f"the file's target language is {read.target_language!r}, "
                                          f"not {language!r} as requested"))
    if language and _base(language) == _base(doc.source_language):
        problems.append(UnitProblem(None, f"the target language {language!r} is the source language"))
    return problems


def _timed(doc: TranslationDocument) -> tuple[str, tuple[TranslationUnit, ...]]:
    """What a subtitle file's cues stand for: the job's cues, or its burned-in captions where it has
    no cues (a silent video with captions: its ``hardsubs.srt`` translated)."""
    return ("caption", doc.captions) if doc.captions and not doc.cues else ("cue", doc.cues)


def _unit_problems(doc: TranslationDocument, read: TranslatedFile) -> tuple[list[UnitProblem], dict[str, ReadUnit]]:
    known = {u.id: u for u in doc.units}
    problems: list[UnitProblem] = []
    seen: dict[str, ReadUnit] = {}
    subtitles = read.format in ("srt", "vtt")
    kind, timed = _timed(doc)
    for unit in read.units:
        if unit.id in seen:
            problems.append(UnitProblem(unit.id, "appears twice in the file"))
            continue
        seen[unit.id] = unit
        mine = known.get(unit.id)
        if mine is None:
            what = (f"{kind} number beyond this job's {kind}s" if subtitles else
                    f"no such cue{', caption' if doc.captions else ''} or on-screen text in this job")
            problems.append(UnitProblem(unit.id, f"{what} ({len(timed)} {kind}s)"))
            continue
        if _kept(unit, mine):
            continue
        if unit.target is None:
            problems.append(UnitProblem(unit.id, "has no target: translate it or mark it translate=\"no\""))
        elif not unit.target:
            problems.append(UnitProblem(unit.id, "the target is empty"))
        if unit.source and unit.source != mine.source:
            problems.append(UnitProblem(unit.id, f"its source {unit.source!r} is not this job's "
                                                 f"{mine.source!r}: export the file again"))
    # A subtitle file carries no on-screen text; an XLIFF file without any caption unit was exported
    # before captions were translated (or from a job read again since): its captions stay untranslated.
    captioned = any(u.id in seen for u in doc.captions)
    wanted = timed if subtitles else [u for u in doc.units if u.kind != "caption" or captioned]
    problems += [UnitProblem(w.id, "is missing from the file") for w in wanted if w.id not in seen]
    return problems, seen


def check_translation(doc: TranslationDocument, read: TranslatedFile, language: str | None) -> Targets:
    """Match a translated file to the job's units.

    Args:
        doc: the job's units, as exported.
        read: the translated file, read.
        language: the requested target language; None takes the file's.

    Raises:
        TranslationFileError: with every problem found (unit id, what is wrong).
    """
    if read.format in ("srt", "vtt") and _timed(doc)[0] == "caption":
        read = replace(read, units=tuple(replace(u, id=caption_unit_id(n)) for n, u in enumerate(read.units, start=1)))
    problems = _file_problems(doc, read, language)
    unit_problems, seen = _unit_problems(doc, read)
    problems += unit_problems
    target_language = language or read.target_language
    if not target_language:
        problems.insert(0, UnitProblem(None, "no target language: the file names none; give one (e.g. de)"))
    if problems:
        listed = "; ".join((f"unit {p.unit}: " if p.unit else "") + p.problem for p in problems[:MAX_LISTED])
        more = f" (and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""
        raise TranslationFileError(
            f"The translation cannot be merged: {len(problems)} problem{'s' if len(problems) > 1 else ''}: "
            f"{listed}{more}.", tuple(problems))
    assert target_language is not None
    mine = {u.id: u for u in doc.units}
    untranslated = tuple(uid for uid, u in seen.items() if _kept(u, mine[uid]))
    texts = {uid: (u.target or "") for uid, u in seen.items() if uid not in untranslated}
    for uid in untranslated:
        texts[uid] = mine[uid].source
    retimed = tuple(r for uid, u in seen.items() if (r := _retimed(u, mine[uid])) is not None)
    return Targets(target_language, texts, read.format, untranslated, retimed)


def retimed_warning(retimed: tuple[Retimed, ...], report: str) -> str | None:
    """One line naming the units whose times in the file were replaced by the job's (None: none were);
    ``report`` is the file that lists them all."""
    if not retimed:
        return None
    listed = "; ".join(r.message for r in retimed[:MAX_LISTED])
    more = f" (and {len(retimed) - MAX_LISTED} more, all in {report})" if len(retimed) > MAX_LISTED else ""
    n = len(retimed)
    return (f"{n} unit{'s' if n > 1 else ''} of the file {'are' if n > 1 else 'is'} timed otherwise than the job; "
            f"the job's timings are kept: {listed}{more}.")


def _retimed(unit: ReadUnit, mine: TranslationUnit) -> Retimed | None:
    """The unit's times in the file where they are not the job's (None: the same, or none given)."""
    start = mine.start if unit.start is None else unit.start
    end = mine.end if unit.end is None else unit.end
    if abs(start - mine.start) <= TIME_TOLERANCE_S + 1e-9 and abs(end - mine.end) <= TIME_TOLERANCE_S + 1e-9:
        return None
    return Retimed(unit.id, start, end, mine.start, mine.end)


def _kept(unit: ReadUnit, mine: TranslationUnit) -> bool:
    """Whether a unit keeps its source: the file marks it ``translate="no"``, or it came without a
    target where the export marked it so (a tool that dropped the attribute)."""
    return not unit.translate or (unit.target is None and not mine.translate)
