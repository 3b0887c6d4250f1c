"""Evaluate the learning classifier on the held-out split, through ``Classifier.classify``.

Prints accuracy, precision and recall per class, the confusion matrix, the Brier score,
accuracy per source (and per spoken genre), kind accuracy, the same for the multilingual head
(held-out English scored as if non-English) and for the zero-shot fallback, a small
non-English sanity set, and the time to classify a 10-minute transcript plus on-screen text.

The speed measurement runs the shipped CTranslate2 embedder and the former torch/transformers
one (``TorchEmbedder`` below, kept here as the baseline) in alternation in one process, so both
see the same machine load, and splits each run's time into embedding and the rest.

    .venv/bin/python bench/eval_classifier.py [--model-dir DIR] [--runtime ct2|torch] [--quick] [--json OUT]
    .venv/bin/python bench/eval_classifier.py --speed-only
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
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from classifier_data import Example, load_examples, source_family, split

from pipelines.classify.classifier import LEARNING, Classifier, ClassifyOptions, ClassifyResult
from pipelines.classify.head import Embedder
from pipelines.embeddings import SentenceEmbedder
from pipelines.models import DEFAULT_MODEL_DIR, model_path

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


class TorchEmbedder:
    """The former MiniLM embedder (torch/transformers, float32): the baseline of the speed run."""

    dimension = 384

    def __init__(self, model_dir: Path, threads: int) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.set_num_threads(threads)
        folder = model_path("minilm-l6-v2", model_dir)
        self._tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self._model = AutoModel.from_pretrained(str(folder)).eval()

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        import torch

        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                batch = self._tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                        max_length=256, return_tensors="pt")
                hidden = self._model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                out[idx] = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
        return out


class TimedEmbedder:
    """Wraps an embedder and adds up the wall time spent in ``embed``."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.seconds = inner, 0.0

    def embed(self, texts: Sequence[str], batch_size: int = 8) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self.inner.embed(texts, batch_size=batch_size)
        finally:
            self.seconds += time.perf_counter() - started


def ten_minute_input(test: Sequence[Example]) -> tuple[str, list[str]]:
    """A ~1,500-word transcript of spoken learning paragraphs and 100 on-screen lines (20 distinct)."""
    paragraphs = [e.text for e in test if e.source.startswith("spoken/") and e.label == 1]
    words: list[str] = []
    i = 0
    while len(words) < 1500:
        words.extend(paragraphs[i % len(paragraphs)].split())
        i += 1
    slides = [f"Step {k}: {line}" for k, line in enumerate(paragraphs[:20])]
    return " ".join(words[:1500]), [s[:80] for s in slides] * 5  # the same slide in many frames


def speed(classifiers: dict[str, Classifier], test: Sequence[Example], runs: int = 7,
          options: ClassifyOptions | None = None) -> dict[str, dict[str, Any]]:
    """Time one 10-minute transcript plus its on-screen text per classifier, after loading.

    The classifiers take turns run by run, so a change in the machine's load hits them alike.
    """
    transcript, screen = ten_minute_input(test)
    timed = {name: (TimedEmbedder(c.embedder),
                    TimedEmbedder(c.multilingual_embedder) if c.multilingual_embedder else None)
             for name, c in classifiers.items()}
    wrapped = {name: Classifier(timed[name][0], c.heads, multilingual_embedder=timed[name][1],
                                multilingual_heads=c.multilingual_heads) for name, c in classifiers.items()}
    times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in classifiers}
    result: dict[str, ClassifyResult] = {}
    for name, c in wrapped.items():
        result[name] = c.classify(transcript=transcript, screen_text=screen, options=options)  # warm-up
    load_before = os.getloadavg()[0]
    for _ in range(runs):
        for name, c in wrapped.items():
            for t in timed[name]:
                if t is not None:
                    t.seconds = 0.0
            started, started_cpu = time.perf_counter(), time.process_time()
            c.classify(transcript=transcript, screen_text=screen, options=options)
            times[name].append((time.perf_counter() - started, time.process_time() - started_cpu,
                                sum(t.seconds for t in timed[name] if t is not None)))
    load_after = os.getloadavg()[0]
    r = next(iter(result.values()))
    print(f"\n== speed: {r.words} words ({len(transcript.split())} transcript + {len(screen)} on-screen lines), "
          f"{r.chunks} chunks, {runs} runs each in alternation; load average {load_before:.1f} -> "
          f"{load_after:.1f} on {os.cpu_count()} CPUs")
    out: dict[str, dict[str, Any]] = {}
    for name, rows in times.items():
        wall, cpu, emb = (statistics.median(col) for col in zip(*rows, strict=True))
        print(f"  {name:<14} wall median {wall:.3f} s (min {min(t[0] for t in rows):.3f}, max "
              f"{max(t[0] for t in rows):.3f}); CPU median {cpu:.3f} s; embedding {emb:.3f} s, "
              f"the rest {wall - emb:.3f} s; p={result[name].probability:.3f} ({result[name].embedder})")
        out[name] = {"median_s": wall, "max_s": max(t[0] for t in rows), "cpu_median_s": cpu,
                     "embed_median_s": emb, "chunks": r.chunks, "words": r.words}
    out["load_average"] = {"before": load_before, "after": load_after}  # type: ignore[assignment]
    return out


