"""What a translator gets: one unit per subtitle cue, per burned-in caption and per distinct
on-screen text, each with its context and a length limit.

A cue's limit comes from its slot (its own duration) and the style profile: the characters a
viewer reads in that time at the profile's reading speed, and never more than the profile's
lines hold. This is the limit the import checks, so a target within it fits without rewriting.
The BBC profile limits words a minute instead of characters a second; its units get the lines'
capacity as the character limit and the word limit in a note. A burned-in caption (the ocr
stage's ``hardsubs``: text in the picture, timed as subtitles) is limited as a cue is.

An on-screen text (a slide title, a button label) has no time budget but a place: its limit is
the characters that fit from the text's left edge to the frame's right margin at the font size
it was read at (its box width over its length), never fewer than the source has.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pipelines.fit.estimates import SYLLABLE_RATES, normalize_language
from pipelines.ocr.scene_text import canonical, translatable
from pipelines.ocr.tracking import (
    CUT,
    SCRIPT_UNCERTAIN,
    Box,
    TextEvent,
    normalise_text,
)
from pipelines.reading import ReadingProfile, reading_chars

UnitKind = Literal["cue", "caption", "screen"]
RIGHT_MARGIN = 0.95  # on-screen text may run to 95 % of the frame width
NOTHING_TO_TRANSLATE_NOTE = ("nothing to translate (numbers, signs or a single letter: an icon or a shortcut read as "
                             "text?): marked translate=\"no\" and kept as it is unless you give a target")
OTHER_LANGUAGE_NOTE = ("spoken in another language ({}) than the rest of the video ({}): its text is in that "
                       "language; translate from it")
CAPTION_NOTE = "a caption burned into the picture ({} line{}): its translation is shown as a subtitle at its times"
CAPTION_LANGUAGE_NOTE = ("written in another language ({}) than the document's source ({}): translate from the "
                         "caption's language")
UNSURE_SCRIPT_NOTE = ("OCR is unsure of this text's script: it may be another alphabet read as Latin look-alikes "
                      "(no installed recogniser could tell); check it against the video before translating")
OVERLAY = "overlay"  # a ScreenText flag: a watermark, logo or credit (``mark_overlays``)
OVERLAY_NOTE = ("on screen by the frame's edge through nearly the whole video: a watermark, a logo or a credit, "
                "not the lesson's text; marked translate=\"no\" and kept as it is unless you give a target")
CUT_NOTE = ("part of this text was hidden on screen (cut off by a panel, a bar or the frame's edge): the OCR read what "
            "showed, which may be wrong or incomplete; check it against the video before translating")


@dataclass(frozen=True)
class SourceCue:
    """A subtitle cue of the job, or a burned-in caption: its number (1-based), times in seconds and
    lines; ``language``: "" when in the document's source language, else the one it was heard (``Cue.language``)
    or written in; ``flags``: a caption's reading's (``script-uncertain``)."""

    index: int
    start: float
    end: float
    lines: tuple[str, ...]
    language: str = ""
    flags: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.lines).split())


@dataclass(frozen=True)
class ScreenText:
    """One distinct text of a scene, with where and when it was first and last seen, and the
    flags of its reading (``script-uncertain``: see ``pipelines.ocr.scripts``)."""

    scene: int
    start: float
    end: float
    text: str
    box: Box
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class LengthLimit:
    """How long a target may be.

    Attributes:
        max_chars: characters, spaces and punctuation included (Unicode code points, NFC).
        max_lines / max_line_chars: the cue's line layout (None for on-screen text).
        max_words: words, for profiles that limit words a minute (None otherwise).
        basis: where the limit comes from, for the translator.
    """

    max_chars: int
    max_lines: int | None
    max_line_chars: int | None
    max_words: int | None
    basis: str


@dataclass(frozen=True)
class Note:
    """A note for the translator: a category (``time``, ``pause``, ``scene``...) and its text."""

    category: str
    text: str


@dataclass(frozen=True)
class TranslationUnit:
    """One thing to translate. ``id`` is stable for a job: ``cue-0007``, ``caption-0003``, ``screen-3-2``;
    ``cue_index`` is a cue's or a caption's number."""

    id: str
    kind: UnitKind
    source: str
    start: float
    end: float
    limit: LengthLimit
    notes: tuple[Note, ...]
    cue_index: int | None = None
    scene: int | None = None
    box: Box | None = None
    translate: bool = True  # False: nothing to translate (``scene_text.translatable``); exported ``translate="no"``

    @property
    def slot_s(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class TranslationDocument:
    """Everything exported for one job: where it came from, the languages and the units."""

    job_id: str
    source_language: str
    profile: str
    units: tuple[TranslationUnit, ...]
    target_language: str | None = None

    @property
    def original(self) -> str:
        """The job reference written into (and checked when reading back) every export."""
        return f"lessonlens:job:{self.job_id}"

    @property
    def cues(self) -> tuple[TranslationUnit, ...]:
        return tuple(u for u in self.units if u.kind == "cue")

    @property
    def captions(self) -> tuple[TranslationUnit, ...]:
        return tuple(u for u in self.units if u.kind == "caption")

    @property
    def screen(self) -> tuple[TranslationUnit, ...]:
        return tuple(u for u in self.units if u.kind == "screen")


def cue_unit_id(index: int) -> str:
    return f"cue-{index:04d}"


def caption_unit_id(index: int) -> str:
    return f"caption-{index:04d}"


def clock(seconds: float) -> str:
    """``mm:ss.cc`` (``h:mm:ss.cc`` past an hour): short and unambiguous for a note."""
    minutes, secs = divmod(max(0.0, seconds), 60.0)
    hours, minutes = divmod(int(minutes), 60)
    head = f"{hours}:{minutes:02d}" if hours else f"{minutes:02d}"
    return f"{head}:{secs:05.2f}"


def cue_limit(slot_s: float, profile: ReadingProfile) -> LengthLimit:
    """The length limit of a cue lasting ``slot_s`` seconds under ``profile``."""
    lines, per_line = int(profile.max_lines), int(profile.max_line_chars)
    capacity = per_line * lines + (lines - 1)  # lines are read as one text joined by spaces
    layout = f"{lines} line{'s' if lines > 1 else ''} of at most {per_line} characters"
    max_words = None
    if profile.max_cps:
        by_speed = max(1, math.floor(slot_s * float(profile.max_cps) + 1e-6))
        max_chars = min(capacity, by_speed)
        speed = f"{float(profile.max_cps):g} characters a second over {slot_s:.2f} s"
        basis = (f"{max_chars} characters: {speed}; {layout}" if by_speed <= capacity else
                 f"{max_chars} characters: {layout} ({by_speed} at {speed})")
    else:
        max_chars = capacity
        basis = f"{max_chars} characters: {layout}"
    if profile.max_wpm:
        max_words = max(1, math.floor(slot_s * float(profile.max_wpm) / 60.0 + 1e-6))
        basis += f"; at most {max_words} words ({float(profile.max_wpm):g} words a minute)"
    return LengthLimit(max_chars, lines, per_line, max_words, basis)


def screen_limit(text: str, box: Box) -> LengthLimit:
    """The length limit of an on-screen text: what fits from its left edge to the right margin."""
    n = max(1, reading_chars(text))
    width = max(1e-6, box[2] - box[0])
    room = max(width, RIGHT_MARGIN - box[0])
    max_chars = max(n, math.floor(n * room / width + 1e-6))
    basis = (f"{max_chars} characters fit from the text's left edge to the frame's right margin at "
             f"the size it is shown ({n} now)")
    return LengthLimit(max_chars, None, None, None, basis)


def screen_texts(events: Sequence[TextEvent]) -> list[ScreenText]:
    """The distinct texts of each scene, in order: a text read again in a scene counts once, as
    do its other readings (``pipelines.ocr.scene_text.canonical``: other spaces and stops, a part
    of it typed or cut short), each standing as the reading kept, at its place. Flags are those of
    the readings of the text kept."""
    stands = canonical(events)
    seen: dict[tuple[int, str], ScreenText] = {}
    for e, s in zip(events, stands, strict=True):
        kept = events[s]
        text = " ".join(kept.text.split())
        if not text:
            continue
        key = (e.scene, normalise_text(text))
        flags = e.flags if normalise_text(e.text) == key[1] else ()
        first = seen.get(key)
        if first is None:
            seen[key] = ScreenText(e.scene, e.start, e.end, text, kept.box, flags)
        else:
            seen[key] = ScreenText(e.scene, min(first.start, e.start), max(first.end, e.end), first.text,
                                   first.box, tuple(sorted({*first.flags, *flags})))
    return sorted(seen.values(), key=lambda s: (s.scene, s.box[1], s.box[0], s.start))


def _position(box: Box) -> str:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    vertical = "top" if cy < 1 / 3 else "bottom" if cy > 2 / 3 else "middle"
    horizontal = "left" if cx < 0.4 else "right" if cx > 0.6 else "centre"
    return (f"{vertical} {horizontal} of the frame (x {box[0]:.0%}-{box[2]:.0%}, "
            f"y {box[1]:.0%}-{box[3]:.0%})")


def _role(item: ScreenText, scene_items: Sequence[ScreenText]) -> str:
    """What kind of text it looks like, from its size and place among its scene's texts."""
    height = item.box[3] - item.box[1]
    tallest = max(s.box[3] - s.box[1] for s in scene_items)
    if height >= 0.85 * tallest and item.box[1] < 0.25 and len(scene_items) > 1:
        return "heading (the largest text, near the top)"
    if len(item.text.split()) <= 3 and height < 0.7 * tallest:
        return "label (short, smaller text: a menu item, button or caption)"
    return "body text"


