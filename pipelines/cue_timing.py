"""When each subtitle cue appears and goes: timed as subtitlers time them.

A cue is a span of recognised words. Its display starts at its first word and ends at its
last (the last cue never after the media's end), then, in this order (rules of the Netflix and
BBC guides):

1. Reading time and minimum duration: the out-time extends into the silence that follows, up to
   the profile's lag-out past the last word for reading speed (12 frames at Netflix), further
   for the minimum duration, always keeping the minimum gap before the next cue's speech;
   a cue still too fast starts earlier into the silence before it (lead-in). A gap left shorter
   than ``close_gap_s`` is closed to the minimum gap (chaining).
2. Shot changes (when the media has video): display never reaches across a cut its speech does
   not cross; an in- or out-time within the snap zone of a cut moves onto the cut (in-time on
   it, out-time the minimum gap before it), or away from it when the speech straddles it.
3. Rebalancing: a cue still too fast hands its first word to the cue before it, or its last word
   to the cue after it, when that helps and the text still lays out.

Whatever still breaks a rule is flagged by ``pipelines.subtitles``. ``reading_speed_report``
says how many cues are within reading speed, out of those whose timing allows it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pipelines.linebreaks import join_words, layout_lines
from pipelines.reading import ReadingProfile, reading_seconds

if TYPE_CHECKING:
    from pipelines.asr import Word

EPS = 1e-3
Span = tuple[int, int]
Times = tuple[float, float]


class TimingProfile(ReadingProfile, Protocol):
    """What cue timing needs of a style profile (``pipelines.subtitles.StyleProfile``)."""

    @property
    def min_duration_s(self) -> float: ...

    @property
    def max_duration_s(self) -> float: ...

    @property
    def close_gap_s(self) -> float: ...

    @property
    def max_pause_in_cue_s(self) -> float: ...

    @property
    def min_gap_s(self) -> float: ...

    @property
    def lead_in_s(self) -> float: ...

    @property
    def lag_out_s(self) -> float: ...

    @property
    def shot_snap_s(self) -> float: ...


def text_len(words: Sequence[Word]) -> int:
    """Characters of the words as written (``linebreaks.join_words``: spaces between them, none
    in Chinese or Japanese)."""
    return len(join_words([w.text for w in words]))


def needed_seconds(words: Sequence[Word], p: TimingProfile) -> float:
    """Seconds the words need on screen: reading time, at least the minimum duration."""
    return max(p.min_duration_s, reading_seconds(text_len(words), len(words), p) or 0.0)


def too_fast(words: Sequence[Word], start: float, end: float, p: TimingProfile) -> float:
    """How far over the reading-speed limit a cue shown ``start``-``end`` is (0 when within)."""
    need = reading_seconds(text_len(words), len(words), p) or 0.0
    return max(0.0, need - (end - start) - EPS)


@dataclass(frozen=True)
class _Bounds:
    lo: float  # earliest start: after the previous cue and the cut before the speech
    hi: float  # latest end: before the next cue's speech and the cut after this speech


def _bounds(s0: float, e0: float, prev_end: float, next_s0: float, cuts: Sequence[float], p: TimingProfile) -> _Bounds:
    lo, hi = max(0.0, prev_end + p.min_gap_s), next_s0 - p.min_gap_s
    k = bisect.bisect_right(cuts, s0 + EPS)
    if k:
        lo = max(lo, cuts[k - 1])
    k = bisect.bisect_left(cuts, e0 - EPS)
    if k < len(cuts):
        hi = min(hi, cuts[k] - p.min_gap_s)
    return _Bounds(lo, hi)


def _place(words: Sequence[Word], prev_end: float, next_s0: float, cuts: Sequence[float], p: TimingProfile,
           last: bool = False) -> Times:
    """In- and out-time of one cue; see the module docstring, rules 1 and 2. ``last``: the last
    cue, ``next_s0`` the minimum gap past the media's end."""
    s0, e0 = words[0].start, words[-1].end
    b = _bounds(s0, e0, prev_end, next_s0, cuts, p)
    start = max(s0, prev_end + p.min_gap_s)
    need = needed_seconds(words, p)
    reading = reading_seconds(text_len(words), len(words), p) or 0.0
    if last:  # the media ends here: nothing shows after it
        e0 = min(e0, max(next_s0 - p.min_gap_s, start + EPS))
    end = max(e0, start + EPS)
    end = max(end, min(start + reading, e0 + p.lag_out_s, b.hi))
    end = max(end, min(start + p.min_duration_s, b.hi))
    if end - start < need and s0 - p.lead_in_s < start:  # lead in, into the silence before
        start = max(b.lo, s0 - p.lead_in_s, min(start, end - need))
    if 0 < b.hi - end <= p.close_gap_s and not _cut_between(cuts, end, b.hi + p.min_gap_s):
        end = b.hi
    start, end = _snap(start, end, s0, e0, b, cuts, p)
    if end - start > p.max_duration_s:
        end = max(e0, start + p.max_duration_s)
    return round(start, 3), round(max(end, start + EPS), 3)


def _cut_between(cuts: Sequence[float], a: float, b: float) -> bool:
    k = bisect.bisect_right(cuts, a)
    return k < len(cuts) and cuts[k] < b


