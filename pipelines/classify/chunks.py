"""Cutting transcripts and on-screen text into chunks for embedding, and a cheap language check.

A chunk is a run of whole sentences (or cues, or on-screen lines) of about ``chunk_words``
words: long enough to carry meaning for a sentence embedder (MiniLM reads up to 256 tokens),
short enough that the evidence points at one passage a person can read.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.exceptions import OptionsError
from pipelines.translation.languages import japanese_by_kana

TRANSCRIPT = "transcript"
SCREEN_TEXT = "screen_text"

# Frequent English function words that are not also common words of other Latin-script languages
# (no "a", "no", "do", "in", "was", "will"...); their share tells English from them cheaply.
_EN_WORDS = frozenset(
    {
        "the", "and", "or", "but", "of", "to", "at", "for", "with", "from", "by", "are", "were", "be",
        "been", "it", "this", "that", "these", "those", "you", "we", "they", "she", "my", "your",
        "our", "their", "not", "does", "did", "have", "has", "had", "would", "can", "could", "should",
        "if", "then", "than", "there", "what", "which", "who", "how", "when", "where", "about", "into",
        "out", "just", "some", "more", "also", "very",
    }
)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Scripts of one language each, by the first word of their letters' Unicode names.
_EAST_ASIAN = {"CJK": "zh", "HIRAGANA": "ja", "KATAKANA": "ja", "HANGUL": "ko"}
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")


@dataclass(frozen=True)
class Chunk:
    """A piece of input text that is embedded and scored on its own."""

    source: str  # "transcript" | "screen_text"
    text: str
    words: int
    start: float | None = None
    end: float | None = None


def _item_text(item: object) -> tuple[str, float | None, float | None]:
    """Text and times of a string, a mapping with "text", or an object with ``.text``."""
    if isinstance(item, str):
        return item, None, None
    if isinstance(item, Mapping):
        text, start, end = item.get("text", ""), item.get("start"), item.get("end")
    else:
        text = getattr(item, "text", None)
        start, end = getattr(item, "start", None), getattr(item, "end", None)
    if not isinstance(text, str):
        raise OptionsError(
            f"Cannot read text from {type(item).__name__}: pass strings, mappings with 'text', "
            "or objects with a 'text' attribute"
        )
    return text, _float_or_none(start), _float_or_none(end)


def _float_or_none(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _pieces(text: str, max_words: int) -> list[str]:
    """Sentences of ``text``; a sentence longer than ``max_words`` is cut into word runs."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        words = sentence.split()
        for i in range(0, len(words), max_words):
            out.append(" ".join(words[i : i + max_words]))
    return [p for p in out if p]


def _group(
    items: Sequence[tuple[str, float | None, float | None]], source: str, chunk_words: int
) -> list[Chunk]:
    """Join consecutive pieces into chunks of about ``chunk_words`` words."""
    chunks: list[Chunk] = []
    texts: list[str] = []
    words = 0
    start: float | None = None
    end: float | None = None

    def flush() -> None:
        nonlocal texts, words, start, end
        if texts:
            chunks.append(Chunk(source, " ".join(texts), words, start, end))
        texts, words, start, end = [], 0, None, None

    for text, s, e in items:
        n = len(text.split())
        if words and words + n > chunk_words * 1.25:
            flush()
        texts.append(text)
        words += n
        start = s if start is None else start
        end = e if e is not None else end
        if words >= chunk_words:
            flush()
    flush()
    # A short tail carries little meaning on its own: fold it into the chunk before it.
    if len(chunks) > 1 and chunks[-1].words < chunk_words // 3:
        last, prev = chunks.pop(), chunks.pop()
        chunks.append(
            Chunk(source, f"{prev.text} {last.text}", prev.words + last.words, prev.start,
                  last.end if last.end is not None else prev.end)
        )
    return chunks


def chunk_transcript(transcript: str | Sequence[object] | None, chunk_words: int = 60) -> list[Chunk]:
    """Chunks of a transcript given as one string or as cues (strings/mappings/objects with text)."""
    if transcript is None:
        return []
    items: list[tuple[str, float | None, float | None]] = []
    cues: Sequence[object] = [transcript] if isinstance(transcript, str) else transcript
    for cue in cues:
        text, start, end = _item_text(cue)
        items.extend((p, start, end) for p in _pieces(text, chunk_words))
    return _group(items, TRANSCRIPT, chunk_words)


