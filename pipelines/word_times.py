"""Word times moved out of the silence around them, measured on the audio.

Whisper times words from its attention over 20 ms steps, and around pauses it is off: the last
word of a phrase runs on into the pause after it, a word starts in the silence before it, and
some words come out zero-length. Subtitle cues start and end on these times and
``subtitles.json`` hands them to users. As stable-ts's ``suppress_silence`` does, silence is
measured on the waveform by its loudness (no model) and word edges are moved out of it.

The rule (``Silence``): the audio's loudness is the RMS of 20 ms windows every 10 ms; its speech
level is the 95th percentile of that loudness over the whole audio, its noise floor the 5th; a
step is silent when it is under both the floor + ``FLOOR_MARGIN_DB`` (6 dB) and the level -
``BELOW_SPEECH_DB`` (25 dB): as quiet as the pauses, and far under the speech; a sound of 20 ms
or less between silent steps (a click) is counted silent. (Against Silero VAD on the real
recordings of ../shared/testdata, silent stretches of 0.1 s or more by this threshold held 55 % of
what VAD calls non-speech and 1.9 % of what it calls speech; 35 dB under the level alone held 37 %
and 1.5 %, 10 dB over the floor 66 % and 4.3 %.) Audio whose level is under ``MIN_LEVEL_DB`` (digital silence, a fake) has no
speech to measure: its words are left alone, as they are when the audio cannot be had. Where
music or noise fills the pauses, little or nothing is silent, and little or nothing moves.

``fit_to_speech`` then moves, for each word, in this order:

- an edge that lies in a silent stretch of at least ``MIN_SILENCE_S``: a start to where speech
  starts after it, an end back to where speech stops before it;
- across a silent stretch of at least ``MIN_INNER_SILENCE_S`` inside a word, the word's short
  side of speech when it is under ``INNER_SIDE_SHARE`` of the long side (a neighbour's tail or a
  breath that Whisper's word reached over): the word keeps the side it is spoken on;
- a word left (or made) shorter than ``MIN_WORD_S`` is widened to it, first into the free time
  on the side that sounds, then the other side, then by taking time from a neighbour longer
  than it needs.

An edge moves only across the silence it lies in (a word wholly in a pause, to that pause's
nearer end), so a word never passes its neighbours; widening stops at them. No word's text
changes, none is added or dropped. Measured by ``bench/bench_word_times.py``.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pipelines.asr import Segment, Word

HOP_S = 0.01  # loudness is measured every 10 ms ...
WINDOW_S = 0.02  # ... over 20 ms windows
LEVEL_PERCENTILE = 95.0  # the speech level: loud speech, whatever share of the audio is pause
FLOOR_PERCENTILE = 5.0  # the noise floor: the pauses (in audio without any, the quietest speech)
FLOOR_MARGIN_DB = 6.0  # a silent step is within this of the floor ...
BELOW_SPEECH_DB = 25.0  # ... and at least this far under the speech level
MIN_LEVEL_DB = -60.0  # a speech level under this (dBFS) is no speech: nothing is measured
BLIP_STEPS = 2  # a sound of 20 ms or less inside a pause (a click) is part of the pause
MIN_SILENCE_S = 0.15  # shorter silent stretches (a stop's closure) are part of speech
MIN_INNER_SILENCE_S = 0.2  # a pause inside a word this long splits it into two sides
INNER_SIDE_SHARE = 0.5  # ... and its side of speech under this share of the other is not the word
MIN_WORD_S = 0.1  # the shortest a word is made (stable-ts's min_word_dur)


@dataclass(frozen=True)
class Silence:
    """Where an audio track is silent, measured by loudness (the module docstring's rule).

    Attributes:
        silent: per 10 ms step from 0 s, whether it is silent.
        level_db: the speech level (dBFS).
        threshold_db: the loudness (dBFS) under which a step is silent.
        duration: the audio's length in seconds.
    """

    silent: np.ndarray
    level_db: float
    threshold_db: float
    duration: float

    @classmethod
    def measure(cls, audio: np.ndarray | None, sample_rate: int = 16_000) -> Silence | None:
        """The silence of mono ``audio``; None when it is missing or holds no speech to measure."""
        if audio is None or audio.ndim != 1:
            return None
        hop = round(HOP_S * sample_rate)
        steps = len(audio) // hop
        if steps < 3:
            return None
        frames = audio[: steps * hop].reshape(steps, hop).astype(np.float32, copy=False)
        energy = np.einsum("ij,ij->i", frames, frames, dtype=np.float64)
        # each 10 ms step takes the 20 ms window centred on it: itself and half of each neighbour
        padded = np.concatenate(([energy[0]], energy, [energy[-1]]))
        window = (0.5 * padded[:-2] + energy + 0.5 * padded[2:]) / round(WINDOW_S * sample_rate)
        db = 10.0 * np.log10(window + 1e-12)
        floor, level = (float(x) for x in np.percentile(db, [FLOOR_PERCENTILE, LEVEL_PERCENTILE]))
        if level < MIN_LEVEL_DB:
            return None
        threshold = min(floor + FLOOR_MARGIN_DB, level - BELOW_SPEECH_DB)
        return cls(_without_blips(db < threshold), level, threshold, len(audio) / sample_rate)

    def runs(self, min_s: float = MIN_SILENCE_S) -> list[tuple[float, float]]:
        """The silent stretches at least ``min_s`` long, (start, end) in seconds, in order."""
        flags = np.concatenate(([False], self.silent, [False])).astype(np.int8)
        edges = np.flatnonzero(np.diff(flags))
        starts, ends = edges[0::2], edges[1::2]
        keep = (ends - starts) * HOP_S >= min_s - 1e-9
        return [(round(float(a) * HOP_S, 3), round(min(float(b) * HOP_S, self.duration), 3))
                for a, b in zip(starts[keep], ends[keep], strict=True)]

    def within(self, start: float, end: float, min_s: float = MIN_SILENCE_S) -> list[tuple[float, float]]:
        """The parts of ``start``-``end`` in silent stretches at least ``min_s`` long (the
        stretch's length counts, not the part's)."""
        return [(max(a, start), min(b, end)) for a, b in self.runs(min_s) if a < end and b > start]

    def sounding(self, start: float, end: float) -> float:
        """The share of ``start``-``end`` that is not silent (0 for an empty span)."""
        i, j = max(0, int(start / HOP_S)), min(len(self.silent), int(np.ceil(end / HOP_S)))
        return float(1.0 - self.silent[i:j].mean()) if j > i else 0.0


def _without_blips(silent: np.ndarray) -> np.ndarray:
    """``silent`` with sounding runs of up to ``BLIP_STEPS`` between silent steps made silent: a
    click does not cut a pause in two."""
    sounding = np.concatenate(([False], ~silent, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(sounding))
    starts, ends = edges[0::2], edges[1::2]
    blips = (ends - starts <= BLIP_STEPS) & (starts > 0) & (ends < len(silent))
    out = silent.copy()
    for a, b in zip(starts[blips], ends[blips], strict=True):
        out[a:b] = True
    return out


def fit_to_speech(words: Sequence[Word], silence: Silence | None) -> list[Word]:
    """``words`` (in time order) with their edges moved out of ``silence`` and no word shorter
    than ``MIN_WORD_S`` where there is room (see the module docstring). Without a measure of
    silence (None: no audio, or none that holds speech) the words come back as they are."""
    if silence is None or not words:
        return list(words)
    runs = silence.runs(MIN_SILENCE_S)
    inner = [r for r in runs if r[1] - r[0] >= MIN_INNER_SILENCE_S]
    spans = [_out_of_silence(max(w.start, 0.0), max(w.end, w.start, 0.0), runs, inner, silence.duration)
             for w in words]
    spans = _widened(spans, silence)
    return [w if (w.start, w.end) == span else replace(w, start=round(span[0], 3), end=round(span[1], 3))
            for w, span in zip(words, spans, strict=True)]


def fit_segments(segments: Sequence[Segment], audio: np.ndarray | None, sample_rate: int = 16_000) -> list[Segment]:
    """``fit_to_speech`` over the words of all ``segments`` at once (a word's neighbours may be in
    the next segment), measured on ``audio``; a segment whose words moved spans them, from its
    first word's start to its last word's end (so it holds no silence they left, and overlaps no
    other segment as long as their words do not)."""
    words = [w for s in segments for w in s.words]
    silence = Silence.measure(audio, sample_rate) if words else None
    if silence is None:
        return list(segments)
    fitted = iter(fit_to_speech(words, silence))
    out = []
    for seg in segments:
        mine = tuple(next(fitted) for _ in seg.words)
        if mine == seg.words:
            out.append(seg)
            continue
        out.append(replace(seg, words=mine, start=mine[0].start, end=mine[-1].end))
    return out


def _out_of_silence(start: float, end: float, runs: list[tuple[float, float]], inner: list[tuple[float, float]],
                    duration: float) -> tuple[float, float]:
    """One word's span with its edges out of the silent ``runs``; a word wholly in one goes to
    the nearer edge of it, at no length (widened afterwards)."""
    if start >= duration or not runs:  # past the audio measured: nothing known about it
        return start, end
    at = bisect.bisect_right(runs, (start, np.inf)) - 1  # the last run starting at or before start
    if at >= 0 and end <= runs[at][1]:  # wholly in silence: to the nearer edge where speech is
        a, b = runs[at]
        # The audio's own ends are not speech: a block's leading (trailing) silence has speech
        # after (before) it only.
        edges = [e for e in (a, b) if 0.0 < e < duration]
        if not edges:
            return start, end
        edge = min(edges, key=lambda e: abs(e - (start + end) / 2))
        return edge, edge
    if at >= 0 and start < runs[at][1]:  # the start is in silence: where the speech starts
        if runs[at][1] >= duration:  # ... none does: the word runs on past the audio
            return start, end
        start = min(runs[at][1], end)
    k = bisect.bisect_left(runs, (end, -np.inf)) - 1  # the last run starting before end
    if k >= 0 and runs[k][0] < end <= runs[k][1] and runs[k][0] >= start:  # the end is in silence
        end = runs[k][0]
    first = bisect.bisect_right(inner, (start, np.inf))
    for a, b in inner[first : bisect.bisect_left(inner, (end, -np.inf))]:  # a long pause inside: the word is
        if b < end:  # on its long side
            before, after = a - start, end - b
            if before < INNER_SIDE_SHARE * after:
                start = b
            elif after < INNER_SIDE_SHARE * before:
                end = a
    return start, end


def _widened(spans: list[tuple[float, float]], silence: Silence) -> list[tuple[float, float]]:
    """Each span shorter than ``MIN_WORD_S`` widened to it where there is room: the free time
    beside it (the sounding side first), then time from a neighbour that has more than it needs.
    A neighbour's edge is never passed; words that overlapped as Whisper timed them are left so."""
    out = list(spans)
    n = len(out)
    for i in range(n):
        start, end = out[i]
        need = MIN_WORD_S - (end - start)
        if need <= 1e-9:
            continue
        low = out[i - 1][1] if i else 0.0
        high = out[i + 1][0] if i + 1 < n else silence.duration
        if low > start or high < end:  # overlapping neighbours (Whisper's own): not ours to untangle
            continue
        left_first = silence.sounding(start - need, start) > silence.sounding(end, end + need)
        for side in ("left", "right") if left_first else ("right", "left"):
            if side == "left":
                take = min(need, start - low)
                start -= take
            else:
                take = min(need, high - end)
                end += take
            need -= take
        # still short: the longer neighbour it touches gives time down to its own minimum
        for j, side in sorted(((j, s) for j, s in ((i - 1, "left"), (i + 1, "right")) if 0 <= j < n),
                              key=lambda js: out[js[0]][0] - out[js[0]][1]):
            if need <= 1e-9:
                break
            a, b = out[j]
            spare = max(0.0, (b - a) - MIN_WORD_S)
            if side == "left" and abs(b - start) < 1e-9:
                take = min(need, spare)
                out[j], start = (a, b - take), start - take
                need -= take
            elif side == "right" and abs(a - end) < 1e-9:
                take = min(need, spare)
                out[j], end = (a + take, b), end + take
                need -= take
        out[i] = (start, end)
    return out