def _scene_spans(items: Sequence[ScreenText]) -> dict[int, tuple[float, float]]:
    spans: dict[int, tuple[float, float]] = {}
    for s in items:
        lo, hi = spans.get(s.scene, (s.start, s.end))
        spans[s.scene] = (min(lo, s.start), max(hi, s.end))
    return spans


def _voice_over(slot_s: float, language: str | None) -> Note | None:
    """For a voice-over script: how many syllables the slot holds at the target language's rate."""
    if not language or normalize_language(language) not in SYLLABLE_RATES:
        return None
    rate = SYLLABLE_RATES[normalize_language(language)]
    return Note("voice-over", f"spoken in {slot_s:.2f} s: about {math.floor(slot_s * rate)} syllables at "
                              f"the mean rate of {language} ({rate:g} a second)")


def _cue_notes(cues: Sequence[SourceCue], k: int, screen: Sequence[ScreenText], limit: LengthLimit,
               spans: dict[int, tuple[float, float]], target_language: str | None) -> tuple[Note, ...]:
    cue = cues[k]
    before = cue.start - (cues[k - 1].end if k > 0 else 0.0)
    after = (cues[k + 1].start - cue.end) if k + 1 < len(cues) else None
    pause = f"silence before: {before:.2f} s" + (f", after: {after:.2f} s" if after is not None else
                                                   ", last cue")
    notes = [
        Note("time", f"{clock(cue.start)} - {clock(cue.end)} ({cue.end - cue.start:.2f} s on screen)"),
        Note("pause", pause),
    ]
    if len(cue.lines) > 1:
        notes.append(Note("lines", "source lines: " + " | ".join(cue.lines)))
    visible = [s for s in screen if s.start < cue.end and s.end > cue.start]
    mid = (cue.start + cue.end) / 2
    scenes = [n for n, (lo, hi) in spans.items() if lo <= mid <= hi] or sorted({s.scene for s in visible})
    if scenes:
        shown = "; ".join(s.text for s in visible[:4]) + (" ..." if len(visible) > 4 else "")
        notes.append(Note("scene", f"scene {scenes[0]}" + (f"; on screen: {shown}" if shown else "")))
    notes.append(Note("limit", limit.basis))
    voice = _voice_over(cue.end - cue.start, target_language)
    return (*notes, voice) if voice else tuple(notes)


