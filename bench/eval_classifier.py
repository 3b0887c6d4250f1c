"""Evaluate the learning classifier on real speech, held out by course or show.

The real transcripts (``classifier_data.REAL_SOURCES``) fall into five folds, one per course or
show (3Blue1Brown; CS50 in English and Russian; Seinfeld; The Big Bang Theory; The
Peripheral), so no speaker or course is on both sides. For each fold the heads are built as
``bench/train_classifier.py`` builds the shipped ones: the chunk head on the commercially
licensed written sources only (it never sees real speech), the share calibration on the real
units of the other four folds; then the fold's units are scored. Units are reported apart:
whole transcripts, ~10-minute windows (1,500 words) and short excerpts (60, 150, 300 words).
The targets hold on whole transcripts and windows.

Also printed, on the same units: the head on main before this change ("before": mean chunk
vector, trained with AG News, never saw real speech), the old aggregation (mean vector, one
logistic regression) retrained on the same data as the new head, the multilingual e5 head on
English forced through e5, AG News (evaluation only), reliability-diagram bins, and the time to
classify a 10-minute transcript plus its on-screen text through ``Classifier.classify``.

    .venv/bin/python bench/eval_classifier.py [--json OUT] [--no-e5] [--speed-only]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

from classifier_data import (
    EXCERPT,
    REAL_FOLDS,
    WHOLE,
    WINDOW,
    WINDOW_WORDS,
    Example,
    agnews,
    commercial_examples,
    multilingual,
    real_units,
)
from classifier_fit import (
    CACHE_DIR,
    Doc,
    EmbeddingCache,
    e5_subset,
    fit_chunk_head,
    fit_share,
    held_out_by_fold,
    prepare,
    score_as_read,
    share_features,
    share_head,
    unit_type,
)

from pipelines.classify.classifier import ENGLISH_EMBEDDER, MULTILINGUAL_EMBEDDER, Classifier, ClassifyOptions
from pipelines.classify.head import ShareHead
from pipelines.models import DEFAULT_MODEL_DIR

BEFORE_COMMIT = "889706a"  # main before issue 21: the head trained with AG News
TARGETS = {"accuracy": 0.98, "learning_recall": 0.98, "not_learning_recall": 0.97, "brier": 0.03}
SPEED_TARGET_S = 0.3


def metrics(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    pred = (p >= threshold).astype(int)
    out = {"n": len(y), "accuracy": float((pred == y).mean()), "brier": float(((p - y) ** 2).mean())}
    out["learning_recall"] = float((pred[y == 1] == 1).mean()) if (y == 1).any() else float("nan")
    out["not_learning_recall"] = float((pred[y == 0] == 0).mean()) if (y == 0).any() else float("nan")
    return out


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Reliability-diagram data: per probability bin, its count, mean prediction and observed rate."""
    edges = np.linspace(0, 1, bins + 1)
    out = []
    for lo, hi in itertools.pairwise(edges):
        m = (p >= lo) & ((p < hi) if hi < 1 else (p <= hi))
        if m.any():
            out.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": int(m.sum()), "mean_p": float(p[m].mean()),
                        "observed": float(y[m].mean())})
    return out


def _fmt(m: dict[str, float]) -> str:
    return (f"acc {m['accuracy']:.4f}  learning recall {m['learning_recall']:.4f}  "
            f"not-learning recall {m['not_learning_recall']:.4f}  Brier {m['brier']:.4f}  (n={m['n']})")


def weak_flags(docs: Sequence[Doc], p: np.ndarray, options: ClassifyOptions) -> np.ndarray:
    """Which verdicts ``Classifier.classify`` flags weak: little text, borderline, or not English."""
    words = np.array([d.words for d in docs])
    english = np.array([d.language == "en" for d in docs])
    return (words < options.min_words) | (np.abs(p - 0.5) < 0.2) | ~english


