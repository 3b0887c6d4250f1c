"""A fit's candidates: one proposal and its scores, and the order they are ranked in.

Acceptable candidates that fit come first, by MiniLM similarity (rounded to 0.01), then by
least change; then acceptable ones that overrun (those that drop nothing first, then the
smallest overrun); then the refused ones, each with the reason in ``note``.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    """One proposal and its scores.

    Attributes:
        text: the proposal.
        method: ``original``, ``spoken`` (fillers of speech cut), ``rules:<level>``, ``trim``,
            ``parse:<kinds>`` (optional subtrees dropped), ``prune``, ``lm``, ``lm+rules``.
        estimate: its estimated duration (``unit`` s) or length (``unit`` chars).
        fits: within the slot (and, in reading mode, within the profile's lines).
        overrun: how far the estimate exceeds the slot (0 when within it).
        similarity: MiniLM cosine similarity to the original (0 when the meaning guard
            rejected it first: not computed).
        change: share of words changed against the original (0 = none, 1 = all).
        acceptable: not empty, similarity at least the floor, every number kept, and (with
            the meaning guard) every fact kept and still a sentence.
        note: why it is not acceptable, when it is not.
    """

    text: str
    method: str
    estimate: float
    fits: bool
    overrun: float
    similarity: float
    change: float
    acceptable: bool
    note: str = ""


def word_change(original: str, text: str) -> float:
    """Share of words changed: 1 - difflib ratio over lower-cased word sequences."""
    a, b = original.lower().split(), text.lower().split()
    return 1.0 - difflib.SequenceMatcher(a=a, b=b, autojunk=False).ratio()


def _rank_key(c: Candidate) -> tuple[int, int, float, float, float]:
    if not c.acceptable:
        return (2, 0, 0.0, 0.0, 0.0)
    if c.fits:
        return (0, 0, -round(c.similarity, 2), c.change, 0.0)
    # When nothing fits, a text that drops nothing comes first: a deletion or an LM proposal
    # that still overruns would lose words for no gain.
    return (1, 0 if lossless(c.method) else 1, c.overrun, -c.similarity, c.change)


def lossless(method: str) -> bool:
    """Whether a candidate method keeps every word that carries meaning (the original, spoken
    cuts of fillers, phrase rules)."""
    return method in ("original", "spoken") or method.startswith("rules")


def rank(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Order candidates: acceptable and fitting (by similarity, then least change), then
    acceptable but overrunning (those that drop nothing first, then smallest overrun), then
    unacceptable."""
    return sorted(candidates, key=_rank_key)
