"""From word-timed speech to subtitle cues that follow a style profile.

The segmenter chooses cue boundaries over the whole word sequence at once (dynamic
programming): each candidate cue pays for what it breaks (too many characters, too long, too
fast to read, a pause inside it) and each boundary pays for where it falls (after a full stop is
best; between an article and its noun is worst). Lines inside a cue are broken the same way;
with video, a cut in a pause between words is a good place for a boundary and a cue that spans
one pays. Timing follows the profile and the picture (``pipelines.cue_timing``: lag-out and
lead-in for reading time, shot changes, words rebalanced between neighbours). A cue that still
cannot meet a rule is kept and flagged with the rule it breaks, never silently bent.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from pipelines.asr import Transcript, Word
from pipelines.cue_timing import ReadingSpeedReport, reading_speed_report, rebalance, text_len
from pipelines.exceptions import OptionsError
from pipelines.linebreaks import break_cost, join_words, joins_tight, layout_lines, separators
from pipelines.vocabulary import VocabularyWindow


@dataclass(frozen=True)
class StyleProfile:
    """Subtitle style rules. Profiles are data: copy one with ``with_overrides`` to customise.

    Attributes:
        max_line_chars: characters per line, spaces and punctuation included.
        max_lines: lines per cue.
        max_cps: reading speed limit in characters per second (None: not limited by CPS).
        max_wpm: reading speed limit in words per minute (None: not limited by WPM).
        min_duration_s / max_duration_s: how long a cue stays on screen.
        min_gap_frames / fps: the smallest gap between two cues, in frames at ``fps``.
        close_gap_s: gaps shorter than this are closed down to the minimum gap (less flicker).
        max_pause_in_cue_s: a silence longer than this inside a cue is penalised (split there).
        lead_in_frames: how early a cue may appear before its speech, for reading time.
        lag_out_frames: how long a cue may stay after its speech, for reading time (Netflix: 12).
        shot_snap_frames: an in- or out-time this close to a shot change moves onto it.
    """

    name: str
    max_line_chars: int = 42
    max_lines: int = 2
    max_cps: float | None = 20.0
    max_wpm: float | None = None
    min_duration_s: float = 5 / 6
    max_duration_s: float = 7.0
    min_gap_frames: int = 2
    fps: float = 24.0
    close_gap_s: float = 0.5
    max_pause_in_cue_s: float = 1.0
    lead_in_frames: int = 3
    lag_out_frames: int = 12
    shot_snap_frames: int = 12
    description: str = ""

    def __post_init__(self) -> None:
        problems = []
        if self.max_line_chars < 10:
            problems.append("max_line_chars must be at least 10")
        if not 1 <= self.max_lines <= 4:
            problems.append("max_lines must be 1 to 4")
        if self.max_cps is not None and self.max_cps <= 0:
            problems.append("max_cps must be positive")
        if self.max_wpm is not None and self.max_wpm <= 0:
            problems.append("max_wpm must be positive")
        if not 0 < self.min_duration_s < self.max_duration_s:
            problems.append("need 0 < min_duration_s < max_duration_s")
        if self.fps <= 0 or self.min_gap_frames < 0:
            problems.append("fps must be positive and min_gap_frames not negative")
        if min(self.lead_in_frames, self.lag_out_frames, self.shot_snap_frames) < 0:
            problems.append("lead_in_frames, lag_out_frames and shot_snap_frames must not be negative")
        if problems:
            raise OptionsError(f"Invalid subtitle profile {self.name!r}: {'; '.join(problems)}.")

    @property
    def min_gap_s(self) -> float:
        return self.min_gap_frames / self.fps

    @property
    def lead_in_s(self) -> float:
        return self.lead_in_frames / self.fps

    @property
    def lag_out_s(self) -> float:
        return self.lag_out_frames / self.fps

    @property
    def shot_snap_s(self) -> float:
        return self.shot_snap_frames / self.fps

    def with_overrides(self, overrides: dict[str, Any]) -> StyleProfile:
        """A copy with some fields changed, e.g. ``{"max_line_chars": 37}``. Each value must be of
        its field's type: an integer (``37.0`` and ``"37"`` too), a finite number (``"17.5"`` too),
        text; ``None`` (or the text ``"none"``) lifts an optional limit (``max_cps``, ``max_wpm``).
        Numbers as text are taken as the stage options take them (``app.stages.options``).

        Raises:
            OptionsError: an unknown field (naming the valid ones), a value of the wrong type
                (naming the field, what it wants and what it got), or a profile out of range.
        """
        kinds = {f.name: str(f.type) for f in fields(self)}  # "int", "float | None", ...
        unknown = set(overrides) - set(kinds)
        if unknown:
            raise OptionsError(
                f"Unknown profile field(s): {', '.join(sorted(unknown))}. Valid: {', '.join(sorted(kinds))}."
            )
        wants = {"int": "an integer", "float": "a number", "str": "text"}
        clean: dict[str, Any] = {}
        for key, value in overrides.items():
            kind = kinds[key].removesuffix(" | None")
            optional = kind != kinds[key]
            says_none = value is None or str(value).strip().lower() in ("none", "null")
            if kind in ("int", "float") and isinstance(value, str):  # "37", as stage options take text
                value = _number_text(value)
            number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            if optional and says_none:
                clean[key] = None
            elif kind not in wants:  # a field of another type: its own checks judge it
                clean[key] = value
            elif kind == "int" and number and float(value).is_integer():
                clean[key] = int(value)
            elif kind == "float" and number:
                clean[key] = float(value)
            elif kind == "str" and isinstance(value, str):
                clean[key] = value
            else:
                raise OptionsError(f"profile_overrides.{key} must be {wants[kind]}"
                                   f"{' or null (no limit)' * optional}, got {value!r}.")
        return replace(self, **clean)


def _number_text(value: str) -> object:
    """The number ``value`` spells (``"37"``, ``" 17.5 "``), else ``value`` itself (then refused)."""
    try:
        return int(value.strip())
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


PROFILES: dict[str, StyleProfile] = {
    p.name: p
    for p in (
        StyleProfile("netflix-en", description="Netflix English: 42 chars x 2 lines, 20 CPS, 5/6-7 s."),
        StyleProfile(
            "netflix-en-children",
            max_cps=17.0,
            description="Netflix English for children's programmes: 17 CPS.",
        ),
        # Netflix's guides for these languages: characters a line and a second (a line of Chinese
        # is its characters side by side, ``linebreaks.join_words``)
        StyleProfile("netflix-zh", max_line_chars=16, max_cps=9.0,
                     description="Netflix Chinese: 16 characters x 2 lines, 9 characters a second."),
        StyleProfile("netflix-ja", max_line_chars=13, max_cps=4.0,
                     description="Netflix Japanese: 13 characters x 2 lines, 4 characters a second."),
        StyleProfile("netflix-ko", max_line_chars=16, max_cps=12.0,
                     description="Netflix Korean: 16 characters x 2 lines, 12 characters a second."),
        StyleProfile(
            "bbc",
            max_line_chars=37,
            max_cps=None,
            max_wpm=180.0,
            fps=25.0,
            description="BBC: 37 chars a line, 160-180 words a minute.",
        ),
    )
}


# The profile for speech in these languages where none is chosen (``profile_for``); netflix-en else.
LANGUAGE_PROFILES = {"zh": "netflix-zh", "yue": "netflix-zh", "ja": "netflix-ja", "ko": "netflix-ko"}


def profile_for(language: str) -> StyleProfile:
    """Netflix's profile for speech in ``language``: its own for Chinese, Japanese and Korean,
    the English one (42 characters a line, 20 a second) for the others."""
    return PROFILES[LANGUAGE_PROFILES.get(language, "netflix-en")]


@dataclass(frozen=True)
class Cue:
    """One subtitle. ``flags`` names each rule it breaks (empty when it follows the profile);
    ``language``: "" when spoken in the transcript's language, else the one it was heard in."""

    index: int
    start: float
    end: float
    lines: tuple[str, ...]
    words: tuple[Word, ...]
    flags: tuple[str, ...] = ()
    cps: float = 0.0
    wpm: float = 0.0
    confidence: float = 1.0
    language: str = ""

    @property
    def text(self) -> str:
        return join_words(self.lines)