def report(title: str, units: Sequence[Example], p: np.ndarray, *, detail: bool = True,
           weak: np.ndarray | None = None) -> dict[str, Any]:
    """Print and return metrics per unit type, per source and per fold, plus reliability bins."""
    y = np.array([e.label for e in units])
    types = np.array([unit_type(e) for e in units])
    out: dict[str, Any] = {}
    print(f"\n== {title}")
    excerpt_types = sorted({t for t in types if t.startswith(EXCERPT)}, key=lambda t: -int(t[len(EXCERPT):]))
    for t in (WHOLE, WINDOW, *excerpt_types):
        m = types == t
        if not m.any():
            continue
        out[t] = metrics(y[m], p[m])
        flag = ""
        if t in (WHOLE, WINDOW):
            missed = [k for k, v in TARGETS.items() if (v < out[t][k] if k == "brier" else out[t][k] < v)]
            flag = "  targets met" if not missed else f"  below target: {', '.join(missed)}"
        if weak is not None:
            sure = m & ~weak
            out[t]["weak_share"] = float(weak[m].mean())
            out[t]["accuracy_not_weak"] = float(((p[sure] >= 0.5) == y[sure]).mean()) if sure.any() else float("nan")
            flag += f"; weak {out[t]['weak_share']:.2f}, accuracy when not weak {out[t]['accuracy_not_weak']:.4f}"
        print(f"  {t:<11} {_fmt(out[t])}{flag}")
    if not detail:
        return out
    for t in (WHOLE, WINDOW):
        m = types == t
        print(f"  {t}s per source:")
        out[f"{t}_per_source"] = {}
        for s in dict.fromkeys(e.source for e in units):
            ms = m & np.array([e.source == s for e in units])
            if ms.any():
                out[f"{t}_per_source"][s] = metrics(y[ms], p[ms])
                r = out[f"{t}_per_source"][s]
                print(f"    {s:<11} acc {r['accuracy']:.4f}  Brier {r['brier']:.4f}  (n={r['n']}; "
                      f"p min {p[ms].min():.3f} max {p[ms].max():.3f})")
    both = np.isin(types, (WHOLE, WINDOW))
    out["reliability"] = reliability(y[both], p[both])
    print("  reliability (transcripts and windows): bin, n, mean p, observed share learning")
    for r in out["reliability"]:
        print(f"    {r['bin']}  n={r['n']:<4} mean p {r['mean_p']:.3f}  observed {r['observed']:.3f}")
    short = types != WHOLE
    short &= ~np.isin(types, (WINDOW,))
    if short.any():
        out["reliability_excerpts"] = reliability(y[short], p[short], bins=5)
        print("  reliability (excerpts): " + "; ".join(
            f"{r['bin']} n={r['n']} p={r['mean_p']:.2f} obs={r['observed']:.2f}" for r in out["reliability_excerpts"]))
    wrong = [(e, q) for e, q in zip(units, p, strict=True) if (q >= 0.5) != e.label and e.unit != EXCERPT]
    for e, q in wrong[:12]:
        print(f"    wrong: {e.id} p={q:.3f} {e.text[:80]!r}")
    return out


# ----------------------------------------------------------------------------- cross-validation


def cv_mean_vector(train_docs: Sequence[Doc], real: Sequence[Doc]) -> np.ndarray:
    """The old aggregation on the same data: one logistic regression on the mean chunk vector,
    Platt-scaled on the other folds' real units."""
    from sklearn.linear_model import LogisticRegression

    X = np.stack([d.x for d in train_docs])
    y = np.array([d.label for d in train_docs])
    m = LogisticRegression(C=3.0, class_weight="balanced", max_iter=5000).fit(X, y)
    z = m.decision_function(np.stack([d.x for d in real]))
    yr = np.array([d.label for d in real])
    folds = np.array([d.example.group for d in real])
    p = np.zeros(len(real))
    for f in REAL_FOLDS:
        test = folds == f
        platt = LogisticRegression(C=1e6, class_weight="balanced").fit(z[~test].reshape(-1, 1), yr[~test])
        p[test] = platt.predict_proba(z[test].reshape(-1, 1))[:, 1]
    return p


