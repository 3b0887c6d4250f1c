"""Fitting the learning classifier's heads, shared by the training and evaluation scripts.

- ``EmbeddingCache``: chunk embeddings on disk (``bench/.cache/classifier``, ignored by git),
  keyed by embedder and chunk text, so refitting and cross-validation never re-embed.
- ``prepare``: an example cut and sampled into chunks exactly as ``Classifier.classify`` does
  for a transcript, with its chunk vectors, weights and word count.
- ``fit_chunk_head``: logistic regression on chunk vectors (each chunk labelled with its
  document's label; each document weighs 1, classes balanced), C chosen by grouped CV.
- ``fit_share``: the share head's calibration (slope, centre, pseudo-count) by weighted
  log-loss with Platt's targets, on documents the chunk head never saw.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from classifier_data import EXCERPT, EXCERPT_WORDS, REAL_FOLDS, SEED, WHOLE, Example

from pipelines.classify.chunks import (
    Chunk,
    chunk_transcript,
    chunk_weights,
    guess_language,
    reading_batches,
    sample_evenly,
)
from pipelines.classify.classifier import ClassifyOptions, read_until_settled
from pipelines.classify.head import KINDS, Embedder, KindHead, ShareHead

CACHE_DIR = Path(__file__).resolve().parent / ".cache" / "classifier"
CS = (1.0, 3.0, 10.0, 30.0, 100.0)


class EmbeddingCache:
    """Chunk vectors of one embedder, kept on disk by the SHA-1 of the chunk text."""

    def __init__(self, name: str, factory: Callable[[], Embedder], folder: Path = CACHE_DIR) -> None:
        self.path = folder / f"{name}.npz"
        self._factory = factory
        self._embedder: Embedder | None = None
        self._rows: dict[str, np.ndarray] = {}
        if self.path.is_file():
            with np.load(self.path) as data:
                self._rows = dict(zip((str(k) for k in data["keys"]), data["vectors"], strict=True))

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode()).hexdigest()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if self.key(t) not in self._rows))
        if missing:
            if self._embedder is None:
                self._embedder = self._factory()
            started = time.monotonic()
            for i in range(0, len(missing), 512):
                part = missing[i : i + 512]
                for t, v in zip(part, self._embedder.embed(part), strict=True):
                    self._rows[self.key(t)] = v
                print(f"  {self.path.stem}: embedded {i + len(part)} / {len(missing)} chunks "
                      f"({time.monotonic() - started:.0f} s)", flush=True)
                self._save()
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._rows[self.key(t)] for t in texts]).astype(np.float32)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.stem}.tmp.npz")
        np.savez(tmp, keys=np.asarray(list(self._rows)), vectors=np.stack(list(self._rows.values())))
        tmp.replace(self.path)


@dataclass(frozen=True)
class Doc:
    """An example as the classifier sees it: sampled chunks, their vectors and weights.

    ``chunks`` are all the chunks the classifier samples; for e5, ``vectors`` and ``weights``
    are those of the first ``e5_first_chunks`` it reads (``score_as_read`` reads on, as the
    classifier does, while the verdict is unsettled).
    """

    example: Example
    vectors: np.ndarray
    weights: np.ndarray
    words: int
    language: str
    chunks: tuple[Chunk, ...] = ()

    @property
    def label(self) -> int:
        return self.example.label

    @property
    def x(self) -> np.ndarray:
        """The document vector: the weighted mean of the chunk vectors."""
        return np.asarray(self.weights @ self.vectors, dtype=np.float32)


def prepare(examples: Sequence[Example], cache: EmbeddingCache, options: ClassifyOptions,
            *, e5: bool = False) -> list[Doc]:
    """Cut each example into chunks as ``Classifier.classify`` does (e5: the first batch it reads)."""
    cut = []
    for e in examples:
        all_chunks = chunk_transcript(e.text, options.chunk_words)
        sampled = sample_evenly(all_chunks, options.max_chunks)
        language = guess_language(" ".join(c.text for c in sampled)) if sampled else "und"
        chunks = sampled
        if e5:
            chunks = reading_batches(sampled, options.e5_first_chunks, options.e5_max_chunks)[0] if sampled else []
        cut.append((e, chunks, sum(c.words for c in all_chunks), language, sampled))
    vectors = cache.embed([c.text for _e, chunks, _w, _l, _s in cut for c in chunks])
    out, pos = [], 0
    for e, chunks, words, language, sampled in cut:
        out.append(Doc(e, vectors[pos : pos + len(chunks)], chunk_weights(chunks, options.screen_text_share),
                       words, language, tuple(sampled)))
        pos += len(chunks)
    return out


def score_as_read(head: ShareHead, doc: Doc, cache: EmbeddingCache, options: ClassifyOptions,
                  embedder: str) -> tuple[float, int]:
    """P(learning) of a document read as ``Classifier.classify`` reads it with ``embedder``
    (stopping once the verdict settles), and how many chunks that took."""
    read, _vectors, score = read_until_settled(list(doc.chunks), cache, head, doc.words, options, embedder)
    return float(1 / (1 + np.exp(-score.logit))), len(read)


def _balanced(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Sample weights ``w`` rescaled so each class has the same total weight."""
    out = w.astype(np.float64).copy()
    for cls in (0, 1):
        mask = y == cls
        if mask.any():
            out[mask] *= w.sum() / (2 * w[mask].sum())
    return out


