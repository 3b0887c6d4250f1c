"""The learning-content classifier's heads: trained share heads and the zero-shot fallback.

A label head scores a text from its chunk vectors ``e_i`` and their weights ``a_i`` (summing
to 1) and splits its logit exactly into one share per chunk, which is what the evidence reports:

- ``ShareHead`` (trained, ``bench/train_classifier.py``): each chunk is scored on its own and
  the verdict rests on the weighted share of learning-like chunks, calibrated on real speech,
  drawn toward even odds for short texts.
- ``LinearHead`` (the zero-shot fallback): ``logit = b + w . x`` on the weighted mean ``x`` of
  the chunk vectors; its shares are ``a_i * w . (e_i - mu)``.
- ``KindHead``: softmax over ``W x + b`` for the kinds of learning content.

The trained heads live in one ``.npz`` file (``pipelines/data/classifier_head.npz``), one set
of arrays per embedder (``minilm-l6-v2``, ``e5-small``). When the file is missing the
zero-shot heads built from ``LEARNING_DESCRIPTIONS`` and ``KIND_DESCRIPTIONS`` take over.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pipelines.exceptions import HeadFileError

log = logging.getLogger(__name__)

DEFAULT_HEAD_PATH = Path(__file__).parents[1] / "data" / "classifier_head.npz"
HEAD_FORMAT = 2  # 2: share heads (issue 21); 1 was a linear head on the mean vector
KINDS: tuple[str, ...] = (
    "lecture",
    "software_tutorial",
    "how_to_product_training",
    "corporate_compliance_training",
)
OTHER_KIND = "other"
ZERO_SHOT_SCALE = 25.0  # cosine differences are ~0.05-0.2; this maps them to usable log-odds
KIND_ZERO_SHOT_SCALE = 30.0

LEARNING_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "learning": (
        "In this lesson we will learn the main ideas and work through an example step by step.",
        "A lecture that explains a concept, defines the key terms and checks understanding.",
        "A tutorial that shows how to use the software: click here, open this menu, enter the value.",
        "Training for employees on company policy, safety rules and compliance requirements.",
        "A how-to guide that explains how to set up and operate the product correctly.",
    ),
    "not_learning": (
        "An advertisement: buy now, limited offer, huge discount, call today.",
        "A news report about politics, the economy, a company's earnings or world events.",
        "A personal vlog about my day, my friends, my trip and what I ate.",
        "Sports commentary: he shoots, he scores, what a goal, the crowd goes wild.",
        "A comedy routine with jokes about my family and dating.",
        "Casual chat messages between friends making plans.",
    ),
}

KIND_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "lecture": (
        "A university lecture or course lesson explaining a theory, a concept or a historical period.",
        "Today's class covers the definition, the key principles and an example; read the chapter.",
        "A textbook section that explains a topic and asks review questions.",
    ),
    "software_tutorial": (
        "A software tutorial or screencast: open the app, click the menu, type the command.",
        "In this video I show you how to write the code, run it in the terminal and fix the error.",
        "Select the cell, go to the toolbar, choose the option and press save.",
    ),
    "how_to_product_training": (
        "Product training: how to set up, operate and maintain the device or product.",
        "How to assemble, install and use the machine safely, step by step.",
        "Sales and support staff training on the features of our product and how to demo them.",
    ),
    "corporate_compliance_training": (
        "Corporate compliance training on the code of conduct, anti-bribery, data protection.",
        "New employee onboarding: company policies, workplace safety and how to report concerns.",
        "Mandatory annual training on harassment, privacy rules and information security.",
    ),
}


class Embedder(Protocol):
    """What the heads and the classifier need from an embedder."""

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray: ...


@dataclass(frozen=True)
class LabelScore:
    """A label head's verdict on one text: ``logit = base_logit + contributions.sum()``."""

    logit: float
    base_logit: float
    contributions: np.ndarray  # one share of the logit per chunk