def before_head(path: Path) -> dict[str, tuple[np.ndarray, float]]:
    """(w, b) per embedder of the head on main before this change (format 1: mean-vector heads)."""
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        blob = subprocess.run(["git", "show", f"{BEFORE_COMMIT}:pipelines/data/classifier_head.npz"],
                              check=True, capture_output=True, cwd=Path(__file__).resolve().parents[1]).stdout
        path.write_bytes(blob)
    with np.load(path) as data:
        return {str(n): (data[f"{n}/w"], float(data[f"{n}/b"])) for n in data["embedders"]}


def route(units: Sequence[Example], minilm: Sequence[Doc], p_minilm: np.ndarray,
          e5: Sequence[Doc] | None, p_e5: np.ndarray | None) -> np.ndarray:
    """P per unit as ``Classifier.classify`` routes it: English to MiniLM, the rest to e5."""
    if e5 is None or p_e5 is None:
        return p_minilm
    by_id = {d.example.id: q for d, q in zip(e5, p_e5, strict=True)}
    return np.array([q if d.language == "en" else by_id[e.id]
                     for e, d, q in zip(units, minilm, p_minilm, strict=True)])


def e5_comparison(real5: Sequence[Doc], cache: EmbeddingCache, options: ClassifyOptions
                  ) -> tuple[np.ndarray, dict[str, Any]]:
    """The e5 head held out by fold, four ways on the same units: trained on English only (as on
    main) or also on the Russian paragraphs written for lessonlens, reading the first
    ``e5_first_chunks`` chunks only (as on main) or reading on until the verdict settles.
    Returns the last (the shipped way) and every variant's figures."""
    first_only = replace(options, e5_max_chunks=options.e5_first_chunks)
    val5 = prepare(multilingual(), cache, options, e5=True)
    other = np.array([d.language != "en" for d in real5])
    kinds = np.array([unit_type(d.example) for d in real5])
    y = np.array([d.label for d in real5])
    out: dict[str, Any] = {}
    p = np.zeros(len(real5))
    for name, other_languages, opts in (
        ("before: English-only head, first 8 chunks (main)", False, first_only),
        ("English-only head, reads until settled", False, options),
        ("head with the Russian paragraphs, first 8 chunks", True, first_only),
        ("after: head with the Russian paragraphs, reads until settled", True, options),
    ):
        train5 = prepare(commercial_examples(other_languages=other_languages), cache, options, e5=True)
        read: dict[str, int] = {}

        def score(head: ShareHead, doc: Doc, opts: ClassifyOptions = opts, read: dict[str, int] = read) -> float:
            q, n = score_as_read(head, doc, cache, opts, MULTILINGUAL_EMBEDDER)
            read[doc.example.id] = n
            return q

        print(f"\ne5 share head, held out by fold ({len(real5)} units; see e5_subset): {name}")
        p, info = held_out_by_fold(train5, real5, options.chunk_words, validation=val5, score=score)
        rows: dict[str, Any] = {"fit": info}
        for t in (WHOLE, WINDOW, *sorted({k for k in kinds if k.startswith(EXCERPT)})):
            for lang, m in (("non-English", other & (kinds == t)), ("English", ~other & (kinds == t))):
                if m.any():
                    rows[f"{t} {lang}"] = metrics(y[m], p[m])
                    reads = [read[d.example.id] for d, k in zip(real5, m, strict=True) if k]
                    print(f"  {t:<11} {lang:<11} {_fmt(rows[f'{t} {lang}'])}; chunks read mean "
                          f"{statistics.mean(reads):.1f}, max {max(reads)}")
        for d, q in zip(real5, p, strict=True):
            if d.language != "en" and d.example.unit == WHOLE:
                print(f"    {d.example.id}: p={q:.3f}, read {read[d.example.id]} of {len(d.chunks)} chunks")
        out[name] = rows
    return p, out