@dataclass(frozen=True)
class SubtitleResult:
    """Cues of one transcript, with the shot changes they were timed to, how readable they are and
    the on-screen vocabulary offered to and used by the recogniser."""

    cues: tuple[Cue, ...]
    language: str
    language_probability: float
    model: str
    profile: str
    duration: float
    text: str = field(default="")
    shot_changes: tuple[float, ...] = ()
    reading_speed: ReadingSpeedReport | None = None
    vocabulary: tuple[VocabularyWindow, ...] = ()
    unheard: tuple[tuple[float, float], ...] = ()  # speech left without text (``Transcript.unheard``)


GLUE_GAP_S = 0.3  # a piece of a word follows the piece before it at once; a new segment may not
# marks that never stand alone: a word of them alone joins the word before it
_MARKS = frozenset(".,!?;:…。，、！？；：")


def _clean_words(words: Sequence[Word]) -> list[Word]:
    """Whole words, stripped, in monotonic times (Whisper's word times can overlap slightly).

    Whisper's words carry their leading space: a piece without one continues the word before it
    where the script is written with spaces ("42" + "-line": one word "42-line", never a line or
    a cue starting "-line"); in Chinese or Japanese every word comes without one and each stays a
    word (``linebreaks.join_words`` writes them side by side). A word of punctuation alone (".")
    joins the word before it, or is dropped when there is none: it is never a cue of its own."""
    out: list[Word] = []
    last_start = 0.0
    for w in words:
        text = w.text.strip()
        if not text:
            continue
        start = max(w.start, last_start)
        end = max(w.end, start)
        marks = all(c in _MARKS for c in text)
        if out and (marks or (not w.text[:1].isspace() and not joins_tight(out[-1].text, text))):
            prev = out[-1]
            close = start - prev.end <= GLUE_GAP_S
            if marks or close:
                out[-1] = Word(prev.start, max(prev.end, end) if close else prev.end, prev.text + text,
                               min(prev.probability, w.probability))
                continue
        if marks:
            continue
        out.append(Word(start, end, text, w.probability))
        last_start = start
    return out


