"""Burned-in caption cues: the readings of the stretches a caption was seen in, merged.

Identical readings of neighbouring stretches become one cue first (case, spaces and
punctuation aside); then a brief run (a frame or two the footage disturbed) joins a neighbour
whose reading it loosely matches or is a fuzzy part of; last, a flash (a frame or two of a
caption fading in or out, read as fragments) joins the caption it touches. The reading held
longest wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipelines.ocr.scripts import script_of
from pipelines.ocr.tracking import SCRIPT_UNCERTAIN, letters_and_digits, similarity


@dataclass(frozen=True)
class CaptionCue:
    """One burned-in caption: its time span (seconds), lines top to bottom, confidence (0-1),
    and its readings' flags (``script-uncertain``: see ``pipelines.ocr.scripts``)."""

    start: float
    end: float
    lines: tuple[str, ...]
    confidence: float
    flags: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The lines joined by a line break."""
        return "\n".join(self.lines)


@dataclass
class Span:
    """One stretch read: time span (seconds), lines, confidence, flags."""

    start: float
    end: float
    lines: tuple[str, ...]
    confidence: float
    flags: tuple[str, ...] = ()


@dataclass
class _Run:
    """Neighbouring spans taken for one caption: time span, time each reading was held."""

    start: float
    end: float
    held: dict[tuple[str, ...], float]
    confidence: float

    @property
    def best(self) -> tuple[str, ...]:
        return max(self.held, key=lambda k: self.held[k])

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def join(self, other: _Run) -> None:
        for lines, seconds in other.held.items():
            self.held[lines] = self.held.get(lines, 0.0) + seconds
        self.start = min(self.start, other.start)
        self.end = max(self.end, other.end)
        self.confidence = max(self.confidence, other.confidence)


def _join_runs(runs: list[_Run], gap: float, same: Callable[[_Run, _Run], bool]) -> list[_Run]:
    out: list[_Run] = []
    for run in runs:
        if out and run.start - out[-1].end <= gap and same(out[-1], run):
            out[-1].join(run)
        else:
            out.append(run)
    return out


def _join_flashes(runs: list[_Run], gap: float, flash: float) -> list[_Run]:
    """Runs shorter than ``flash`` seconds joined to the longer run they touch (at most ``gap``
    apart; the nearer one, the next on a tie: a fade-in shows the coming caption's letters)."""
    out: list[_Run] = []
    for k, run in enumerate(runs):
        if run.seconds >= flash:
            out.append(run)
            continue
        before = out[-1] if out and out[-1].seconds >= flash and run.start - out[-1].end <= gap else None
        after = runs[k + 1] if k + 1 < len(runs) else None
        if after is not None and not (after.seconds >= flash and after.start - run.end <= gap):
            after = None
        if after is not None and (before is None or after.start - run.end <= run.start - before.end):
            after.join(run)  # ``after`` comes next in ``out``, its start now the flash's
        elif before is not None:
            before.join(run)
        else:
            out.append(run)  # alone: kept as it is
    return out


def merge_spans(spans: list[Span], gap: float, same_text: float, short: float = 0.4,
                flash: float = 0.2) -> list[CaptionCue]:
    """Neighbouring spans with the same reading become one cue (the reading held longest wins).

    Then a short run (under ``short`` seconds: a frame or two the footage disturbed) next to a
    caption joins it when its reading is a looser match or a fuzzy part of the caption's. Last,
    a run under ``flash`` seconds (a caption fading in or out, read as fragments: no reading
    matches it) joins the caption it touches. No caption a viewer could read is that brief (a
    0.4 s one is 4 samples); a flash with no caption beside it stays a cue of its own.
    """
    flags = {s.lines: s.flags for s in spans}
    runs = [_Run(s.start, s.end, {s.lines: s.end - s.start}, s.confidence)
            for s in sorted(spans, key=lambda s: s.start)]
    runs = _join_runs(runs, gap, lambda a, b: same_caption(" ".join(a.best), " ".join(b.best), same_text))

    def brief_part(a: _Run, b: _Run) -> bool:
        brief = min(a.end - a.start, b.end - b.start) < short
        return brief and loosely_same(" ".join(a.best), " ".join(b.best))

    runs = _join_runs(runs, gap, brief_part)
    runs = _join_flashes(runs, gap, flash)
    return [CaptionCue(round(r.start, 3), round(r.end, 3), r.best, round(r.confidence, 4), _cue_flags(r, flags))
            for r in runs]


def _cue_flags(run: _Run, flags: dict[tuple[str, ...], tuple[str, ...]]) -> tuple[str, ...]:
    """The flags of a run's reading held longest; and ``script-uncertain`` where that reading is
    Latin and another reading of the same caption was flagged so: PP-OCRv5 writes Cyrillic in
    Latin look-alikes, and a look-alike reading it is sure of with only a quarter of its words
    spelt as no Latin word is ("ChaHana OTkpoMTe MeHro paina" for "Сначала откройте меню файла"
    over a bright sky) would otherwise reach the cue unflagged where the same caption's other
    readings were flagged."""
    own = flags.get(run.best, ())
    if SCRIPT_UNCERTAIN in own or script_of(" ".join(run.best)) != "LATIN":
        return own
    if any(SCRIPT_UNCERTAIN in flags.get(lines, ()) for lines in run.held):
        return tuple(sorted({*own, SCRIPT_UNCERTAIN}))
    return own


def loosely_same(a: str, b: str, max_slips: float = 0.25) -> bool:
    """Whether the shorter reading matches some part of the longer one with at most
    ``max_slips`` edits per letter (a caption read with a line or a word missing)."""
    x, y = sorted((letters_and_digits(a), letters_and_digits(b)), key=len)
    if not x:
        return False
    # Edit distance of x against the best-matching substring of y (free start and end in y).
    previous = [0] * (len(y) + 1)
    for i, cx in enumerate(x, 1):
        current = [i]
        for j, cy in enumerate(y, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (cx != cy)))
        previous = current
    return min(previous) <= max_slips * len(x)


def same_caption(a: str, b: str, threshold: float = 0.9) -> bool:
    """Whether two readings are of one caption: letters and digits alike (case, spaces and
    punctuation aside) up to ``threshold`` (1 - normalised edit distance)."""
    na, nb = letters_and_digits(a), letters_and_digits(b)
    return na == nb or (bool(na) and bool(nb) and similarity(na, nb) >= threshold)