class LabelHead(Protocol):
    """What the classifier needs from a binary head."""

    @property
    def calibrated(self) -> bool: ...

    def score(self, chunks: np.ndarray, weights: np.ndarray, words: int) -> LabelScore: ...


@dataclass(frozen=True)
class LinearHead:
    """Binary head on the mean vector: ``P(learning) = sigmoid(b + w . x)``; ``mu`` centres chunk shares."""

    w: np.ndarray
    b: float
    mu: np.ndarray
    calibrated: bool = True

    def base_logit(self) -> float:
        """Logit of a document whose vector is ``mu`` (the centre of the training data)."""
        return float(self.b + self.w @ self.mu)

    def contributions(self, chunks: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Each chunk's share of the logit: ``a_i * w . (e_i - mu)``; they sum to logit - base."""
        return np.asarray(weights * ((chunks - self.mu) @ self.w), dtype=np.float64)

    def logit(self, x: np.ndarray) -> float:
        return float(self.b + self.w @ x)

    def score(self, chunks: np.ndarray, weights: np.ndarray, words: int) -> LabelScore:
        """The logit of the weighted mean of ``chunks`` and each chunk's share of it."""
        x = weights @ chunks
        return LabelScore(self.logit(x), self.base_logit(), self.contributions(chunks, weights))


@dataclass(frozen=True)
class ShareHead:
    """Binary head on the whole text: the share of learning-like chunks decides.

    Each chunk ``i`` is scored on its own, ``q_i = sigmoid(w . e_i + b)`` (how learning-like the
    passage reads), and the text's share is the weighted mean ``s = sum_i a_i q_i`` (``a_i`` from
    ``chunk_weights``, summing to 1). The calibrated logit is ``slope * g * (s - centre)`` with
    ``g = n / (n + pseudo)``, ``n`` the text's length in chunks of ``unit_words`` words: a few
    chunks cannot outweigh the rest (each moves ``s`` by at most ``a_i``), and a short input is
    drawn toward even odds. The logit splits exactly into chunk shares
    ``slope * g * a_i * (q_i - centre)``, which name the passages that decided the verdict.
    """

    w: np.ndarray
    b: float
    slope: float
    centre: float
    pseudo: float
    unit_words: int = 60
    calibrated: bool = True

    def chunk_probabilities(self, chunks: np.ndarray) -> np.ndarray:
        """``q_i``: how learning-like each chunk reads on its own."""
        z = np.asarray(chunks @ self.w + self.b, dtype=np.float64)
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0))), dtype=np.float64)

    def gain(self, words: int) -> float:
        n = max(words, 1) / self.unit_words
        return n / (n + self.pseudo)

    def contributions(self, chunks: np.ndarray, weights: np.ndarray, words: int) -> np.ndarray:
        """Each chunk's share of the logit; they sum to ``logit``."""
        q = self.chunk_probabilities(chunks)
        return np.asarray(self.slope * self.gain(words) * weights * (q - self.centre), dtype=np.float64)

    def score(self, chunks: np.ndarray, weights: np.ndarray, words: int) -> LabelScore:
        """The calibrated logit of a text of ``words`` words and each chunk's share of it."""
        shares = self.contributions(chunks, weights, words)
        return LabelScore(float(shares.sum()), 0.0, shares)

    def logit(self, chunks: np.ndarray, weights: np.ndarray, words: int) -> float:
        return self.score(chunks, weights, words).logit


@dataclass(frozen=True)
class KindHead:
    """Multiclass head over ``KINDS``: ``softmax(W x + b)``."""

    W: np.ndarray
    b: np.ndarray
    kinds: tuple[str, ...] = KINDS

    def probabilities(self, x: np.ndarray) -> dict[str, float]:
        z = self.W @ x + self.b
        z = z - z.max()
        p = np.exp(z)
        p = p / p.sum()
        return {k: float(v) for k, v in zip(self.kinds, p, strict=True)}


@dataclass(frozen=True)
class HeadSet:
    """The heads for one embedder, and whether they were trained or built zero-shot."""

    label: LabelHead
    kind: KindHead
    method: str  # "trained" | "zero_shot"
    meta: Mapping[str, Any] = field(default_factory=dict)