class _Segmenter:
    """Dynamic programming over cue boundaries for one word list and profile."""

    PER_CUE = 2.0
    CUT_IN_CUE = 8.0  # a shot change in a pause inside the cue: break there instead

    def __init__(self, words: list[Word], profile: StyleProfile, cuts: Sequence[float] = ()) -> None:
        self.w = words
        self.p = profile
        self.max_chars = profile.max_line_chars * profile.max_lines
        self.cuts = sorted(cuts)
        # chars[i]: characters of words[:i], each with the space (if any) written before it
        # (text_len by difference, less the space before the span's first word)
        self.seps = separators([x.text for x in words])
        self.chars = list(itertools.accumulate((len(x.text) + sep for x, sep in zip(words, self.seps, strict=True)),
                                               initial=0))
        self.layouts: dict[tuple[int, int], float | None] = {}

    def _text_len(self, j: int, i: int) -> int:
        """``text_len(w[j:i])`` from the prefix sums."""
        return self.chars[i] - self.chars[j] - self.seps[j] if i > j else 0

    def _layout_cost(self, j: int, i: int) -> float | None:
        """Cost of the best line layout of words j..i-1 (None: none fits), computed once a span."""
        if (j, i) not in self.layouts:
            layout = layout_lines([x.text for x in self.w[j:i]], self.p.max_line_chars, self.p.max_lines)
            self.layouts[(j, i)] = None if layout is None else layout[1]
        return self.layouts[(j, i)]

    def _cut_in_pause(self, k: int) -> bool:
        """Whether a shot change falls in the pause between word k and word k + 1."""
        at = bisect.bisect_left(self.cuts, self.w[k].end - 1e-3)
        return at < len(self.cuts) and self.cuts[at] <= self.w[k + 1].start + 1e-3

    def cue_cost(self, j: int, i: int) -> float:
        w, p = self.w, self.p
        chars = self._text_len(j, i)
        if chars > self.max_chars and i - j > 1:
            return math.inf
        cost = self.PER_CUE
        span = w[i - 1].end - w[j].start
        if span > p.max_duration_s and i - j > 1:
            cost += 50.0 + 10.0 * (span - p.max_duration_s)
        for k in range(j, i - 1):
            pause = w[k + 1].start - w[k].end
            if pause > p.max_pause_in_cue_s:
                cost += 10.0 + 5.0 * (pause - p.max_pause_in_cue_s)
            if self.cuts and self._cut_in_pause(k):
                cost += self.CUT_IN_CUE
        # Reading speed against the time this cue could get: lead-in and lag-out into silence.
        limit = min(w[i].start - p.min_gap_s if i < len(w) else math.inf, w[i - 1].end + p.lag_out_s)
        first = max(w[j].start - p.lead_in_s, w[j - 1].end + p.min_gap_s if j else 0.0)
        first = min(first, w[j].start)
        available = max(min(limit, first + p.max_duration_s) - first, span, 0.05)
        if available < p.min_duration_s:
            cost += 6.0 * (p.min_duration_s - available)
        if p.max_cps and chars / available > p.max_cps:
            cost += 4.0 * (chars / available / p.max_cps - 1.0) * (i - j)
        if p.max_wpm and (i - j) * 60.0 / available > p.max_wpm:
            cost += 4.0 * ((i - j) * 60.0 / available / p.max_wpm - 1.0) * (i - j)
        if chars > p.max_line_chars:
            layout = self._layout_cost(j, i)
            if layout is None:
                return math.inf if i - j > 1 else cost + 100.0
            cost += 0.5 * layout
        if i < len(w):
            cost += break_cost(w[i - 1].text, w[i].text)
        return cost

    def boundaries(self) -> list[tuple[int, int]]:
        n = len(self.w)
        best = [math.inf] * (n + 1)
        back = [0] * (n + 1)
        best[0] = 0.0
        for i in range(1, n + 1):
            j = i - 1
            while j >= 0:
                if self._text_len(j, i) > self.max_chars and i - j > 1:
                    break
                c = best[j] + self.cue_cost(j, i)
                if c < best[i]:
                    best[i], back[i] = c, j
                j -= 1
        spans = []
        i = n
        while i > 0:
            spans.append((back[i], i))
            i = back[i]
        return spans[::-1]