def load_torch_classifier(model_dir: Path, threads: int, like: Classifier) -> Classifier:
    """The shipped heads on the torch baseline embedder (``like`` lends its e5 embedder)."""
    started = time.monotonic()
    torch_embedder = TorchEmbedder(model_dir, threads)
    print(f"torch baseline embedder loaded in {time.monotonic() - started:.2f} s")
    return Classifier.from_embedders(torch_embedder, multilingual_embedder=like.multilingual_embedder)


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
    ap.add_argument("--runtime", choices=("ct2", "torch"), default="ct2",
                    help="MiniLM runtime scored in the accuracy runs (the speed run times both)")
    ap.add_argument("--quick", action="store_true", help="skip the e5-forced and zero-shot runs")
    ap.add_argument("--speed-only", action="store_true", help="only the speed measurement")
    ap.add_argument("--json", type=Path, help="also write the metrics here")
    args = ap.parse_args()

    _train, test = split(load_examples())
    started = time.monotonic()
    SentenceEmbedder.load(args.model_dir, threads=args.threads)
    print(f"CTranslate2 MiniLM loaded in {time.monotonic() - started:.2f} s (cold: includes imports)")
    started = time.monotonic()
    classifier = Classifier.load(args.model_dir, threads=args.threads)
    print(f"classifier loaded in {time.monotonic() - started:.2f} s (MiniLM again, e5, heads); "
          f"head: {classifier.heads.method}")
    torch_classifier = load_torch_classifier(args.model_dir, args.threads, classifier)
    runtimes = {"ct2": classifier, "torch": torch_classifier}
    out: dict[str, object] = {}
    if args.speed_only:
        speed({"ct2 int8": classifier, "torch float32": torch_classifier}, test)
        speed({"ct2, e5-small": classifier}, test, options=ClassifyOptions(english_embedder="e5-small"))
        return
    scored = runtimes[args.runtime]
    results = [scored.classify(transcript=e.text) for e in test]
    out["shipped"] = report(f"shipped head, language guessed, MiniLM on {args.runtime}", test, results)
    out["speed"] = speed({"ct2 int8": classifier, "torch float32": torch_classifier}, test)
    out["multilingual_set"] = multilingual(scored)
    if not args.quick:
        results = [scored.classify(transcript=e.text, language="xx") for e in test]
        out["e5_head"] = report("multilingual e5 head on held-out English (language forced)", test, results)
        zero = Classifier.from_embedders(scored.embedder, head_path=None)
        results = [zero.classify(transcript=e.text, language="en") for e in test]
        out["zero_shot"] = report(f"zero-shot fallback (no head file), English, MiniLM on {args.runtime}",
                                  test, results)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