def _chunk_rows(docs: Sequence[Doc]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Chunk vectors, labels, weights (each document weighs 1) and the document index of each row."""
    X = np.vstack([d.vectors for d in docs])
    y = np.concatenate([np.full(len(d.vectors), d.label) for d in docs])
    w = np.concatenate([np.full(len(d.vectors), 1.0 / len(d.vectors)) for d in docs])
    idx = np.concatenate([np.full(len(d.vectors), i) for i, d in enumerate(docs)])
    return X, y, _balanced(y, w), idx


def _fit_lr(X: np.ndarray, y: np.ndarray, w: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    m = LogisticRegression(C=c, max_iter=3000).fit(X, y, sample_weight=w * len(w) / w.sum())
    return m.coef_[0].astype(np.float32), float(m.intercept_[0])


def fit_chunk_head(docs: Sequence[Doc], c: float | None = None, verbose: bool = True,
                   validation: Sequence[Doc] = ()) -> tuple[np.ndarray, float, float]:
    """(w, b, C) of the chunk head. C, when not given: by the log-loss of the documents' mean
    chunk probability on ``validation`` when given (the e5 head is chosen on non-English text,
    the language it exists for), else by 5-fold CV over the training documents' groups."""
    X, y, w, idx = _chunk_rows(docs)
    if c is None and validation:
        yv = np.array([d.label for d in validation])
        losses = {}
        for cand in CS:
            wv, bv = _fit_lr(X, y, w, cand)
            q = np.array([float(d.weights @ (1 / (1 + np.exp(-(d.vectors @ wv + bv))))) for d in validation])
            losses[cand] = float(-np.mean(yv * np.log(q + 1e-9) + (1 - yv) * np.log(1 - q + 1e-9)))
            if verbose:
                print(f"  chunk head C={cand:<5} log-loss on {len(validation)} validation documents {losses[cand]:.4f}")
        c = min(losses, key=lambda k: losses[k])
    if c is None:
        groups = np.array([docs[i].example.group for i in idx])
        folds = list(GroupKFold(n_splits=5).split(X, y, groups))
        best: tuple[float, float] | None = None
        for cand in CS:
            loss = 0.0
            for tr, va in folds:
                wv, bv = _fit_lr(X[tr], y[tr], w[tr], cand)
                p = 1 / (1 + np.exp(-(X[va] @ wv + bv)))
                loss += float(np.sum(-w[va] * (y[va] * np.log(p + 1e-9) + (1 - y[va]) * np.log(1 - p + 1e-9))))
            if verbose:
                print(f"  chunk head C={cand:<5} grouped-CV weighted log-loss {loss / w.sum():.4f}")
            if best is None or loss < best[1]:
                best = (cand, loss)
        assert best is not None
        c = best[0]
    wv, bv = _fit_lr(X, y, w, c)
    return wv, bv, c


def share_features(docs: Sequence[Doc], w: np.ndarray, b: float) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Per document: chunk probabilities ``q``, weights and words, for calibrating a share head."""
    head = ShareHead(w=w, b=b, slope=1.0, centre=0.0, pseudo=0.0)
    return [(head.chunk_probabilities(d.vectors), d.weights, d.words) for d in docs]


def fit_share(feats: Sequence[tuple[np.ndarray, np.ndarray, int]], y: np.ndarray, strata: Sequence[str],
              unit_words: int) -> tuple[float, float, float]:
    """(slope, centre, pseudo) minimising a weighted log-loss with Platt's targets.

    Each stratum (unit type) weighs the same and its classes are balanced; Platt's targets
    ((n+ + 1) / (n+ + 2) and 1 / (n- + 2) per stratum) keep a separable set from driving the
    slope to infinity.
    """
    s = np.array([float(a @ q) for q, a, _ in feats])
    n = np.array([max(words, 1) / unit_words for _, _, words in feats])
    strata_arr = np.array(strata)
    weight = np.zeros(len(y))
    target = np.zeros(len(y))
    names = sorted(set(strata))
    for name in names:
        m = strata_arr == name
        pos, neg = int((y[m] == 1).sum()), int((y[m] == 0).sum())
        weight[m] = _balanced(y[m], np.ones(int(m.sum()))) / m.sum() / len(names)
        target[m & (y == 1)] = (pos + 1) / (pos + 2)
        target[m & (y == 0)] = 1 / (neg + 2)

    def loss(theta: np.ndarray) -> float:
        slope, centre, log_pseudo = theta
        z = slope * n / (n + np.exp(log_pseudo)) * (s - centre)
        log_p = -np.logaddexp(0, -z)
        log_1p = -np.logaddexp(0, z)
        return float(-(weight * (target * log_p + (1 - target) * log_1p)).sum())

    best = min((minimize(loss, np.array([slope0, 0.5, 0.0]), method="Nelder-Mead",
                         options={"maxiter": 4000, "xatol": 1e-4, "fatol": 1e-7})
                for slope0 in (5.0, 15.0)), key=lambda r: r.fun)
    slope, centre, log_pseudo = best.x
    return float(slope), float(centre), float(np.exp(log_pseudo))


def fit_kind_head(docs: Sequence[Doc]) -> KindHead:
    """Multinomial logistic regression over ``KINDS`` on the learning documents' vectors."""
    learning = [d for d in docs if d.label == 1]
    X = np.stack([d.x for d in learning])
    y = np.array([KINDS.index(d.example.kind) for d in learning])
    m = LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000).fit(X, y)
    return KindHead(W=m.coef_.astype(np.float32), b=m.intercept_.astype(np.float32))