# ----------------------------------------------------------------------------- speed


def speed(classifier: Classifier, cases: dict[str, tuple[str, list[str], ClassifyOptions]],
          runs: int = 9) -> dict[str, dict[str, float]]:
    """Median wall and CPU time of ``classify`` per case, after one warm-up call each; the cases
    take turns run by run, so a change in the machine's load falls on all of them alike."""
    results = {name: classifier.classify(transcript=t, screen_text=s, options=o) for name, (t, s, o) in cases.items()}
    walls: dict[str, list[float]] = {name: [] for name in cases}
    cpus: dict[str, list[float]] = {name: [] for name in cases}
    load_before = os.getloadavg()[0]
    for _ in range(runs):
        for name, (transcript, screen, options) in cases.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            classifier.classify(transcript=transcript, screen_text=screen, options=options)
            walls[name].append(time.perf_counter() - started)
            cpus[name].append(time.process_time() - started_cpu)
    load_after = os.getloadavg()[0]
    print(f"\n== speed: {runs} runs per case, taking turns, {os.cpu_count()} CPUs, load average "
          f"{load_before:.1f} -> {load_after:.1f}; target <= {SPEED_TARGET_S} s for the English case")
    out = {}
    for name, (transcript, screen, _options) in cases.items():
        r, w = results[name], walls[name]
        out[name] = {"median_s": statistics.median(w), "min_s": min(w), "max_s": max(w),
                     "cpu_median_s": statistics.median(cpus[name]), "words": r.words, "chunks": r.chunks,
                     "load_before": load_before, "load_after": load_after}
        print(f"  {name}: {r.words} words ({len(transcript.split())} transcript + {len(screen)} on-screen lines), "
              f"{r.chunks} chunks read, {r.embedder}: wall median {out[name]['median_s']:.3f} s (min {min(w):.3f}, "
              f"max {max(w):.3f}); CPU median {out[name]['cpu_median_s']:.3f} s; p={r.probability:.3f} {r.label}")
    return out


def ten_minute_input(units: Sequence[Example], source: str = "cs50") -> tuple[str, list[str]]:
    """A real 10-minute window (the first of ``source``) and 100 on-screen lines (20 distinct slides)."""
    window = next(e for e in units if e.unit == WINDOW and e.source == source)
    lines = [ln for ln in window.text.splitlines() if len(ln.split()) >= 6][:20]
    return window.text, [f"Slide {k}: {ln[:70]}" for k, ln in enumerate(lines)] * 5


def speed_cases(units: Sequence[Example], options: ClassifyOptions) -> dict[str, tuple[str, list[str], ClassifyOptions]]:
    """English through MiniLM (the target) and Russian through e5, each as on main (MiniLM: every
    chunk; e5: its first 8 only) and as now (reading on only while unsettled)."""
    en, ru = ten_minute_input(units), ten_minute_input(units, "cs50_ru")
    return {
        "English 10 min + slides, MiniLM reads every chunk (main)": (
            *en, replace(options, first_chunks=2 * options.max_chunks)),
        "English 10 min + slides, MiniLM reads until settled (now)": (*en, options),
        "Russian 10 min + slides, e5 first 8 chunks only (main)": (
            *ru, replace(options, e5_max_chunks=options.e5_first_chunks)),
        "Russian 10 min + slides, e5 reads until settled (now)": (*ru, options),
    }