def _snap(start: float, end: float, s0: float, e0: float, b: _Bounds, cuts: Sequence[float],
          p: TimingProfile) -> Times:
    """Move in- and out-times that fall within the snap zone of a cut onto it or away from it."""
    z = p.shot_snap_s
    k = bisect.bisect_left(cuts, start - z)
    while k < len(cuts) and cuts[k] <= end + z:
        c = cuts[k]
        k += 1
        if c <= start + EPS and start - c < z and c >= b.lo - EPS:
            start = c  # in-time just after a cut: on the cut
        elif start < c < start + z:  # in-time just before a cut
            if c - z >= b.lo:
                start = c - z
            elif c - start <= z / 2 and end - c >= p.min_duration_s:
                start = c
        if end - EPS <= c - p.min_gap_s and c - p.min_gap_s - end < z and c - p.min_gap_s <= b.hi + EPS:
            end = c - p.min_gap_s  # out-time just before a cut: chain to it
        elif c - p.min_gap_s < end < c + z and c > start:  # out-time on or just after a cut
            if e0 <= c + EPS:
                end = max(c - p.min_gap_s, e0)
            elif c + z <= b.hi:
                end = c + z
    return start, end


def place_cues(spans: Sequence[Span], words: Sequence[Word], p: TimingProfile,
               cuts: Sequence[float] = (), until: float = math.inf) -> list[Times]:
    """In- and out-times of consecutive cues (rules 1 and 2), left to right, never overlapping;
    the last ends by ``until`` (the media's end) where its speech does."""
    times: list[Times] = []
    prev_end = -math.inf
    for k, (j, i) in enumerate(spans):
        last = k + 1 == len(spans)
        next_s0 = until + p.min_gap_s if last else words[spans[k + 1][0]].start
        start, end = _place(words[j:i], prev_end, next_s0, cuts, p, last)
        times.append((start, end))
        prev_end = end
    return times


def _excess(spans: Sequence[Span], times: Sequence[Times], words: Sequence[Word], p: TimingProfile) -> tuple[int, float]:
    """Cues too fast to read or shorter than the minimum duration, and by how many seconds in all."""
    over = [
        too_fast(words[j:i], s, e, p) + max(0.0, p.min_duration_s - (e - s) - EPS)
        for (j, i), (s, e) in zip(spans, times, strict=True)
    ]
    return sum(1 for x in over if x > 0), sum(over)


def _fits(words: Sequence[Word], p: TimingProfile) -> bool:
    return layout_lines([w.text for w in words], p.max_line_chars, p.max_lines) is not None


def rebalance(spans: list[Span], words: Sequence[Word], p: TimingProfile, cuts: Sequence[float] = (),
              passes: int = 3, until: float = math.inf) -> tuple[list[Span], list[Times]]:
    """Rule 3: move boundary words from too-fast cues to neighbours while it helps; re-time."""
    times = place_cues(spans, words, p, cuts, until)
    score = _excess(spans, times, words, p)
    for _ in range(passes):
        improved = False
        for k in range(len(spans)):
            (j, i), (s, e) = spans[k], times[k]
            if i - j < 2 or too_fast(words[j:i], s, e, p) == 0:
                continue
            options = []
            # A word moves only to a neighbour it is spoken close to.
            if k + 1 < len(spans) and words[i].start - words[i - 1].end <= p.max_pause_in_cue_s:
                options.append([*spans[:k], (j, i - 1), (i - 1, spans[k + 1][1]), *spans[k + 2:]])
            if k > 0 and words[j].start - words[j - 1].end <= p.max_pause_in_cue_s:
                options.append([*spans[:k - 1], (spans[k - 1][0], j + 1), (j + 1, i), *spans[k + 1:]])
            for candidate in options:
                if not all(_fits(words[a:b], p) for a, b in candidate[max(0, k - 1):k + 2]):
                    continue
                new_times = place_cues(candidate, words, p, cuts, until)
                new_score = _excess(candidate, new_times, words, p)
                if new_score < score:
                    spans, times, score, improved = candidate, new_times, new_score, True
                    break
        if not improved:
            break
    return spans, times


@dataclass(frozen=True)
class ReadingSpeedReport:
    """Cues within the profile's reading speed, out of all and out of those whose timing allows it.

    Timing allows it for a run of speech (cues whose speech is closer than lead-in + lag-out +
    the minimum gap) when the run, given its lead-in and lag-out, lasts as long as reading all
    its cues takes.
    """

    cues: int
    within: int
    allowed: int
    within_allowed: int

    @property
    def share_allowed(self) -> float:
        return self.within_allowed / self.allowed if self.allowed else 1.0


def reading_speed_report(cue_words: Sequence[Sequence[Word]], times: Sequence[Times],
                         p: TimingProfile) -> ReadingSpeedReport:
    within = [too_fast(w, s, e, p) == 0 for w, (s, e) in zip(cue_words, times, strict=True)]
    allowed = [False] * len(cue_words)
    k = 0
    while k < len(cue_words):
        m = k + 1
        while m < len(cue_words) and cue_words[m][0].start - cue_words[m - 1][-1].end < (
            p.lead_in_s + p.lag_out_s + p.min_gap_s
        ):
            m += 1
        run = cue_words[k:m]
        span = run[-1][-1].end + p.lag_out_s - (run[0][0].start - p.lead_in_s) - p.min_gap_s * (m - k - 1)
        need = sum(reading_seconds(text_len(w), len(w), p) or 0.0 for w in run)
        allowed[k:m] = [need <= span + EPS] * (m - k)
        k = m
    return ReadingSpeedReport(
        cues=len(cue_words),
        within=sum(within),
        allowed=sum(allowed),
        within_allowed=sum(1 for w, a in zip(within, allowed, strict=True) if w and a),
    )
