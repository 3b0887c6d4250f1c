"""Why sentences do not fit: a breakdown of the fitter's refusals on a real-speech set.

For every sentence that does not fit, one cause: ``no short candidate`` (no candidate at all,
refused or not, reaches the slot), ``budget`` (the time budget cut the search short and nothing
fitting was acceptable), or the reason the meaning guard, the fluency check or the similarity
floor gave for the fitting candidate that came closest (highest similarity). Tune on ``real-dev``;
``real-test`` is for reporting only.

Usage:
    .venv/bin/python bench/fit_failures.py --set real-dev [--lm] [--show 30]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.real_speech import real_sets  # noqa: E402
from pipelines.fit.estimates import reading_estimate  # noqa: E402
from pipelines.fit.sentence import FitOptions, FitResult, SentenceFitter, resolve_profile  # noqa: E402
from pipelines.models import DEFAULT_MODEL_DIR  # noqa: E402


def cause(result: FitResult) -> str:
    """The one reason ``result`` does not fit (see the module's docstring)."""
    short = [c for c in result.candidates if c.fits]
    if not short:
        return "no short candidate"
    if result.note and not any(c.acceptable for c in short):
        return "budget"
    best = max(short, key=lambda c: c.similarity)
    # Numbers and quoted words vary; the kind of reason is what counts.
    return re.sub(r"\s*\(.*\)|'[^']*'|\d+ of \d+", "…", best.note) or "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=["real-dev", "real-test"], default="real-dev")
    ap.add_argument("--lm", action="store_true", help="load SmolLM2 (default: rules and deletions only)")
    ap.add_argument("--ratio", type=float, default=0.8)
    ap.add_argument("--budget", type=float, default=0.5, help="time budget per sentence, 0: none")
    ap.add_argument("--show", type=int, default=20, help="failing sentences to print with their best refused candidate")
    ap.add_argument("--all", action="store_true", help="print every sentence's output, not only failures")
    args = ap.parse_args()

    sets = real_sets()
    items = sets.dev if args.set == "real-dev" else sets.test
    fitter = SentenceFitter.load(DEFAULT_MODEL_DIR, threads=2, use_lm=args.lm)
    profile = resolve_profile("netflix-en")
    causes: Counter[str] = Counter()
    shown = 0
    fitted = 0
    for item in items:
        text = item["text"]
        slot = reading_estimate(text, profile).seconds * args.ratio
        result = fitter.fit(text, FitOptions(max_seconds=slot, time_budget_s=args.budget or None))
        fitted += result.fits
        if result.fits:
            if args.all:
                print(f"+ [{item['id']}] {result.method} sim={result.similarity:.2f}\n    {text}\n -> {result.text}")
            continue
        why = cause(result)
        causes[why] += 1
        if shown < args.show or args.all:
            shown += 1
            short = sorted((c for c in result.candidates if c.fits), key=lambda c: -c.similarity)[:2]
            print(f"- [{item['id']}] {why}  (best overrun {result.overrun:.2f}s of {result.limit:.2f}s)\n    {text}")
            for c in short:
                print(f"    ~ {c.method} sim={c.similarity:.2f} {c.note!r}: {c.text}")
    print(f"\n{args.set}: {fitted}/{len(items)} fit ({fitted / len(items):.1%}); causes of the rest:")
    for why, n in causes.most_common():
        print(f"  {n:>3}  {why}")


if __name__ == "__main__":
    main()
