"""Benchmark the duration-constrained paraphraser (issue 6).

Sentences: bench/data/fit_devset.jsonl (written for this project) plus sentences drawn at run
time from ../shared/testdata/text/educational (OpenStax, CC BY 4.0; never stored here). Each
sentence's slot is ``--ratio`` (default 0.8: 20 % shorter) times its own estimate. In reading
mode only the time slot is checked (``check_lines=False``): a 25-word sentence needs three
subtitle lines whatever we do, and splitting sentences into cues is the segmenter's job.

Prints: share that fit with similarity >= the floor, mean similarity, p50/p95 latency per
sentence, model load time, and a breakdown by source and by the method that won.

Usage:
    .venv/bin/python bench/bench_fit.py                      # reading mode, netflix-en
    .venv/bin/python bench/bench_fit.py --mode speaking
    .venv/bin/python bench/bench_fit.py --no-lm --limit 50   # rules and trims only
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.duration import reading_estimate, speaking_estimate  # noqa: E402
from pipelines.embeddings import SentenceEmbedder  # noqa: E402
from pipelines.models import DEFAULT_MODEL_DIR  # noqa: E402
from pipelines.paraphrase import FitOptions, FitResult, Paraphraser, resolve_profile  # noqa: E402

DEVSET = ROOT / "bench" / "data" / "fit_devset.jsonl"
SHARED_TEXT = ROOT.parent / "shared" / "testdata" / "text" / "educational"


def shared_sentences(count: int, seed: int) -> list[dict[str, str]]:
    """Prose sentences of 18-40 words from the shared OpenStax texts (code lines left out)."""
    if not SHARED_TEXT.is_dir():
        print(f"note: {SHARED_TEXT} not found; using the project's own sentences only")
        return []
    pool: list[str] = []
    for path in sorted(SHARED_TEXT.rglob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            for sent in re.split(r"(?<=[.!?])\s+(?=[A-Z])", line.strip()):
                words = sent.split()
                if 18 <= len(words) <= 40 and sent[-1:] in ".!?" and not re.search(r"[=(){}\[\]_#<>\"]", sent):
                    pool.append(sent)
    pool = sorted(set(pool))
    picked = random.Random(seed).sample(pool, min(count, len(pool)))
    return [{"id": f"shared-{i:03d}", "domain": "openstax", "style": "textbook", "text": t}
            for i, t in enumerate(picked)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["reading", "speaking"], default="reading")
    ap.add_argument("--profile", default="netflix-en")
    ap.add_argument("--ratio", type=float, default=0.8, help="slot as a fraction of the estimate")
    ap.add_argument("--floor", type=float, default=0.8, help="similarity floor")
    ap.add_argument("--shared", type=int, default=60, help="sentences drawn from ../shared/testdata")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N sentences (0: all)")
    ap.add_argument("--every", type=int, default=1, help="use every k-th sentence (a quicker, spread sample)")
    ap.add_argument("--no-lm", action="store_true", help="rules and trims only")
    ap.add_argument("--lm", choices=["auto", "always"], default="auto")
    ap.add_argument("--lm-candidates", type=int, default=6, help="sampled LM proposals per sentence")
    ap.add_argument("--lm-greedy", action="store_true", help="also decode greedily")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    ap.add_argument("--out", type=Path, help="write per-sentence results as JSON lines here")
    ap.add_argument("--seed", type=int, default=6)
    args = ap.parse_args()

    items = [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines() if line.strip()]
    items += shared_sentences(args.shared, args.seed)
    items = items[:: max(1, args.every)]
    if args.limit:
        items = items[: args.limit]

    t0 = time.monotonic()
    embedder = SentenceEmbedder.load(args.model_dir, threads=args.threads)
    t_embed = time.monotonic() - t0
    shortener = None
    t_lm = 0.0
    if not args.no_lm:
        from pipelines.smollm import LMSettings, SmolLM2Shortener

        t1 = time.monotonic()
        shortener = SmolLM2Shortener.load(args.model_dir, LMSettings(threads=args.threads))
        t_lm = time.monotonic() - t1
        shortener.warm_up()
    embedder.similarity("warm-up", ["warm up"])
    t_load = time.monotonic() - t0
    para = Paraphraser(embedder, shortener)

    profile = resolve_profile(args.profile)
    results: list[tuple[dict[str, str], FitResult]] = []
    cpu_times: list[float] = []  # CPU seconds of this process per sentence, all threads together
    for item in items:
        text = item["text"]
        if args.mode == "reading":
            estimate = reading_estimate(text, profile).seconds
        else:
            estimate = speaking_estimate(text, "en").seconds
        options = FitOptions(mode=args.mode, language="en", max_seconds=estimate * args.ratio,
                             profile=args.profile, similarity_floor=args.floor, lm=args.lm,
                             lm_candidates=args.lm_candidates, lm_greedy=args.lm_greedy,
                             check_lines=False)
        cpu0 = time.process_time()
        results.append((item, para.fit(text, options)))
        cpu_times.append(time.process_time() - cpu0)
        if len(results) % 25 == 0:
            done = [r for _, r in results]
            print(f"  ... {len(done)}/{len(items)} fit={sum(r.fits for r in done) / len(done):.1%}",
                  file=sys.stderr, flush=True)

    def summary(rows: list[tuple[dict[str, str], FitResult]], label: str) -> None:
        if not rows:
            return
        ok = [r for _, r in rows if r.fits and r.similarity >= args.floor]
        sims = [r.similarity for _, r in rows]
        lat = [r.elapsed_s for _, r in rows]
        print(f"{label:<22} n={len(rows):>3}  fit={len(ok) / len(rows):6.1%}  "
              f"mean sim={statistics.fmean(sims):.3f} (fitted {statistics.fmean([r.similarity for r in ok]) if ok else float('nan'):.3f})  "
              f"p50={percentile(lat, 0.5):.3f}s  p95={percentile(lat, 0.95):.3f}s  "
              f"mean={statistics.fmean(lat):.3f}s")

    print(f"mode={args.mode} profile={args.profile} slot={args.ratio:.0%} of estimate floor={args.floor} "
          f"lm={'off' if args.no_lm else args.lm} lm_candidates={args.lm_candidates} greedy={args.lm_greedy} threads={args.threads}")
    print(f"load: embedder {t_embed:.2f}s, LM {t_lm:.2f}s, total with warm-up {t_load:.2f}s")
    print(f"machine load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    # On a shared machine wall time mostly measures the other processes; CPU time / threads is
    # what a sentence would take with the cores to itself (a lower bound on idle wall time).
    print(f"cpu per sentence: p50={percentile(cpu_times, 0.5):.3f}s p95={percentile(cpu_times, 0.95):.3f}s "
          f"(/ {args.threads} threads: p50={percentile(cpu_times, 0.5) / args.threads:.3f}s)")
    summary(results, "all")
    for source in ("written", "spoken", "verbose", "textbook"):
        summary([(i, r) for i, r in results if i["style"] == source], f"  {source}")
    methods = Counter(r.method.split(":")[0] if r.fits else "not fitted" for _, r in results)
    print("winning method:", dict(methods.most_common()))
    lm_used = [r for _, r in results if any(c.method.startswith("lm") for c in r.candidates)]
    if lm_used:
        summary([(i, r) for i, r in results if r in lm_used], "  sentences with LM run")
    print("examples:")
    for item, r in results[:: max(1, len(results) // 8)]:
        print(f"  [{item['id']}] fits={r.fits} sim={r.similarity:.2f} {r.method} {r.elapsed_s:.2f}s\n"
              f"     {r.original}\n  -> {r.text}")
    if args.out:
        with args.out.open("w", encoding="utf-8") as f:
            for item, r in results:
                f.write(json.dumps({"id": item["id"], "original": r.original, "text": r.text, "fits": r.fits,
                                    "similarity": r.similarity, "method": r.method, "elapsed_s": r.elapsed_s,
                                    "estimate": r.estimate, "limit": r.limit}) + "\n")


if __name__ == "__main__":
    main()