def _flags(
    cue_words: Sequence[Word], lines: tuple[str, ...] | None, start: float, end: float, p: StyleProfile
) -> tuple[tuple[str, ...], float, float]:
    flags = []
    duration = end - start
    chars = text_len(cue_words)
    cps = chars / duration if duration > 0 else math.inf
    wpm = len(cue_words) * 60.0 / duration if duration > 0 else math.inf
    if lines is None or any(len(line) > p.max_line_chars for line in lines):
        flags.append("max_line_chars")
    if lines is not None and len(lines) > p.max_lines:
        flags.append("max_lines")
    # Times are kept to the millisecond: allow that much rounding before calling a rule broken.
    if p.max_cps and cps > p.max_cps * 1.001:
        flags.append("max_cps")
    if p.max_wpm and wpm > p.max_wpm * 1.001:
        flags.append("max_wpm")
    if duration < p.min_duration_s - 1e-3:
        flags.append("min_duration")
    if duration > p.max_duration_s + 1e-3:
        flags.append("max_duration")
    return tuple(flags), cps, wpm


def segment_words(words: Sequence[Word], profile: StyleProfile, shot_changes: Sequence[float] = (),
                  until: float = math.inf) -> list[Cue]:
    """Cut word-timed speech into cues that follow ``profile``; see the module docstring.

    ``shot_changes``: times of the cuts in the picture (``pipelines.shots``), none for audio;
    ``until``: the media's end, which no cue passes.
    """
    clean = _clean_words(words)
    if not clean:
        return []
    cuts = sorted(shot_changes)
    spans = _Segmenter(clean, profile, cuts).boundaries()
    spans, times = rebalance(spans, clean, profile, cuts, until=until)
    cues: list[Cue] = []
    for n, ((j, i), (start, end)) in enumerate(zip(spans, times, strict=True), start=1):
        cue_words = tuple(clean[j:i])
        layout = layout_lines([w.text for w in cue_words], profile.max_line_chars, profile.max_lines)
        lines = layout[0] if layout else None
        flags, cps, wpm = _flags(cue_words, lines, start, end, profile)
        if lines is None:  # a single word longer than a line: keep it whole, flagged
            lines = (join_words([w.text for w in cue_words]),)
        confidence = sum(w.probability for w in cue_words) / len(cue_words)
        cues.append(
            Cue(n, start, end, lines, cue_words, flags, round(cps, 2), round(wpm, 1), round(confidence, 3))
        )
    return cues