# ----------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-e5", action="store_true", help="skip everything that needs the e5 embeddings")
    ap.add_argument("--speed-only", action="store_true")
    ap.add_argument("--runs", type=int, default=9, help="timed runs per speed case")
    ap.add_argument("--json", type=Path, help="also write the metrics here")
    args = ap.parse_args()
    options = ClassifyOptions()
    units = real_units()
    out: dict[str, Any] = {}

    def minilm_factory():  # type: ignore[no-untyped-def]
        from pipelines.embeddings import SentenceEmbedder

        return SentenceEmbedder.load(args.model_dir, threads=args.threads)

    def e5_factory():  # type: ignore[no-untyped-def]
        from pipelines.embeddings import MultilingualEmbedder

        return MultilingualEmbedder.load(threads=args.threads)

    if not args.speed_only:
        train = commercial_examples()
        mini = EmbeddingCache("minilm-l6-v2-int8", minilm_factory)
        train_docs, real = prepare(train, mini, options), prepare(units, mini, options)
        counts = collections.Counter((e.source, unit_type(e)) for e in units)
        print("real units: " + ", ".join(f"{s}/{t} {n}" for (s, t), n in sorted(counts.items())))
        print(f"training documents (commercial licences only): {len(train_docs)}")
        print(f"\nMiniLM share head, held out by fold, reading {options.first_chunks} chunks first and on while "
              "unsettled (and, for comparison, every chunk):")
        read: dict[str, int] = {}

        def read_as_classify(head: ShareHead, doc: Doc) -> float:
            q, read[doc.example.id] = score_as_read(head, doc, mini, options, ENGLISH_EMBEDDER)
            return q

        p_new, out["cv_minilm"] = held_out_by_fold(train_docs, real, options.chunk_words, score=read_as_classify)
        p_all, _ = held_out_by_fold(train_docs, real, options.chunk_words)
        for t in (WHOLE, WINDOW):
            m = np.array([d.example.unit == t for d in real])
            y = np.array([d.label for d in real])[m]
            mean_read = statistics.mean(read[d.example.id] for d, k in zip(real, m, strict=True) if k)
            mean_all = statistics.mean(len(d.vectors) for d, k in zip(real, m, strict=True) if k)
            out[f"minilm_reading_{t}"] = {"until_settled": metrics(y, p_new[m]), "every_chunk": metrics(y, p_all[m]),
                                          "chunks_read": mean_read, "chunks_all": mean_all}
            print(f"  {t}s, all through MiniLM: until settled {_fmt(metrics(y, p_new[m]))}, {mean_read:.1f} chunks "
                  f"read; every chunk {_fmt(metrics(y, p_all[m]))}, {mean_all:.1f} chunks")
        p_e5 = None
        real5: list[Doc] | None = None
        if not args.no_e5:
            e5 = EmbeddingCache("e5-small", e5_factory)
            units5 = e5_subset(units)
            real5 = prepare(units5, e5, options, e5=True)
            p_e5, out["cv_e5"] = e5_comparison(real5, e5, options)
        p_routed = route(units, real, p_new, real5, p_e5)
        out["after"] = report("after: share head, commercial-licence training, held out by fold "
                              "(English: MiniLM; Russian: e5)", units, p_routed,
                              weak=weak_flags(real, p_routed, options))
        english = np.array([d.language == "en" for d in real])
        units_en = [u for u, k in zip(units, english, strict=True) if k]
        out["after_english"] = report("after, English units only (MiniLM)", units_en, p_routed[english], detail=False)
        if not english.all():
            units_other = [u for u, k in zip(units, english, strict=True) if not k]
            out["after_non_english"] = report("after, non-English units only (Russian; e5)", units_other,
                                              p_routed[~english], detail=False)

        old = before_head(CACHE_DIR / "head_before.npz")
        w, b = old["minilm-l6-v2"]
        p_old = 1 / (1 + np.exp(-np.array([b + w @ d.x for d in real])))
        p_old5 = None
        if real5 is not None and "e5-small" in old:
            w5, b5 = old["e5-small"]
            p_old5 = 1 / (1 + np.exp(-np.array([b5 + w5 @ d.x for d in real5])))
        out["before"] = report(f"before: head on main at {BEFORE_COMMIT} (mean vector; trained with AG News)",
                               units, route(units, real, p_old, real5, p_old5))
        out["mean_vector_same_data"] = report(
            "old aggregation retrained on the same data (mean vector + Platt on other folds; MiniLM only)",
            units, cv_mean_vector(train_docs, real), detail=False)
        if p_e5 is not None:
            out["e5_all"] = report("e5 head on the e5 subset (English forced through e5)",
                                   [d.example for d in real5 or ()], p_e5, detail=False)
        out["agnews"] = agnews_check(train_docs, real, mini, options)
        check = end_to_end(args, units, p_routed)
        out["end_to_end"] = check
    classifier = Classifier.load(args.model_dir, threads=args.threads)
    out["speed"] = speed(classifier, speed_cases(units, options), runs=args.runs)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


