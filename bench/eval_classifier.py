"""Evaluate the learning classifier on the held-out split, through ``Classifier.classify``.

Prints accuracy, precision and recall per class, the confusion matrix, the Brier score,
accuracy per source (and per spoken genre), kind accuracy, the same for the multilingual head
(held-out English scored as if non-English) and for the zero-shot fallback, a small
non-English sanity set, and the time to classify a 10-minute transcript plus on-screen text.

    .venv/bin/python bench/eval_classifier.py [--model-dir DIR] [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from classifier_data import Example, load_examples, source_family, split

from pipelines.classify import LEARNING, Classifier, ClassifyOptions, ClassifyResult
from pipelines.models import DEFAULT_MODEL_DIR

MULTILINGUAL = Path(__file__).parent / "data" / "classify_multilingual.jsonl"


def report(title: str, examples: Sequence[Example], results: Sequence[ClassifyResult]) -> dict[str, object]:
    """Print and return the metrics of one run."""
    y = [e.label for e in examples]
    pred = [int(r.label == LEARNING) for r in results]
    prob = [r.probability for r in results]
    n = len(y)
    cm = [[sum(1 for a, b in zip(y, pred, strict=True) if a == t and b == p) for p in (1, 0)] for t in (1, 0)]
    acc = sum(a == b for a, b in zip(y, pred, strict=True)) / n
    brier = sum((p - a) ** 2 for p, a in zip(prob, y, strict=True)) / n
    per_class = {}
    for cls, name in ((1, "learning"), (0, "not_learning")):
        tp = sum(1 for a, b in zip(y, pred, strict=True) if a == cls and b == cls)
        precision = tp / max(1, sum(1 for b in pred if b == cls))
        recall = tp / max(1, sum(1 for a in y if a == cls))
        per_class[name] = {"precision": precision, "recall": recall, "support": sum(1 for a in y if a == cls)}
    by_source: dict[str, list[bool]] = collections.defaultdict(list)
    by_genre: dict[str, list[bool]] = collections.defaultdict(list)
    for e, p in zip(examples, pred, strict=True):
        by_source[source_family(e.source)].append(p == e.label)
        if e.source.startswith("spoken/"):
            by_genre[e.source].append(p == e.label)
    kind_pairs = [(e.kind, r.kind) for e, r in zip(examples, results, strict=True) if e.label == 1 and r.label == LEARNING]
    kind_acc = sum(a == b for a, b in kind_pairs) / max(1, len(kind_pairs))
    embedders = collections.Counter(r.embedder for r in results)

    print(f"\n== {title}: {n} held-out examples")
    print(f"accuracy {acc:.4f}   Brier score {brier:.4f}   embedders used {dict(embedders)}")
    for name, m in per_class.items():
        print(f"  {name:<13} precision {m['precision']:.4f} recall {m['recall']:.4f} (n={m['support']})")
    print("  confusion matrix (rows true, columns predicted; learning, not_learning):")
    print(f"    learning      {cm[0][0]:>5} {cm[0][1]:>5}\n    not_learning  {cm[1][0]:>5} {cm[1][1]:>5}")
    print("  accuracy per source:")
    for s, v in sorted(by_source.items()):
        print(f"    {s:<12} {sum(v) / len(v):.4f} (n={len(v)})")
    print("  accuracy per spoken genre:")
    for s, v in sorted(by_genre.items()):
        print(f"    {s:<40} {sum(v) / len(v):.4f} (n={len(v)})")
    print(f"  kind accuracy on learning examples labelled learning: {kind_acc:.4f} (n={len(kind_pairs)})")
    kind_confusion = collections.Counter(f"{a} -> {b}" for a, b in kind_pairs if a != b)
    for pair, count in kind_confusion.most_common():
        print(f"    kind {pair}: {count}")
    wrong = [(e, r) for e, r in zip(examples, results, strict=True) if int(r.label == LEARNING) != e.label]
    for e, r in wrong[:12]:
        print(f"    wrong: {e.source} p={r.probability:.3f} {e.text[:90]!r}")
    return {
        "n": n, "accuracy": acc, "brier": brier, "per_class": per_class, "confusion": cm,
        "per_source": {s: sum(v) / len(v) for s, v in by_source.items()},
        "per_genre": {s: sum(v) / len(v) for s, v in by_genre.items()}, "kind_accuracy": kind_acc,
    }


def speed(classifier: Classifier, test: Sequence[Example],
          options: ClassifyOptions | None = None) -> dict[str, float]:
    """Time one 10-minute transcript (~1,500 words) plus its on-screen text, after loading."""
    paragraphs = [e.text for e in test if e.source.startswith("spoken/") and e.label == 1]
    words: list[str] = []
    i = 0
    while len(words) < 1500:
        words.extend(paragraphs[i % len(paragraphs)].split())
        i += 1
    transcript = " ".join(words[:1500])
    slides = [f"Step {k}: {line}" for k, line in enumerate(paragraphs[:20])]
    screen = [s[:80] for s in slides] * 5  # the same slide seen in many frames
    classifier.classify(transcript=transcript, screen_text=screen, options=options)  # warm-up
    times, cpu = [], []
    for _ in range(5):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = classifier.classify(transcript=transcript, screen_text=screen, options=options)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    load = os.getloadavg()[0]
    print(f"\n== speed ({result.embedder}): {result.words} words ({len(transcript.split())} transcript + {len(screen)} on-screen "
          f"lines), {result.chunks} chunks: wall median {statistics.median(times):.3f} s, "
          f"max {max(times):.3f} s; CPU time median {statistics.median(cpu):.3f} s "
          f"(torch threads {torch_threads()}); over 5 runs, load average {load:.1f} on {os.cpu_count()} CPUs")
    return {"median_s": statistics.median(times), "max_s": max(times), "cpu_median_s": statistics.median(cpu),
            "load_average": load, "words": result.words, "chunks": result.chunks}


def torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def multilingual(classifier: Classifier) -> dict[str, float]:
    rows = [json.loads(line) for line in MULTILINGUAL.read_text(encoding="utf-8").splitlines()]
    ok = 0
    print(f"\n== non-English sanity set ({len(rows)} hand-written paragraphs, language not given)")
    for r in rows:
        res = classifier.classify(transcript=r["text"])
        ok += res.label == r["label"]
        print(f"  {r['lang']} {r['label']:<12} -> {res.label:<12} p={res.probability:.3f} kind={res.kind} "
              f"({res.embedder}, language {res.language})")
    print(f"  accuracy {ok / len(rows):.2f}")
    return {"accuracy": ok / len(rows), "n": len(rows)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="skip the e5-forced and zero-shot runs")
    ap.add_argument("--speed-only", action="store_true", help="only the speed measurement")
    ap.add_argument("--json", type=Path, help="also write the metrics here")
    args = ap.parse_args()

    _train, test = split(load_examples())
    started = time.monotonic()
    classifier = Classifier.load(args.model_dir, threads=args.threads)
    print(f"loaded in {time.monotonic() - started:.2f} s; head: {classifier.heads.method}")
    out: dict[str, object] = {}
    if args.speed_only:
        speed(classifier, test)
        speed(classifier, test, ClassifyOptions(english_embedder="e5-small"))
        return
    results = [classifier.classify(transcript=e.text) for e in test]
    out["shipped"] = report("shipped head, language guessed", test, results)
    out["speed"] = speed(classifier, test)
    out["multilingual_set"] = multilingual(classifier)
    if not args.quick:
        results = [classifier.classify(transcript=e.text, language="xx") for e in test]
        out["e5_head"] = report("multilingual e5 head on held-out English (language forced)", test, results)
        zero = Classifier.from_embedders(classifier.embedder, head_path=None)
        results = [zero.classify(transcript=e.text, language="en") for e in test]
        out["zero_shot"] = report("zero-shot fallback (no head file), English", test, results)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
