"""The learning-content classifier's heads: trained linear heads and the zero-shot fallback.

A head scores a document vector ``x`` (the weighted mean of its chunk embeddings):

- ``LinearHead``: ``logit = b + w . x``, already calibrated (Platt scaling folded into ``w``
  and ``b`` by ``bench/train_classifier.py``). Because it is linear in ``x`` and ``x`` is a
  weighted mean, the logit splits exactly into ``base + sum_i a_i * w . (e_i - mu)``: every
  chunk's share of the verdict, which is what the evidence reports.
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
HEAD_FORMAT = 1
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
class LinearHead:
    """Binary head: ``P(learning) = sigmoid(b + w . x)``; ``mu`` centres chunk contributions."""

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

    label: LinearHead
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
    """Write trained heads (one set per embedder name) and their metadata to an ``.npz`` file."""
    arrays: dict[str, np.ndarray] = {}
    for name, hs in heads.items():
        arrays[f"{name}/w"] = hs.label.w.astype(np.float32)
        arrays[f"{name}/b"] = np.asarray(hs.label.b, dtype=np.float64)
        arrays[f"{name}/mu"] = hs.label.mu.astype(np.float32)
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
                label = LinearHead(w=w, b=float(data[f"{name}/b"]), mu=data[f"{name}/mu"])
                kind = KindHead(W=data[f"{name}/kind_W"], b=data[f"{name}/kind_b"], kinds=kinds)
                if w.shape != label.mu.shape or kind.W.shape != (len(kinds), w.shape[0]):
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