def agnews_check(train_docs: Sequence[Doc], real: Sequence[Doc], cache: EmbeddingCache,
                 options: ClassifyOptions) -> dict[str, dict[str, float]]:
    """AG News (evaluation only, never trained on) under the head built on all folds: the items
    one by one (~40 words each) and "bulletins" of consecutive items, ~1,500 words like a
    10-minute newscast read aloud (written news, not speech)."""
    w, b, _c = fit_chunk_head(train_docs, verbose=False)
    feats = share_features(real, w, b)
    y = np.array([d.label for d in real])
    cal = fit_share(feats, y, [unit_type(d.example) for d in real], options.chunk_words)
    head = share_head(w, b, cal, options.chunk_words)
    items = agnews()
    bulletins, current, words = [], [], 0
    for e in items:
        current.append(e.text)
        words += len(e.text.split())
        if words >= WINDOW_WORDS:
            bulletins.append(Example(f"agnews/bulletin{len(bulletins)}", "\n".join(current), 0, "other",
                                     "agnews", "agnews", WINDOW))
            current, words = [], 0
    out = {}
    for name, examples in (("items", items), ("bulletins", bulletins)):
        docs = prepare(examples, cache, options)
        p = np.array([1 / (1 + np.exp(-head.logit(d.vectors, d.weights, d.words))) for d in docs])
        weak = weak_flags(docs, p, options)
        out[name] = {"n": len(docs), "not_learning_recall": float((p < 0.5).mean()), "brier": float((p**2).mean()),
                     "weak_share": float(weak.mean())}
        print(f"\n== AG News {name} (evaluation only, never trained on): {out[name]['not_learning_recall']:.4f} "
              f"called not learning, Brier {out[name]['brier']:.4f}, {out[name]['weak_share']:.2f} flagged weak "
              f"(n={len(docs)})")
    return out


def end_to_end(args: argparse.Namespace, units: Sequence[Example], p_cv: np.ndarray) -> dict[str, Any]:
    """The shipped head through ``Classifier.classify`` on the whole transcripts.

    Not held out (its calibration saw every fold): it checks that the shipped pipeline scores
    like the bench's cached path, and shows how the shipped probabilities sit beside the
    held-out ones.
    """
    classifier = Classifier.load(args.model_dir, threads=args.threads)
    whole = [(e, q) for e, q in zip(units, p_cv, strict=True) if e.unit == WHOLE]
    started = time.monotonic()
    results = [classifier.classify(transcript=e.text) for e, _ in whole]
    seconds = time.monotonic() - started
    y = np.array([e.label for e, _ in whole])
    p = np.array([r.probability for r in results])
    m = metrics(y, p)
    weak = sum(r.weak for r in results)
    print(f"\n== shipped head through Classifier.classify, whole transcripts (not held out): {_fmt(m)}; "
          f"{weak} flagged weak; {seconds:.1f} s for {len(whole)} transcripts")
    for (e, _), r in list(zip(whole, results, strict=True))[:: max(1, len(whole) // 4)]:
        top = r.evidence_for[0].text[:70] if r.evidence_for else "-"
        print(f"    {e.id}: p={r.probability:.3f}; deciding passage for: {top!r}")
    return {**m, "weak": weak, "seconds": seconds}


if __name__ == "__main__":
    main()
