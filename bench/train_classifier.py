"""Train the learning classifier's heads and write pipelines/data/classifier_head.npz.

For each embedder (MiniLM for English, multilingual e5 for other languages):

1. the chunk head: logistic regression on the chunk vectors of the written sources whose
   licence allows commercial use (OpenStax, SMS Spam Collection, spoken-style paragraphs
   written for lessonlens, for e5 also the Russian ones of
   bench/data/classify_multilingual_spoken.jsonl; not AG News), each chunk labelled with its document's label, each
   document weighing 1, classes balanced, C by grouped cross-validation (for e5: by log-loss on
   the ten non-English paragraphs of bench/data/classify_multilingual.jsonl, since e5 exists
   for text that is not English);
2. the share calibration (slope, centre, pseudo-count of ``ShareHead``) on the real-speech
   units (whole transcripts, 10-minute windows, short excerpts; for e5 the subset
   ``classifier_fit.e5_subset``), which the chunk head never saw; their licences do not allow commercial use, so only these three numbers are fitted
   on them (see the data card);
3. the kind head: multinomial logistic regression on the learning documents' mean vectors.

Chunk vectors are cached in bench/.cache/classifier, so a rerun only refits (seconds).
``bench/eval_classifier.py`` repeats steps 1-2 with each course or show held out.

    .venv/bin/python bench/train_classifier.py [--model-dir DIR] [--embedders minilm-l6-v2,e5-small]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import sys
from pathlib import Path
from typing import Any

import numpy as np
import sklearn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from classifier_data import SEED, commercial_examples, licence_of, multilingual, real_units
from classifier_fit import (
    EmbeddingCache,
    e5_subset,
    fit_chunk_head,
    fit_kind_head,
    fit_share,
    prepare,
    share_features,
    share_head,
    unit_type,
)

from pipelines.classify.classifier import ENGLISH_EMBEDDER, MULTILINGUAL_EMBEDDER, ClassifyOptions
from pipelines.classify.head import DEFAULT_HEAD_PATH, HeadSet, save_heads
from pipelines.embeddings import COMPUTE_TYPE as EMBEDDER_COMPUTE_TYPE
from pipelines.models import DEFAULT_MODEL_DIR


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    ap.add_argument("--out", type=Path, default=DEFAULT_HEAD_PATH)
    ap.add_argument("--embedders", default=f"{ENGLISH_EMBEDDER},{MULTILINGUAL_EMBEDDER}")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    options = ClassifyOptions()
    units = real_units()
    real_sizes = collections.Counter(f"{e.source}/{unit_type(e)}" for e in units)

    def minilm():  # type: ignore[no-untyped-def]
        from pipelines.embeddings import SentenceEmbedder

        return SentenceEmbedder.load(args.model_dir, threads=args.threads)

    def e5():  # type: ignore[no-untyped-def]
        from pipelines.embeddings import MultilingualEmbedder

        return MultilingualEmbedder.load(threads=args.threads)

    caches = {ENGLISH_EMBEDDER: (f"minilm-l6-v2-{EMBEDDER_COMPUTE_TYPE}", minilm, False),
              MULTILINGUAL_EMBEDDER: ("e5-small", e5, True)}
    heads: dict[str, HeadSet] = {}
    fit_meta: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, Any]] = {}
    for name in args.embedders.split(","):
        cache_name, factory, is_e5 = caches[name]
        train = commercial_examples(other_languages=is_e5)
        sizes = collections.Counter(e.source.split("/", 1)[0] + ("" if e.language == "en" else f"/{e.language}")
                                    for e in train)
        print(f"{name}: chunk head on {len(train)} documents {dict(sizes)}")
        sources.update({s: {"documents": n, "licence": licence_of(s)} for s, n in sizes.items()})
        cache = EmbeddingCache(cache_name, factory)
        docs = prepare(train, cache, options, e5=is_e5)
        real = prepare(e5_subset(units) if is_e5 else units, cache, options, e5=is_e5)
        validation = prepare(multilingual(), cache, options, e5=True) if is_e5 else []
        w, b, c = fit_chunk_head(docs, validation=validation)
        y = np.array([d.label for d in real])
        calibration = fit_share(share_features(real, w, b), y, [unit_type(d.example) for d in real],
                                options.chunk_words)
        heads[name] = HeadSet(label=share_head(w, b, calibration, options.chunk_words),
                              kind=fit_kind_head(docs), method="trained")
        languages = sorted({e.language for e in train})
        fit_meta[name] = {"C": c, "slope": calibration[0], "centre": calibration[1], "pseudo": calibration[2],
                          "documents": len(train), "languages": languages}
        print(f"  chose C={c}; share calibration slope {calibration[0]:.3f} centre {calibration[1]:.3f} "
              f"pseudo {calibration[2]:.3f}")
    meta = {
        "trained_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seed": SEED,
        "chunk_head_sources": dict(sorted(sources.items())),
        "calibration_units": dict(sorted(real_sizes.items())),
        "calibration_licences": {s: licence_of(s) for s in sorted({e.source for e in units})},
        "held_out_examples": len(units),  # held out from the chunk head; see the data card
        "chunk_words": options.chunk_words,
        "sklearn": sklearn.__version__,
        "fit": fit_meta,
    }
    save_heads(args.out, heads, meta)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