def _reading_notes(flags: Sequence[str]) -> tuple[Note, ...]:
    return (*((Note("reading", UNSURE_SCRIPT_NOTE),) if SCRIPT_UNCERTAIN in flags else ()),
            *((Note("reading", CUT_NOTE),) if CUT in flags else ()))


def _caption_units(captions: Sequence[SourceCue], screen: Sequence[ScreenText], spans: dict[int, tuple[float, float]],
                   profile: ReadingProfile, source_language: str, target_language: str | None) -> list[TranslationUnit]:
    units = []
    for k, caption in enumerate(captions):
        if not caption.text:
            continue
        limit = cue_limit(caption.end - caption.start, profile)
        n = len(caption.lines)
        notes = (*_cue_notes(captions, k, screen, limit, spans, target_language),
                 Note("element", CAPTION_NOTE.format(n, "s" if n > 1 else "")),
                 *((Note("language", CAPTION_LANGUAGE_NOTE.format(caption.language, source_language)),)
                   if caption.language else ()),
                 *_reading_notes(caption.flags))
        units.append(TranslationUnit(
            id=caption_unit_id(caption.index), kind="caption", source=caption.text, start=caption.start,
            end=caption.end, limit=limit, notes=notes, cue_index=caption.index,
        ))
    return units


def build_document(
    job_id: str,
    source_language: str,
    cues: Sequence[SourceCue],
    profile: ReadingProfile,
    profile_name: str,
    screen: Sequence[ScreenText] = (),
    target_language: str | None = None,
    captions: Sequence[SourceCue] = (),
) -> TranslationDocument:
    """The units of a job: its cues in order, its burned-in captions in order, then its distinct
    on-screen texts by scene."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", job_id):
        raise ValueError(f"job id {job_id!r} is not usable in a file id")
    spans = _scene_spans(screen)
    units: list[TranslationUnit] = []
    for k, cue in enumerate(cues):
        if not cue.text:
            continue  # nothing to translate in an empty cue
        limit = cue_limit(cue.end - cue.start, profile)
        units.append(TranslationUnit(
            id=cue_unit_id(cue.index), kind="cue", source=cue.text, start=cue.start, end=cue.end,
            limit=limit, notes=_cue_notes(cues, k, screen, limit, spans, target_language)
            + ((Note("language", OTHER_LANGUAGE_NOTE.format(cue.language, source_language)),) if cue.language else ()),
            cue_index=cue.index,
        ))
    units += _caption_units(captions, screen, spans, profile, source_language, target_language)
    per_scene: dict[int, list[ScreenText]] = {}
    for item in screen:
        per_scene.setdefault(item.scene, []).append(item)
    for scene, items in per_scene.items():
        for n, item in enumerate(items, start=1):
            limit = screen_limit(item.text, item.box)
            notes = (
                Note("time", f"visible {clock(item.start)} - {clock(item.end)}"),
                Note("scene", f"scene {scene}, text {n} of {len(items)} in reading order"),
                Note("position", _position(item.box)),
                Note("element", "guessed from size and place: " + _role(item, items)),
                Note("limit", limit.basis),
                *_reading_notes(item.flags),
            )
            translate = translatable(item.text, [i.text for i in items]) and OVERLAY not in item.flags
            if not translate:
                notes += (Note("translate", OVERLAY_NOTE if OVERLAY in item.flags else NOTHING_TO_TRANSLATE_NOTE),)
            units.append(TranslationUnit(
                id=f"screen-{scene}-{n}", kind="screen", source=item.text, start=item.start,
                end=item.end, limit=limit, notes=notes, scene=scene, box=item.box, translate=translate,
            ))
    return TranslationDocument(job_id, source_language, profile_name, tuple(units), target_language)
