"""Screen-aware vocabulary: the terms on screen around each stretch of speech, for Whisper.

A narrator who reads out a UI label ("Export as PDF"), a slide title or a product name says a
word that is also on screen at that moment. ``stretches`` cuts the speech into windows of up to
30 s (Whisper's own window); ``offer`` gives each window the terms shown during it (give or
take a margin): short lines as they are spelled (labels, titles), and unusual tokens from any
line (capitals inside a word, letters with digits or underscores, words the recogniser's
tokenizer splits into many pieces, capitalised words of longer lines), longest on screen and
highest-confidence first. Text flagged ``cut`` (part of it hidden on screen: "Torminal" for a
"Terminal" half under a bar) is never offered. The recogniser decodes each window with its terms as hotwords
(``pipelines.asr``); ``respell`` then gives words that match a term but for case the screen's
spelling, and ``used`` says which terms came out spelled as on screen.

Hotwords bias the beam but do not make it find every term: a small model still writes a term it
heard as a near miss ("Exporting PDF" for "Export as PDF"). ``lookalikes`` finds the runs of
recognised words whose letters resemble a term (``spellings``: the offered terms and the unusual
words inside offered labels); the recogniser then keeps the screen's spelling only where the
audio supports it (``pipelines.asr``: the words are scored against the audio both ways).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pipelines.ocr.scene_text import TimedText
from pipelines.ocr.tracking import CUT

WINDOW_S = 28.0  # under Whisper's 30 s, so one stretch is one decoding window
MARGIN_S = 2.0
MAX_TERMS = 12
MAX_LABEL_WORDS = 4
MIN_CONFIDENCE = 0.8
# Letters of a heard run and of a term this alike (difflib ratio) make the term worth scoring
# against the audio: "Exporting PDF"/"Export as PDF" 0.78, "libykernel"/"ipykernel" 0.84,
# "Kubernetes"/"kubectl" 0.59; unrelated words stay under 0.35.
LOOKALIKE_RATIO = 0.55

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_+#.'-]*[A-Za-z0-9_+#]|[A-Za-z]")
_EDGE = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)
_LETTERS = re.compile(r"[A-Za-z]")


class ScreenText(TimedText, Protocol):
    """A timed piece of on-screen text with its reading's confidence (``pipelines.ocr.tracking.TextEvent``
    is one)."""

    @property
    def confidence(self) -> float: ...

    @property
    def flags(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class VocabularyWindow:
    """One stretch of speech and the on-screen terms offered for it (``used``: filled after decoding)."""

    start: float
    end: float
    offered: tuple[str, ...] = ()
    used: tuple[str, ...] = field(default=())


def _unusual(token: str, rare: Callable[[str], bool] | None) -> bool:
    inner_capital = any(c.isupper() for c in token[1:])
    mixed = "_" in token or (any(c.isdigit() for c in token) and any(c.isalpha() for c in token))
    return inner_capital or mixed or (rare is not None and len(token) > 3 and rare(token))


def _spelled_apart(term: str, rare: Callable[[str], bool] | None) -> bool:
    """Whether a word of a label is worth offering on its own too: one the recogniser finds rare
    ("kubectl" of "kubectl apply"), which a narrator may well say without the rest."""
    return rare is not None and " " not in term and len(term) > 3 and rare(term)


def terms_of(text: str, rare: Callable[[str], bool] | None = None) -> list[str]:
    """Vocabulary worth offering from one on-screen line (see the module docstring).

    ``rare(word)``: whether the recogniser finds a word unusual (e.g. many tokenizer pieces).
    """
    text = " ".join(text.split())
    words = _WORD.findall(text)
    if not words or len(_LETTERS.findall(text)) < 2:
        return []
    out = []
    label = len(text.split()) <= MAX_LABEL_WORDS
    if label:
        out.append(text.strip(" .,:;"))
    # in a longer line, a capitalised word is a name unless it starts the line (a sentence)
    out += [w for k, w in enumerate(words) if len(w) > 1 and (_unusual(w, rare) or (not label and k and w[0].isupper()))]
    return list(dict.fromkeys(out))


def offer(
    start: float, end: float, screen: Sequence[ScreenText], rare: Callable[[str], bool] | None = None
) -> tuple[str, ...]:
    """Terms on screen during ``start``-``end`` (plus a margin), best first, at most ``MAX_TERMS``."""
    score: dict[str, float] = {}
    for item in screen:
        if (item.confidence < MIN_CONFIDENCE or item.end < start - MARGIN_S or item.start > end + MARGIN_S
                or CUT in item.flags):
            continue
        overlap = max(0.0, min(item.end, end) - max(item.start, start)) + 0.1
        for term in terms_of(item.text, rare):
            score[term] = score.get(term, 0.0) + overlap * item.confidence
    ranked = sorted(score, key=lambda t: (-score[t], t))
    # a word already inside an offered label of plain words adds nothing (``respell`` covers it),
    # unless it is a rare word said on its own
    labels = [k for k in ranked[:MAX_TERMS] if all(_WORD.fullmatch(x) for x in k.split())]
    kept: list[str] = []
    for term in ranked:
        if _spelled_apart(term, rare) or not any(term != k and re.search(rf"\b{re.escape(term)}\b", k) for k in labels):
            kept.append(term)
    return tuple(kept[:MAX_TERMS])


def stretches(speech: Sequence[tuple[float, float]], window_s: float = WINDOW_S) -> list[tuple[float, float]]:
    """Join speech chunks (start, end) into stretches of at most ``window_s``, split at pauses."""
    out: list[tuple[float, float]] = []
    for start, end in speech:
        if out and end - out[-1][0] <= window_s:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _bare(token: str) -> tuple[str, str, str]:
    m = _EDGE.match(token)
    assert m is not None
    return m.group(1), m.group(2), m.group(3)


def respell(tokens: Sequence[str], terms: Sequence[str]) -> list[str]:
    """Word tokens (Whisper's, with their spaces and punctuation) with each run that matches an
    offered term but for case spelled as the term is on screen."""
    out = list(tokens)
    for term in sorted(terms, key=len, reverse=True):
        parts = term.split()
        if not all(_WORD.fullmatch(x) for x in parts):
            continue  # only plain words are respelled; a line with symbols stays as heard
        n = len(parts)
        for k in range(len(out) - n + 1):
            pieces = [_bare(x.strip()) for x in out[k : k + n]]
            if [b.lower() for _, b, _ in pieces] != [x.lower() for x in parts]:
                continue
            for m, ((lead, _, tail), word) in enumerate(zip(pieces, parts, strict=True)):
                space = out[k + m][: len(out[k + m]) - len(out[k + m].lstrip())]
                out[k + m] = f"{space}{lead}{word}{tail}"
    return out


def used(terms: Sequence[str], text: str) -> tuple[str, ...]:
    """The terms that occur in ``text`` spelled exactly as on screen (case included)."""
    return tuple(t for t in terms if re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", text))


def spellings(offered: Sequence[str], rare: Callable[[str], bool] | None = None) -> tuple[str, ...]:
    """The spellings worth restoring: the offered terms of plain words, and the unusual words of
    offered labels ("kubectl" of "kubectl apply"), which a narrator may say on their own."""
    out: list[str] = []
    for term in offered:
        parts = term.split()
        if all(_WORD.fullmatch(x) for x in parts):
            out.append(term)
        if len(parts) > 1:
            out += [w for w in _WORD.findall(term) if len(w) > 1 and _unusual(w, rare)]
    return tuple(dict.fromkeys(out))


def _letters(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


@dataclass(frozen=True)
class Lookalike:
    """Word tokens ``[start, end)`` whose letters resemble ``term`` (``ratio``: how much)."""

    start: int
    end: int
    term: str
    ratio: float


def _occurrences(bare: Sequence[str], terms: Sequence[str]) -> list[tuple[int, int, str]]:
    """Token spans ``[i, j)`` spelled exactly as a term."""
    out = []
    for term in terms:
        parts = term.split()
        out += [(k, k + len(parts), term) for k in range(len(bare) - len(parts) + 1) if bare[k : k + len(parts)] == parts]
    return out


def lookalikes(tokens: Sequence[str], terms: Sequence[str], min_ratio: float = LOOKALIKE_RATIO) -> list[Lookalike]:
    """Runs of word tokens that may be a term misheard: letters alike (``min_ratio``), a run of
    about the term's length in words. A term heard spelled exactly as on screen stays: a run never
    cuts into one, and holds one only where the term replacing the run keeps it ("Exporting PDF"
    may become "Export as PDF"). Best first; per term, runs do not overlap."""
    from difflib import SequenceMatcher  # on first use: the API's start-up does without

    bare = [_bare(t.strip())[1] for t in tokens]
    exact = _occurrences(bare, terms)
    found: list[Lookalike] = []
    for term in terms:
        want, n, keeps = _letters(term), len(term.split()), set(used(terms, term))
        if len(want) < 3:
            continue
        runs = []
        for width in range(max(1, n - 1), n + 2):
            for k in range(len(tokens) - width + 1):
                overlapping = [(a, b, t) for a, b, t in exact if a < k + width and b > k]
                inside = {t for _, _, t in overlapping}
                if any(a < k or b > k + width for a, b, _ in overlapping) or term in inside or not inside <= keeps:
                    continue
                ratio = SequenceMatcher(None, _letters(" ".join(bare[k : k + width])), want).ratio()
                if ratio >= min_ratio:
                    runs.append(Lookalike(k, k + width, term, ratio))
        taken: list[Lookalike] = []
        for run in sorted(runs, key=lambda r: -r.ratio):
            if all(run.end <= t.start or run.start >= t.end for t in taken):
                taken.append(run)
        found += taken
    return sorted(found, key=lambda r: -r.ratio)


def spelled(tokens: Sequence[str], run: Lookalike) -> list[str]:
    """The term's words in place of the run's tokens, keeping the run's leading space and outer
    punctuation (" Exporting", " PDF," -> " Export", " as", " PDF,")."""
    first, last = tokens[run.start], tokens[run.end - 1]
    space = first[: len(first) - len(first.lstrip())]
    lead, tail = _bare(first.strip())[0], _bare(last.strip())[2]
    words = run.term.split()
    words[0], words[-1] = lead + words[0], words[-1] + tail
    return [space + words[0], *(" " + w for w in words[1:])]
