"""Line breaks on real text: what the layout's rules guard against, today against a revision.

    .venv/bin/python bench/bench_linebreaks.py                       # today's layout
    .venv/bin/python bench/bench_linebreaks.py --baseline HEAD~3     # beside an older one
    .venv/bin/python bench/bench_linebreaks.py --baseline HEAD~3 --show 20

Texts (``../shared/testdata``, read in place): the real lecture and TV transcripts
(``text/lectures_spoken``, ``text/non_educational/spoken``; English only) and, for the other
languages, the FLEURS transcripts and the German half of ``fw_multilingual`` (``audio/*.txt``).
Each sentence of 43-84 characters is laid out in two lines of 42 (``pipelines.linebreaks``), as a
cue or a translation is; each non-English transcript is first cut into runs of 45-75 characters.
Counted per layout: a bound pair split ("kind // of", "want // to", "taught // myself": Netflix's
"prepositional verb" and its kin), a bottom line under a quarter of the top one, a break after a
sentence's end (the best place there is: it should never move), and, in the other languages, a
line ending on an article. There is no generated text: every figure is on real text.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines import linebreaks  # noqa: E402

TESTDATA = ROOT.parent / "shared" / "testdata"
SENTENCE_ENDS = (".", "?", "!", '."', '?"', '!"')


def english_sentences() -> list[str]:
    """Sentences of 43-84 characters (one to two lines of 42) of the real English transcripts."""
    files = sorted([*(TESTDATA / "text" / "lectures_spoken").glob("*.txt"),
                    *(TESTDATA / "text" / "non_educational" / "spoken").glob("*.txt")])
    out = []
    for path in files:
        if "_ru_" in path.name:  # the Russian CS50 lectures
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            text = " ".join(line.split())
            if 43 <= len(text) <= 84:
                out.append(text)
    return out


def other_runs() -> list[str]:
    """Runs of 45-75 characters of the real non-English transcripts, cut at spaces."""
    files = [*sorted((TESTDATA / "audio").glob("fleurs_*.txt")), TESTDATA / "audio" / "fw_multilingual.txt"]
    runs = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or not line.strip():
                continue
            words, i = line.split(), 0
            while i < len(words):
                j, n = i, 0
                while j < len(words) and n + len(words[j]) + 1 <= 75:
                    n, j = n + len(words[j]) + 1, j + 1
                if n > 45:
                    runs.append(" ".join(words[i:j]))
                i = max(j, i + 1)
    return runs


def baseline_module(rev: str) -> ModuleType:
    """``pipelines/linebreaks.py`` as it was at ``rev``, loaded on its own."""
    source = subprocess.run(["git", "show", f"{rev}:pipelines/linebreaks.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "linebreaks_baseline.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("linebreaks_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _edge(lines: list[str]) -> tuple[str, str]:
    """The two words either side of a two-line layout's break, bare and lower case."""
    return linebreaks._bare(lines[0].split()[-1]), linebreaks._bare(lines[1].split()[0])


def bound(lines: list[str]) -> bool:
    left, right = _edge(lines)
    return left in linebreaks.BOUND_BEFORE.get(right, ()) or right in linebreaks.REFLEXIVES


def short_bottom(lines: list[str]) -> bool:
    return 4 * len(lines[1]) < len(lines[0])


def sentence_end(lines: list[str]) -> bool:
    return lines[0].endswith(SENTENCE_ENDS)


def ends_on_article(lines: list[str]) -> bool:
    return _edge(lines)[0] in linebreaks.ARTICLES


def layouts(wrap: Callable[[str, int, int], list[str]], texts: Iterable[str]) -> list[list[str] | None]:
    out: list[list[str] | None] = []
    for text in texts:
        lines = wrap(text, 42, 2)
        out.append(lines if len(lines) == 2 else None)
    return out


def report(name: str, sides: dict[str, list[list[str] | None]], checks: dict[str, Callable[[list[str]], bool]],
           texts: list[str], show: int) -> None:
    print(f"\n{name}: {len(texts)} texts")
    print("| side | two-line layouts | " + " | ".join(checks) + " |")
    print("|---|---|" + "---|" * len(checks))
    for side, laid in sides.items():
        two = [lines for lines in laid if lines]
        print(f"| {side} | {len(two)} | " + " | ".join(str(sum(1 for lines in two if check(lines)))
                                                     for check in checks.values()) + " |")
    if len(sides) == 2:
        (_, old), (_, new) = sides.items()
        changed = [(a, b) for a, b in zip(old, new, strict=True) if a and b and a != b]
        moved = sum(1 for a, b in changed if sentence_end(a))
        print(f"changed: {len(changed)} layouts; breaks after a sentence's end moved: {moved}")
        for a, b in random.Random(2).sample(changed, min(show, len(changed))):
            print(f"  {' // '.join(a)}\n    -> {' // '.join(b)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", help="a git revision whose layout to run beside today's")
    parser.add_argument("--show", type=int, default=0, help="changed layouts to print, drawn at random")
    args = parser.parse_args()
    if not TESTDATA.is_dir():
        sys.exit(f"{TESTDATA} not found: this bench reads the real transcripts of ../shared/testdata")
    wraps = {"today": linebreaks.wrap_lines}
    if args.baseline:
        wraps = {args.baseline: baseline_module(args.baseline).wrap_lines, **wraps}
    english, other = english_sentences(), other_runs()
    report("English (real lecture and TV transcripts)", {side: layouts(w, english) for side, w in wraps.items()},
           {"bound pair split": bound, "bottom line < 1/4 of the top": short_bottom,
            "after a sentence's end": sentence_end}, english, args.show)
    report("German, French, Spanish, Portuguese (real FLEURS and fw_multilingual transcripts)",
           {side: layouts(w, other) for side, w in wraps.items()}, {"line ends on an article": ends_on_article},
           other, args.show)


if __name__ == "__main__":
    main()
