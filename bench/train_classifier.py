"""Train the learning classifier's heads and write pipelines/data/classifier_head.npz.

For each embedder (MiniLM for English, multilingual e5 for other languages) it computes the
document vector of every training example exactly as ``Classifier.classify`` does, fits a
logistic regression (C chosen by grouped cross-validation), calibrates it with Platt scaling
on out-of-fold scores (balanced classes, so 0.5 means even odds under equal priors), folds the
calibration into the weights, and fits a multinomial kind head on the learning examples.
The held-out split (see classifier_data.split) is never seen here.

    .venv/bin/python bench/train_classifier.py [--model-dir DIR] [--embedders minilm-l6-v2,e5-small]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from classifier_data import SEED, Example, document_vectors, load_examples, source_family, split

from pipelines.classify.classifier import ENGLISH_EMBEDDER, MULTILINGUAL_EMBEDDER, ClassifyOptions
from pipelines.classify.head import DEFAULT_HEAD_PATH, KINDS, HeadSet, KindHead, LinearHead, save_heads
from pipelines.embeddings import COMPUTE_TYPE as EMBEDDER_COMPUTE_TYPE
from pipelines.embeddings import MODEL_NAME as EMBEDDER_MODEL
from pipelines.models import DEFAULT_MODEL_DIR

CS = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
CACHE_DIR = Path("/tmp/lessonlens-classifier-cache")


def cached_vectors(name: str, embedder_factory, examples: list[Example], options: ClassifyOptions) -> np.ndarray:
    """Document vectors, cached in /tmp by embedder and texts (speeds up reruns only)."""
    key = hashlib.sha256(("\x00".join(e.text for e in examples) + repr(options)).encode()).hexdigest()[:16]
    path = CACHE_DIR / f"{name}-{key}.npy"
    if path.is_file():
        return np.load(path)
    started = time.monotonic()
    vectors = document_vectors(embedder_factory(), [e.text for e in examples], options)
    print(f"  embedded {len(examples)} documents with {name} in {time.monotonic() - started:.1f} s")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def _balanced(y: np.ndarray) -> np.ndarray:
    counts = np.bincount(y, minlength=2).astype(float)
    return (len(y) / (2 * counts))[y]


def fit_label_head(X: np.ndarray, y: np.ndarray, groups: list[str]) -> tuple[LinearHead, dict[str, float]]:
    """Logistic regression with grouped-CV choice of C, then Platt scaling folded into w, b."""
    folds = list(StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=SEED).split(X, y, groups))
    best: tuple[float, float] | None = None
    oof_best = np.zeros(len(y))
    for c in CS:
        oof = np.zeros(len(y))
        for tr, va in folds:
            m = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(X[tr], y[tr])
            oof[va] = m.decision_function(X[va])
        p = 1 / (1 + np.exp(-oof))
        loss = float(np.average(-(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)), weights=_balanced(y)))
        acc = float(((oof >= 0) == y).mean())
        print(f"  C={c:<5} grouped-CV balanced log-loss {loss:.4f} accuracy {acc:.4f}")
        if best is None or loss < best[1]:
            best, oof_best = (c, loss), oof
    assert best is not None
    c = best[0]
    platt = LogisticRegression(C=1e6, max_iter=5000).fit(oof_best.reshape(-1, 1), y, sample_weight=_balanced(y))
    a, b0 = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(X, y)
    w = (a * model.coef_[0]).astype(np.float32)
    b = a * float(model.intercept_[0]) + b0
    mu = X.mean(axis=0).astype(np.float32)
    cv_acc = float(((a * oof_best + b0 >= 0) == y).mean())
    return LinearHead(w=w, b=b, mu=mu), {"C": c, "platt_a": a, "platt_b": b0, "cv_accuracy": cv_acc}


def fit_kind_head(X: np.ndarray, kinds: list[str]) -> KindHead:
    y = np.array([KINDS.index(k) for k in kinds])
    m = LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000).fit(X, y)
    return KindHead(W=m.coef_.astype(np.float32), b=m.intercept_.astype(np.float32))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    ap.add_argument("--out", type=Path, default=DEFAULT_HEAD_PATH)
    ap.add_argument("--embedders", default=f"{ENGLISH_EMBEDDER},{MULTILINGUAL_EMBEDDER}")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--chunk-words", type=int, default=ClassifyOptions().chunk_words,
                    help="for experiments; the shipped head must use ClassifyOptions' default")
    args = ap.parse_args()

    options = ClassifyOptions(chunk_words=args.chunk_words)
    examples = load_examples()
    train, test = split(examples)
    sizes = collections.Counter(source_family(e.source) for e in train)
    print(f"train {len(train)} examples {dict(sizes)}; held out {len(test)} (not used here)")
    y = np.array([e.label for e in train])
    groups = [e.group for e in train]
    learning = [i for i, e in enumerate(train) if e.label == 1]

    def minilm():
        from pipelines.embeddings import SentenceEmbedder

        return SentenceEmbedder.load(args.model_dir, threads=args.threads)

    def e5():
        from pipelines.embeddings import MultilingualEmbedder

        return MultilingualEmbedder.load()

    factories = {ENGLISH_EMBEDDER: minilm, MULTILINGUAL_EMBEDDER: e5}
    # The cache must not hand vectors of another runtime (the former torch MiniLM) to a new head.
    cache_names = {ENGLISH_EMBEDDER: f"{EMBEDDER_MODEL}-{EMBEDDER_COMPUTE_TYPE}"}
    heads: dict[str, HeadSet] = {}
    fit_meta: dict[str, dict[str, float]] = {}
    for name in args.embedders.split(","):
        print(f"{name}:")
        X = cached_vectors(cache_names.get(name, name), factories[name], train, options)
        label_head, info = fit_label_head(X, y, groups)
        kind_head = fit_kind_head(X[learning], [train[i].kind for i in learning])
        heads[name] = HeadSet(label=label_head, kind=kind_head, method="trained")
        fit_meta[name] = info
        print(f"  chose C={info['C']}, Platt a={info['platt_a']:.3f} b={info['platt_b']:.3f}, "
              f"calibrated grouped-CV accuracy {info['cv_accuracy']:.4f}")
    meta = {
        "trained_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seed": SEED,
        "train_sizes": dict(sizes),
        "train_examples": len(train),
        "held_out_examples": len(test),
        "chunk_words": options.chunk_words,
        "sklearn": sklearn.__version__,
        "fit": fit_meta,
    }
    save_heads(args.out, heads, meta)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
