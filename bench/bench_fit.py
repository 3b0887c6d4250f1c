"""Benchmark the sentence fitter (issue 6).

Sentences: bench/data/fit_devset.jsonl (written for this project) plus sentences drawn at run
time from ../shared/testdata/text/educational (OpenStax, CC BY 4.0; never stored here). Each
sentence's slot is ``--ratio`` (default 0.8: 20 % shorter) times its own estimate. In reading
mode only the time slot is checked (``check_lines=False``): a 25-word sentence needs three
subtitle lines whatever we do, and splitting sentences into cues is the segmenter's job.

Prints: share that fit with similarity >= the floor, mean similarity, p50/p95 per sentence of
wall time *and* of this process's CPU time (the machine is shared: others' work inflates wall
time, CPU time much less), the time spent in the LM and in MiniLM separately, the load average
before and after, model load time, and a breakdown by source and by the method that won.

``--runtimes`` runs the current strategy on both LM runtimes (llama.cpp, CTranslate2), each
sentence on one right after the other. ``--compare`` runs the strategy before issue 17 (no
spoken cuts, parser deletions, meaning guard or time budget; the LM on 2 threads) on each
sentence right after the current one, so both see the same machine load. ``--prune-steps 0`` turns the deletion search off in the
current strategy.

Sets (``--sets``, reported apart): ``written`` is the sentences above; ``real-test`` and
``real-dev`` are real spoken sentences drawn at run time from ../shared/testdata/text/
lectures_spoken (``bench/real_speech.py``: seeded, split by lecture; tune on dev, report test).
Besides fit, it reports what the outputs lost against their originals (numbers, negations,
named entities: each must be 0) and the share of outputs that parse as a sentence (spaCy), with
the originals' share beside it. ``--busy 1`` runs a busy-loop process beside the bench for the
whole run (the "other core busy" condition), and says so.

Usage:
    .venv/bin/python bench/bench_fit.py --sets real-test,written --busy 1   # the issue-17 report
    .venv/bin/python bench/bench_fit.py                      # reading mode, netflix-en
    .venv/bin/python bench/bench_fit.py --mode speaking
    .venv/bin/python bench/bench_fit.py --no-lm --limit 50   # rules and trims only
    .venv/bin/python bench/bench_fit.py --compare --every 2  # old and new strategy side by side
    .venv/bin/python bench/bench_fit.py --runtimes           # llama.cpp and CTranslate2 side by side
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.real_speech import real_sets  # noqa: E402
from pipelines.embeddings import SentenceEmbedder  # noqa: E402
from pipelines.fit.estimates import reading_estimate, speaking_estimate  # noqa: E402
from pipelines.fit.lm_prompt import LMSettings  # noqa: E402
from pipelines.fit.sentence import FitOptions, FitResult, SentenceFitter, resolve_profile  # noqa: E402
from pipelines.models import DEFAULT_MODEL_DIR  # noqa: E402

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


def _spin() -> None:
    while True:
        pass


def start_busy(count: int) -> list[multiprocessing.Process]:
    """``count`` busy-loop processes: the CPU load the issue-17 targets are measured under."""
    procs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(count)]
    for proc in procs:
        proc.start()
    return procs


@dataclass
class FactCheck:
    """What outputs lost against their originals, judged apart from the fitter (spaCy + digits)."""

    nlp: Any
    numbers: int = 0
    negations: int = 0
    entities: int = 0
    parsed: int = 0
    parsed_original: int = 0
    count: int = 0
    losses: list[str] = field(default_factory=list)

    def add(self, original: str, output: str) -> None:
        from pipelines.fit.guard import negation_count
        from pipelines.fit.rules import numbers_in
        from pipelines.fit.syntax import NAME_ENTITIES, sentence_problem

        doc_o, doc_t = self.nlp(original), self.nlp(output)
        self.count += 1
        lost: list[str] = []
        if numbers_in(original, "en") - numbers_in(output, "en"):
            self.numbers += 1
            lost.append("number")
        if negation_count(output) < negation_count(original):
            self.negations += 1
            lost.append("negation")
        names = [e.text for e in doc_o.ents if e.label_ in NAME_ENTITIES]
        if any(re.search(rf"(?<!\w){re.escape(n.lower())}(?!\w)", output.lower()) is None for n in names):
            self.entities += 1
            lost.append("entity")
        self.parsed += not sentence_problem(doc_t)
        self.parsed_original += not sentence_problem(doc_o)
        if lost:
            self.losses.append(f"{'/'.join(lost)}: {original!r} -> {output!r}")

    def line(self) -> str:
        n = max(1, self.count)
        return (f"lost: numbers {self.numbers}, negations {self.negations}, entities {self.entities}; "
                f"parse as a sentence {self.parsed / n:.1%} (originals {self.parsed_original / n:.1%})")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@dataclass
class Clock:
    """Wall and process CPU seconds spent inside one model, per sentence."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def start_sentence(self) -> None:
        self.wall.append(0.0)
        self.cpu.append(0.0)

    def timed(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        w, c = time.monotonic(), time.process_time()
        try:
            return call(*args, **kwargs)
        finally:
            self.wall[-1] += time.monotonic() - w
            self.cpu[-1] += time.process_time() - c


class TimedEmbedder:
    """An embedder that books its time on a Clock (the sentence fitter only calls ``similarity``)."""

    def __init__(self, inner: Any, clock: Clock) -> None:
        self.inner, self.clock = inner, clock

    def similarity(self, a: str, b: Sequence[str]) -> np.ndarray:
        return np.asarray(self.clock.timed(self.inner.similarity, a, b))


class TimedShortener:
    """A shortener that books its time on a Clock."""

    def __init__(self, inner: Any, clock: Clock) -> None:
        self.inner, self.clock = inner, clock

    def shorten(self, sources: Sequence[str], target_ratio: float, sampled: int = 0,
                greedy: bool = True, attempt: int = 0, deadline: float | None = None,
                stop: threading.Event | None = None) -> list[str]:
        return list(self.clock.timed(self.inner.shorten, sources, target_ratio, sampled, greedy,
                                     attempt=attempt, deadline=deadline, stop=stop))


@dataclass(frozen=True)
class Strategy:
    """LM settings and fit options under test; ``options`` are the FitOptions fields it sets."""

    name: str
    lm: LMSettings
    options: dict[str, Any]


def strategies(args: argparse.Namespace) -> list[Strategy]:
    lm = LMSettings(threads=args.threads, runtime=args.runtime,
                    **({"few_shot": args.few_shot} if args.few_shot is not None else {}))
    budget = None if args.budget == 0 else args.budget
    current = Strategy("current", lm,
                       {k: getattr(FitOptions, k) if v is None else v
                        for k, v in (("lm_candidates", args.lm_candidates), ("lm_rounds", args.lm_rounds),
                                     ("early_accept_similarity", args.early_accept),
                                     ("prune_steps", args.prune_steps), ("content_floor", args.content_floor))}
                       | ({"time_budget_s": budget} if args.budget is not None else {}))
    if args.runtimes:  # the same strategy on both LM runtimes
        return [replace(current, name=runtime, lm=replace(lm, runtime=runtime))
                for runtime in ("llama.cpp", "ctranslate2")]
    if not args.compare:
        return [current]
    # Before issue 17: no spoken cuts, parser deletions, meaning guard or time budget, and the
    # LM on 2 threads (the service's old default), whatever the machine's load.
    old = Strategy("before", replace(lm, threads=2), {"meaning_guard": False, "time_budget_s": None})
    return [current, old]


@dataclass
class Run:
    """One strategy's sentence fitter, clocks and results."""

    strategy: Strategy
    fitter: SentenceFitter
    lm_clock: Clock
    embed_clock: Clock
    load_s: float
    results: list[tuple[dict[str, str], FitResult]] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


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
    ap.add_argument("--lm-candidates", type=int, help="sampled LM proposals per call (default: FitOptions')")
    ap.add_argument("--lm-rounds", type=int, help="LM calls per sentence at most (default: FitOptions')")
    ap.add_argument("--early-accept", type=float, help="similarity a fitting trim needs to skip the LM")
    ap.add_argument("--prune-steps", type=int, help="deletion search steps, 0: off (default: FitOptions')")
    ap.add_argument("--few-shot", type=int, help="few-shot examples in the LM prompt (default: LMSettings')")
    ap.add_argument("--compare", action="store_true",
                    help="also run the strategy before the speed work, interleaved sentence by sentence")
    ap.add_argument("--runtime", choices=["auto", "llama.cpp", "ctranslate2"], default="auto",
                    help="LM runtime of the current strategy (auto: llama.cpp when built)")
    ap.add_argument("--runtimes", action="store_true",
                    help="run the current strategy on llama.cpp and on CTranslate2, interleaved sentence by sentence")
    ap.add_argument("--lm-greedy", action="store_true", help="also decode greedily")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    ap.add_argument("--out", type=Path, help="write per-sentence results as JSON lines here")
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--sets", default="written",
                    help="comma-separated: written, real-test, real-dev (real speech from ../shared, split by lecture)")
    ap.add_argument("--real-seed", type=int, default=17, help="seed of the real-speech sets")
    ap.add_argument("--per-lecture", type=int, default=6, help="real sentences drawn per lecture")
    ap.add_argument("--busy", type=int, default=0, help="busy-loop processes to run beside the bench")
    ap.add_argument("--budget", type=float, help="time budget per sentence in s, 0: none (default: FitOptions')")
    ap.add_argument("--content-floor", type=float, help="meaning guard's content floor (default: FitOptions')")
    ap.add_argument("--no-facts", action="store_true", help="skip the independent fact and parse check")
    args = ap.parse_args()

    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    items: list[dict[str, str]] = []
    if "written" in sets:
        items += [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines() if line.strip()]
        items += shared_sentences(args.shared, args.seed)
    if {"real-test", "real-dev"} & set(sets):
        real = real_sets(seed=args.real_seed, per_lecture=args.per_lecture)
        items += real.dev if "real-dev" in sets else []
        items += real.test if "real-test" in sets else []
        print(f"real speech: dev lectures {', '.join(real.dev_lectures)}; test lectures {', '.join(real.test_lectures)}")
    items = items[:: max(1, args.every)]
    if args.limit:
        items = items[: args.limit]

    from pipelines.fit.syntax import load_parser

    parser = load_parser(args.model_dir)
    checker_nlp = None if args.no_facts else parser
    busy = start_busy(args.busy)
    load_before = os.getloadavg()
    t0 = time.monotonic()
    embedder = SentenceEmbedder.load(args.model_dir, threads=args.threads)
    embedder.similarity("warm-up", ["warm up"])
    t_embed = time.monotonic() - t0
    runs: list[Run] = []
    for strategy in strategies(args):
        lm_clock, embed_clock = Clock(), Clock()
        shortener = None
        t_lm = 0.0
        if not args.no_lm:
            from pipelines.fit.lm import load_lm

            t1 = time.monotonic()
            lm = load_lm(args.model_dir, strategy.lm)
            t_lm = time.monotonic() - t1
            lm.warm_up()
            shortener = TimedShortener(lm, lm_clock)
        runs.append(Run(strategy, SentenceFitter(TimedEmbedder(embedder, embed_clock), shortener, parser),
                        lm_clock, embed_clock, t_lm))

    profile = resolve_profile(args.profile)
    for n, item in enumerate(items, 1):
        text = item["text"]
        if args.mode == "reading":
            estimate = reading_estimate(text, profile).seconds
        else:
            estimate = speaking_estimate(text, "en").seconds
        base = FitOptions(mode=args.mode, language="en", max_seconds=estimate * args.ratio,
                          profile=args.profile, similarity_floor=args.floor, lm=args.lm,
                          lm_greedy=args.lm_greedy, check_lines=False)
        for run in runs:  # strategies take turns on each sentence: the same machine load for both
            run.lm_clock.start_sentence()
            run.embed_clock.start_sentence()
            w, c = time.monotonic(), time.process_time()
            run.results.append((item, run.fitter.fit(text, replace(base, **run.strategy.options))))
            run.wall.append(time.monotonic() - w)
            run.cpu.append(time.process_time() - c)
        if n % 25 == 0:
            print(f"  ... {n}/{len(items)} " + " ".join(
                f"{run.strategy.name}: fit={sum(r.fits for _, r in run.results) / n:.1%}" for run in runs),
                file=sys.stderr, flush=True)
    load_after = os.getloadavg()
    for proc in busy:
        proc.terminate()

    def spread(values: Sequence[float]) -> str:
        return f"p50={percentile(values, 0.5):.3f}s p95={percentile(values, 0.95):.3f}s" if values else "-"

    def summary(rows: list[tuple[dict[str, str], FitResult]], label: str) -> None:
        if not rows:
            return
        ok = [r for _, r in rows if r.fits and r.similarity >= args.floor]
        sims = [r.similarity for _, r in rows]
        lat = [r.elapsed_s for _, r in rows]
        print(f"{label:<26} n={len(rows):>3}  fit={len(ok) / len(rows):6.1%}  "
              f"mean sim={statistics.fmean(sims):.3f} (fitted {statistics.fmean([r.similarity for r in ok]) if ok else float('nan'):.3f})  "
              f"wall {spread(lat)} mean={statistics.fmean(lat):.3f}s")

    print(f"mode={args.mode} profile={args.profile} slot={args.ratio:.0%} of estimate floor={args.floor} "
          f"lm={'off' if args.no_lm else args.lm} greedy={args.lm_greedy} threads={args.threads} n={len(items)}")
    # On a shared machine wall time mostly measures the other processes; CPU time (all threads of
    # this process together) is inflated much less, and CPU / threads bounds the idle wall time.
    print(f"CPU load beside the bench: {args.busy} busy-loop process(es)" if args.busy else
          "CPU load beside the bench: none added (other users of the machine only)")
    print(f"load average (1, 5, 15 min): before {' '.join(f'{x:.2f}' for x in load_before)}, "
          f"after {' '.join(f'{x:.2f}' for x in load_after)}, on {os.cpu_count()} CPUs")
    print(f"load: embedder {t_embed:.2f}s (with warm-up); LM " + ", ".join(
        f"{run.strategy.name} {run.load_s:.2f}s" for run in runs))
    for run in runs:
        st = run.strategy
        print(f"\n== {st.name}: runtime={type(run.fitter.lm.inner).__name__ if run.fitter.lm else '-'} "
              f"few_shot={st.lm.few_shot} {' '.join(f'{k}={v}' for k, v in st.options.items())}")
        print(f"per sentence   wall {spread(run.wall)}  cpu {spread(run.cpu)}  "
              f"(cpu / {args.threads} threads p50={percentile(run.cpu, 0.5) / args.threads:.3f}s)")
        lm_rows = [k for k, w in enumerate(run.lm_clock.wall) if w > 0]
        print(f"  in the LM    wall total {sum(run.lm_clock.wall):.1f}s cpu total {sum(run.lm_clock.cpu):.1f}s; "
              f"per sentence that ran it (n={len(lm_rows)}) cpu {spread([run.lm_clock.cpu[k] for k in lm_rows])}")
        print(f"  in MiniLM    wall total {sum(run.embed_clock.wall):.1f}s cpu total {sum(run.embed_clock.cpu):.1f}s; "
              f"per sentence cpu {spread(run.embed_clock.cpu)}")
        results = run.results
        summary(results, "all")
        for source in ("written", "spoken", "verbose", "textbook"):
            summary([(i, r) for i, r in results if i["style"] == source], f"  {source}")
        def set_of(item: dict[str, str]) -> str:
            return f"{item['style']} set" if item["style"].startswith("real-") else "written set"

        for label in dict.fromkeys(set_of(i) for i, _ in results):
            idx = [k for k, (i, _) in enumerate(results) if set_of(i) == label]
            rows = [results[k] for k in idx]
            summary(rows, label)
            print(f"    wall per sentence {spread([run.wall[k] for k in idx])}")
            if checker_nlp is not None:
                checker = FactCheck(checker_nlp)
                for _, r in rows:
                    checker.add(r.original, r.text)
                print(f"    {checker.line()}")
                for loss in checker.losses[:5]:
                    print(f"      {loss}")
        methods = Counter(r.method.split(":")[0] if r.fits else "not fitted" for _, r in results)
        print("winning method:", dict(methods.most_common()))
        lm_used = [(i, r) for i, r in results if any(c.method.startswith("lm") for c in r.candidates)]
        summary(lm_used, "  sentences with LM run")
        print(f"LM used on {len(lm_used)} of {len(results)} sentences ({len(lm_used) / len(results):.0%})")
    results = runs[0].results
    print("examples:")
    for item, r in results[:: max(1, len(results) // 8)]:
        print(f"  [{item['id']}] fits={r.fits} sim={r.similarity:.2f} {r.method} {r.elapsed_s:.2f}s\n"
              f"     {r.original}\n  -> {r.text}")
    if args.out:
        with args.out.open("w", encoding="utf-8") as f:
            for run in runs:
                for item, r in run.results:
                    f.write(json.dumps({"strategy": run.strategy.name, "id": item["id"], "original": r.original,
                                        "text": r.text, "fits": r.fits, "similarity": r.similarity,
                                        "method": r.method, "elapsed_s": r.elapsed_s,
                                        "estimate": r.estimate, "limit": r.limit}) + "\n")


if __name__ == "__main__":
    main()