def share_head(w: np.ndarray, b: float, calibration: tuple[float, float, float], unit_words: int) -> ShareHead:
    slope, centre, pseudo = calibration
    return ShareHead(w=w, b=b, slope=slope, centre=centre, pseudo=pseudo, unit_words=unit_words)


def unit_type(e: Example) -> str:
    """``transcript``, ``window`` or ``excerptN`` (N words)."""
    if e.unit == EXCERPT:
        return f"excerpt{len(e.text.split())}"
    return e.unit


def e5_subset(units: Sequence[Example]) -> list[Example]:
    """The real units the e5 head is calibrated and evaluated on: every non-English unit, and of
    the others each transcript whole, its first window and one excerpt of each length (e5 reads
    ~2 chunks a second on the shared 2-core machine; all units would take an hour)."""
    first = ("#w0", *(f"#e{n}.0" for n in EXCERPT_WORDS))
    return [u for u in units if u.source == "cs50_ru" or u.unit == WHOLE or u.id.endswith(first)]


def held_out_by_fold(train_docs: Sequence[Doc], real: Sequence[Doc], unit_words: int,
                     c: float | None = None, validation: Sequence[Doc] = (),
                     score: Callable[[ShareHead, Doc], float] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Held-out P(learning) of every real unit, fold by fold; the chunk head never sees real speech.

    The calibration is fitted on each document's ``vectors``; ``score`` (default: the head on
    ``vectors``) gives a unit's probability under a fold's head, e.g. ``score_as_read``.
    """
    w, b, c = fit_chunk_head(train_docs, c, validation=validation)
    feats = share_features(real, w, b)
    y = np.array([d.label for d in real])
    strata = [unit_type(d.example) for d in real]
    folds = np.array([d.example.group for d in real])
    p = np.zeros(len(real))
    info: dict[str, Any] = {"C": c, "folds": {}}
    for f in REAL_FOLDS:
        test = folds == f
        train = ~test
        cal = fit_share([feats[i] for i in np.flatnonzero(train)], y[train],
                        [strata[i] for i in np.flatnonzero(train)], unit_words)
        head = share_head(w, b, cal, unit_words)
        for i in np.flatnonzero(test):
            p[i] = (score(head, real[i]) if score is not None
                    else 1 / (1 + np.exp(-head.logit(real[i].vectors, real[i].weights, real[i].words))))
        info["folds"][f] = {"slope": cal[0], "centre": cal[1], "pseudo": cal[2]}
        print(f"  fold {f:<11} calibrated on {int(train.sum())} units of the other folds: slope {cal[0]:.2f} "
              f"centre {cal[1]:.3f} pseudo {cal[2]:.2f}")
    return p, info


__all__ = [
    "CACHE_DIR",
    "SEED",
    "Doc",
    "EmbeddingCache",
    "e5_subset",
    "fit_chunk_head",
    "fit_kind_head",
    "fit_share",
    "held_out_by_fold",
    "prepare",
    "score_as_read",
    "share_features",
    "share_head",
    "unit_type",
]
