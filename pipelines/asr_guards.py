"""Guards on Whisper's output: repetition loops (``find_loops``, ``cut_loops``), words said
into silence (``is_silent_guess``) and words held over speech (``find_stretched``).
``pipelines.asr.WhisperEngine`` decides what to do with what they find (decode a loop or a
stretched word's stretch again without context, drop a silent guess)."""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.asr import AsrOptions, Segment, Word

_TOKEN = re.compile(r"[\w']+")
_WORD = re.compile(r"\w")
MAX_NGRAM = 8


def _tokens(text: str) -> list[str]:
    """The words of ``text``, lower case, without their punctuation; a mark that stands alone
    between spaces ("…", "-", "♪") is a token of its own, so that a run of them ("… … … …",
    which Whisper can fall into at a fallback temperature) is a loop like a run of words."""
    out: list[str] = []
    for chunk in text.lower().split():
        out += _TOKEN.findall(chunk) if _WORD.search(chunk) else [chunk]
    return out


def _loop_run(tokens: list[str]) -> tuple[int, int, int] | None:
    """(start, n, repeats) of the widest n-gram run that is a loop, or None.

    A run is a loop when an n-gram repeats back to back 3 times over 9+ words, or 5 times.
    """
    best: tuple[int, int, int] | None = None
    for n in range(1, min(MAX_NGRAM, len(tokens) // 2) + 1):
        i = 0
        while i + 2 * n <= len(tokens):
            reps = 1
            while tokens[i + reps * n : i + (reps + 1) * n] == tokens[i : i + n]:
                reps += 1
            looping = (reps >= 3 and n * reps >= 9) or reps >= 5
            if looping and (best is None or reps * n > best[1] * best[2]):
                best = (i, n, reps)
            i += (reps - 1) * n if reps > 1 else 1
    return best


GUESS_PROBABILITY = 0.2


def is_silent_guess(segment: Segment, options: AsrOptions) -> bool:
    """Whether a segment is probably silence (``no_speech_threshold``) that the model filled with
    words it gives under ``GUESS_PROBABILITY`` on average (prompted words said into the silence).

    The average is geometric (the words' joint probability per word): a guess whose first word
    is unlikely makes its next ones likely ("Thank" 0.02, "you." 0.98, at the pause that ends a
    stretch of speech), which an arithmetic mean (0.5) lets through."""
    if segment.no_speech_prob < options.no_speech_threshold or not segment.words:
        return False
    logs = [math.log(max(w.probability, 1e-9)) for w in segment.words]
    return math.exp(sum(logs) / len(logs)) < GUESS_PROBABILITY


def find_loops(segments: Sequence[Segment]) -> list[tuple[int, int]]:
    """Index ranges ``[i, j)`` of segments caught in a repetition loop.

    A segment loops when an n-gram (up to 8 words) repeats back to back inside it (3 times over
    9 or more words, or 5 times), or when it repeats the text of the segment before it (two
    times over 4+ words, or three times). A repeat's range starts at the segment it repeats,
    since Whisper's timing of that first copy drifts too.
    """
    suspect: set[int] = set()
    texts = [" ".join(_tokens(s.text)) for s in segments]
    same = 0
    for k, text in enumerate(texts):
        if _loop_run(_tokens(segments[k].text)):
            suspect.add(k)
        same = same + 1 if k and text and text == texts[k - 1] else 0
        if same >= 2 or (same == 1 and len(text.split()) >= 4):
            suspect.update(range(k - same, k + 1))
    ranges: list[tuple[int, int]] = []
    for k in sorted(suspect):
        if ranges and ranges[-1][1] == k:
            ranges[-1] = (ranges[-1][0], k + 1)
        else:
            ranges.append((k, k + 1))
    return ranges


MAX_WORD_S = 2.5
SPEECH_SHARE = 0.5


def find_stretched(segments: Sequence[Segment], speech_share: Callable[[float, float], float],
                   max_word_s: float = MAX_WORD_S, min_share: float = SPEECH_SHARE) -> list[tuple[int, int]]:
    """Index ranges ``[i, j)`` of segments where a decode lost its way: a word held longer than
    ``max_word_s`` over what is mostly speech (``speech_share(start, end)``: the share of that
    time voice activity detection calls speech, at least ``min_share``).

    Prompted with a window's on-screen terms, Whisper once gave 22 s of read sentences as "In
    this regard... We are", "regard" 4.5 s long and "are" 16.8 s: the sentences between were
    lost. A word held that long before a pause is the pause, not speech, and does not count.
    Ranges one segment apart are joined (the "We" between those two words).
    """
    suspect = sorted({k for k, seg in enumerate(segments) for w in seg.words
                      if w.end - w.start > max_word_s and speech_share(w.start, w.end) >= min_share})
    ranges: list[tuple[int, int]] = []
    for k in suspect:
        if ranges and k - ranges[-1][1] <= 1:
            ranges[-1] = (ranges[-1][0], k + 1)
        else:
            ranges.append((k, k + 1))
    return ranges


def trim_seams(redone: Sequence[Segment], before: Segment | None, after: Segment | None,
               most: int = 3) -> list[Segment]:
    """A stretch decoded again, without the words at its ends that the segments beside it say
    too (up to ``most``): a stretch cut at a word's edge hears that word again ("We are sure." and
    then "sure that one war is enough.")."""
    words = [w for seg in redone for w in seg.words]
    first, last = 0, len(words)
    if after is not None:
        head = _tokens(after.text)
        for n in range(min(most, last, len(head)), 0, -1):
            if [t for w in words[last - n:last] for t in _tokens(w.text)] == head[:n]:
                last -= n
                break
    if before is not None:
        tail = _tokens(before.text)
        for n in range(min(most, last, len(tail)), 0, -1):
            if [t for w in words[:n] for t in _tokens(w.text)] == tail[-n:]:
                first = n
                break
    if (first, last) == (0, len(words)):
        return list(redone)
    keep = {id(w) for w in words[first:last]}
    out = []
    for seg in redone:
        kept = tuple(w for w in seg.words if id(w) in keep)
        if kept:
            start = seg.start if kept[0] is seg.words[0] else kept[0].start
            out.append(replace(seg, start=start, end=kept[-1].end, text="".join(w.text for w in kept), words=kept))
    return out


def cut_loops(segments: Sequence[Segment]) -> list[Segment]:
    """Segments with every loop cut to its first occurrence (repeated segments dropped)."""
    out: list[Segment] = []
    for seg in segments:
        key = _tokens(seg.text)
        if out and key and key == _tokens(out[-1].text):
            continue
        run = _loop_run(key)
        if run is None:
            out.append(seg)
            continue
        start, n, reps = run
        if seg.words:
            # Word tokens line up with text tokens only roughly; cut by word count per token.
            kept: list[Word] = []
            seen = 0
            for w in seg.words:
                k = len(_tokens(w.text))
                if start + n <= seen < start + n * reps:
                    seen += k
                    continue
                kept.append(w)
                seen += k
            end = kept[-1].end if kept else seg.start
            out.append(replace(seg, end=end, text="".join(w.text for w in kept), words=tuple(kept)))
        else:
            words = seg.text.split()
            out.append(replace(seg, text=" " + " ".join(words[: start + n] + words[start + n * reps :])))
    return out


UNHEARD_S = 2.0
HEARD_SLACK_S = 0.3
UNHEARD_JOIN_S = 1.0


def find_unheard(segments: Sequence[Segment], speech: Sequence[tuple[float, float]], *, min_s: float = UNHEARD_S,
                 slack: float = HEARD_SLACK_S, join_s: float = UNHEARD_JOIN_S) -> list[tuple[float, float]]:
    """Stretches of ``speech`` (voice activity: (start, end) in seconds) that no word of
    ``segments`` covers, each at least ``min_s`` long once joined across gaps under ``join_s``
    with no word between.

    A word covers its own time and ``slack`` either side (Whisper's word times are loose); a
    segment without word times covers its whole time. Whisper leaves such speech out when a window
    scores as silence, as one in another language does when decoded as the first's: a bilingual
    recording (English, then German) came out as its English half alone, without a warning.
    """
    heard = sorted([(w.start - slack, w.end + slack) for seg in segments for w in seg.words]
                   + [(seg.start, seg.end) for seg in segments if not seg.words])
    starts = [h0 for h0, _ in heard]
    reach = list(itertools.accumulate((h1 for _, h1 in heard), max))  # the furthest any reaches so far
    gaps: list[tuple[float, float]] = []
    for start, end in sorted(speech):
        at = start
        # the heard times that can reach into this chunk: from the first after which something
        # reaches past its start, to the last that starts before its end
        for h0, h1 in heard[bisect.bisect_right(reach, start) : bisect.bisect_left(starts, end)]:
            if h1 <= at:
                continue
            if h0 > at:
                gaps.append((at, h0))
            at = max(at, h1)
        if at < end:
            gaps.append((at, end))
    joined: list[tuple[float, float]] = []
    for start, end in gaps:
        between = heard[bisect.bisect_left(starts, joined[-1][1]) : bisect.bisect_right(starts, start)] if joined else []
        covered_between = any(h1 <= start for _, h1 in between)
        if joined and start - joined[-1][1] < join_s and not covered_between:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return [(start, end) for start, end in joined if end - start >= min_s]


DOUBT_WORD_PROBABILITY = 0.6
DOUBT_WORDS = 5


def doubted_speech(segments: Sequence[Segment], unheard: Sequence[tuple[float, float]],
                   least: float = DOUBT_WORD_PROBABILITY, words: int = DOUBT_WORDS) -> tuple[float, float] | None:
    """Where a transcript made in a language given sounds most like speech in another: the longest
    stretch of speech left without text, else the longest run of segments whose words' mean
    probability is under ``least`` (``words`` words or more in it); None when nothing is doubted.

    Whisper tiny.en on Chinese, Korean, Russian, German and French speech (the shared real clips)
    gave words of 0.26-0.55 on average, confident-looking English ("can be a one-wheeler"); on
    English, film dialogue included, 0.76-0.97. In a recording that changes language, the
    speech in the other one is left without text or written so, a stretch of it."""
    if unheard:
        return max(unheard, key=lambda span: span[1] - span[0])
    runs: list[tuple[int, int]] = []  # [i, j) of consecutive unsure segments
    for k, seg in enumerate(segments):
        if not seg.words or sum(w.probability for w in seg.words) / len(seg.words) >= least:
            continue
        if runs and runs[-1][1] == k:
            runs[-1] = (runs[-1][0], k + 1)
        else:
            runs.append((k, k + 1))
    runs = [(i, j) for i, j in runs if sum(len(seg.words) for seg in segments[i:j]) >= words]
    if not runs:
        return None
    i, j = max(runs, key=lambda run: segments[run[1] - 1].end - segments[run[0]].start)
    return segments[i].start, segments[j - 1].end