def build_cues(transcript: Transcript, profile: StyleProfile, shot_changes: Sequence[float] = ()) -> SubtitleResult:
    """Subtitle cues for a whole transcript, timed to ``shot_changes`` where the media has video."""
    cues: list[Cue] = []
    until = transcript.duration if transcript.duration > 0 else math.inf
    for language, words in _language_runs(transcript):  # a cue never holds two languages
        run = [replace(c, index=len(cues) + n, language=language)
               for n, c in enumerate(segment_words(words, profile, shot_changes, until), start=1)]
        if cues and run and cues[-1].end > run[0].start - profile.min_gap_s:
            cues[-1], run[0] = _parted(cues[-1], run[0], profile)
        cues += run
    report = reading_speed_report([c.words for c in cues], [(c.start, c.end) for c in cues], profile)
    return SubtitleResult(
        cues=tuple(cues),
        language=transcript.language,
        language_probability=transcript.language_probability,
        model=transcript.model,
        profile=profile.name,
        duration=transcript.duration,
        text=join_words([c.text for c in cues]),
        shot_changes=tuple(shot_changes),
        reading_speed=report,
        vocabulary=transcript.vocabulary,
        unheard=transcript.unheard,
    )


def _parted(before: Cue, after: Cue, profile: StyleProfile) -> tuple[Cue, Cue]:
    """The last cue of one language and the first of the next, cut apart by the minimum gap (each
    run of one language is timed on its own: a short cue held to the minimum duration ran into the
    next): ``before`` ends at the gap before ``after``, not before its last word; ``after``
    starts after that gap."""
    end = max(before.words[-1].end, after.start - profile.min_gap_s)
    start = max(after.start, end + profile.min_gap_s)

    def timed(cue: Cue, start: float, end: float) -> Cue:
        flags, cps, wpm = _flags(cue.words, cue.lines, start, end, profile)
        return replace(cue, start=round(start, 3), end=round(end, 3), flags=flags, cps=round(cps, 2), wpm=round(wpm, 1))

    return timed(before, before.start, end), timed(after, start, after.end)


def _language_runs(transcript: Transcript) -> list[tuple[str, list[Word]]]:
    """The transcript's words in runs of one language (``Segment.language``; "" the transcript's)."""
    runs: list[tuple[str, list[Word]]] = []
    for seg in transcript.segments:
        if runs and runs[-1][0] == seg.language:
            runs[-1][1].extend(seg.words)
        else:
            runs.append((seg.language, list(seg.words)))
    return runs