def _prototype(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    v = embedder.embed(list(texts)).mean(axis=0)
    return np.asarray(v / max(float(np.linalg.norm(v)), 1e-12), dtype=np.float32)


def zero_shot_heads(embedder: Embedder) -> HeadSet:
    """Heads built from the label descriptions alone (no training data).

    The label head scores ``scale * (p_learning - p_not) . (x - midpoint)``; its probability is
    not calibrated, which the classifier says in its notes.
    """
    p_learn = _prototype(embedder, LEARNING_DESCRIPTIONS["learning"])
    p_not = _prototype(embedder, LEARNING_DESCRIPTIONS["not_learning"])
    w = ZERO_SHOT_SCALE * (p_learn - p_not)
    mid = (p_learn + p_not) / 2
    label = LinearHead(w=w, b=-float(w @ mid), mu=mid, calibrated=False)
    kinds = np.stack([_prototype(embedder, KIND_DESCRIPTIONS[k]) for k in KINDS])
    kind = KindHead(W=KIND_ZERO_SHOT_SCALE * kinds, b=np.zeros(len(KINDS), dtype=np.float32))
    return HeadSet(label=label, kind=kind, method="zero_shot")


def save_heads(path: Path, heads: Mapping[str, HeadSet], meta: Mapping[str, Any]) -> None:
    """Write trained share heads (one set per embedder name) and their metadata to an ``.npz`` file."""
    arrays: dict[str, np.ndarray] = {}
    for name, hs in heads.items():
        if not isinstance(hs.label, ShareHead):
            raise TypeError(f"only trained share heads are saved, got {type(hs.label).__name__} for {name}")
        arrays[f"{name}/w"] = hs.label.w.astype(np.float32)
        arrays[f"{name}/calibration"] = np.array(
            [hs.label.b, hs.label.slope, hs.label.centre, hs.label.pseudo, hs.label.unit_words], dtype=np.float64
        )
        arrays[f"{name}/kind_W"] = hs.kind.W.astype(np.float32)
        arrays[f"{name}/kind_b"] = hs.kind.b.astype(np.float32)
    arrays["kinds"] = np.asarray(KINDS)
    arrays["embedders"] = np.asarray(list(heads))
    arrays["meta"] = np.asarray(json.dumps({"format": HEAD_FORMAT, **meta}, sort_keys=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez_compressed(tmp, **arrays)  # type: ignore[arg-type]
    tmp.replace(path)


def load_heads(path: Path) -> dict[str, HeadSet]:
    """Read the trained heads written by ``save_heads``, by embedder name.

    Raises:
        HeadFileError: the file is unreadable, of another format, or its arrays do not fit.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format") != HEAD_FORMAT:
                raise HeadFileError(
                    f"Classifier head {path} has format {meta.get('format')!r}, expected "
                    f"{HEAD_FORMAT}; retrain it with: .venv/bin/python bench/train_classifier.py"
                )
            kinds = tuple(str(k) for k in data["kinds"])
            out: dict[str, HeadSet] = {}
            for name in (str(n) for n in data["embedders"]):
                w = data[f"{name}/w"]
                b, slope, centre, pseudo, unit_words = (float(v) for v in data[f"{name}/calibration"])
                label = ShareHead(w=w, b=b, slope=slope, centre=centre, pseudo=pseudo, unit_words=int(unit_words))
                kind = KindHead(W=data[f"{name}/kind_W"], b=data[f"{name}/kind_b"], kinds=kinds)
                if w.ndim != 1 or kind.W.shape != (len(kinds), w.shape[0]):
                    raise HeadFileError(f"Classifier head {path}: arrays for {name} do not fit together")
                out[name] = HeadSet(label=label, kind=kind, method="trained", meta=meta)
    except HeadFileError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise HeadFileError(
            f"Cannot read classifier head {path}: {exc}. Retrain it with: "
            ".venv/bin/python bench/train_classifier.py"
        ) from exc
    return out