def chunk_screen_text(screen_text: Sequence[object] | str | None, chunk_words: int = 60) -> list[Chunk]:
    """Chunks of on-screen text; repeated lines (the same slide in many frames) count once."""
    if screen_text is None:
        return []
    seen: set[str] = set()
    items: list[tuple[str, float | None, float | None]] = []
    lines: Sequence[object] = screen_text.splitlines() if isinstance(screen_text, str) else screen_text
    for line in lines:
        text, start, end = _item_text(line)
        key = " ".join(text.lower().split())
        if not key or key in seen:
            continue
        seen.add(key)
        items.extend((p, start, end) for p in _pieces(text, chunk_words))
    return _group(items, SCREEN_TEXT, chunk_words)


def sample_evenly(chunks: list[Chunk], limit: int) -> list[Chunk]:
    """At most ``limit`` chunks spread evenly over the input (keeps first and last)."""
    if len(chunks) <= limit:
        return chunks
    idx = np.unique(np.linspace(0, len(chunks) - 1, limit).round().astype(int))
    return [chunks[i] for i in idx]


def sample_sources(chunks: list[Chunk], limit: int) -> list[Chunk]:
    """At most ``limit`` chunks, shared among the sources by their number of chunks.

    Each source present keeps at least one chunk, and each source's chunks are sampled evenly
    (``sample_evenly``), so a cut keeps the whole transcript and the whole on-screen text in view.
    """
    if len(chunks) <= limit:
        return chunks
    groups: dict[str, list[Chunk]] = {}
    for c in chunks:
        groups.setdefault(c.source, []).append(c)
    quota = {s: max(1, round(limit * len(g) / len(chunks))) for s, g in groups.items()}
    while sum(quota.values()) > max(limit, len(groups)):  # rounding up can overshoot
        largest = max(quota, key=lambda s: quota[s])
        quota[largest] -= 1
    return [c for s, g in groups.items() for c in sample_evenly(g, quota[s])]


def reading_batches(chunks: list[Chunk], first: int, limit: int) -> list[list[Chunk]]:
    """``chunks`` in the order a slow embedder reads them when it may stop early.

    The first batch is ``sample_sources(chunks, first)``; each next batch adds the chunks of
    ``sample_sources`` at twice the size before that were not read yet, up to ``limit`` in all.
    So every prefix of batches is spread evenly over each source, and reading stops wherever it
    stops with the whole input in view.
    """
    batches: list[list[Chunk]] = []
    seen: set[int] = set()
    size, cap = max(1, first), min(limit, len(chunks))
    while len(seen) < cap:
        new = [c for c in sample_sources(chunks, min(size, cap)) if id(c) not in seen][: cap - len(seen)]
        if new:
            batches.append(new)
            seen.update(id(c) for c in new)
        if size >= cap:
            break
        size *= 2
    return batches


def chunk_weights(chunks: Sequence[Chunk], screen_text_share: float) -> np.ndarray:
    """Weight of each chunk in the document vector: by words, summing to 1.

    When both sources are present the on-screen chunks share ``screen_text_share`` of the
    weight and the transcript the rest; a source alone gets all of it.
    """
    words = np.array([max(c.words, 1) for c in chunks], dtype=np.float64)
    is_screen = np.array([c.source == SCREEN_TEXT for c in chunks])
    if not len(chunks):
        return words
    if is_screen.all() or not is_screen.any():
        alone: np.ndarray = words / words.sum()
        return alone
    out = np.zeros_like(words)
    out[~is_screen] = (1 - screen_text_share) * words[~is_screen] / words[~is_screen].sum()
    out[is_screen] = screen_text_share * words[is_screen] / words[is_screen].sum()
    return out


def guess_language(text: str) -> str:
    """The language ``text`` reads as: ``en``, ``zh``, ``ja``, ``ko``, or ``und`` (undetermined).

    A cheap check, by script first: when East Asian characters outnumber the other words (each
    character counts as a word, as a reader of Chinese reads them) the text is Japanese where its
    kana say so (``pipelines.translation.languages.japanese_by_kana``, as an export of the text
    decides its language), Korean if hangul are most of them, else Chinese. Other text is
    English by the share of frequent English function words (about 25-35 % in English prose, a
    few percent in other languages) and of Latin letters.
    """
    words = _WORD.findall(text.lower())
    east: Counter[str] = Counter()
    other = 0
    for word in words:
        if word.isascii():
            other += 1
            continue
        marks = [_EAST_ASIAN.get(unicodedata.name(ch, "").split(" ")[0], "") for ch in word]
        east.update(m for m in marks if m)
        other += not all(marks)
    total = sum(east.values())
    if total and total >= other:
        if japanese_by_kana(east["ja"], east["zh"]):
            return "ja"
        return "ko" if east["ko"] > total / 2 else "zh"
    if len(words) < 5:
        return "en" if words and all(w.isascii() for w in words) else "und"
    latin = sum(w.isascii() for w in words) / len(words)
    function = sum(w in _EN_WORDS for w in words) / len(words)
    return "en" if latin > 0.8 and function >= 0.06 else "und"
