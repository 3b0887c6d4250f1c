"""Real spoken sentences for the fit bench, built at run time from ../shared (never stored here).

``../shared/testdata/text/lectures_spoken`` holds transcripts of real lectures and talks (human
captions), one file per lecture. This module cleans them (speaker labels such as "DAVID MALAN:"
and stage notes such as "[MUSIC PLAYING]" go), splits them into sentences, keeps English
sentences of ``min_words``-``max_words`` words that end a sentence, and splits the lectures (not
the sentences) into a dev part, for tuning, and a test part, for reporting: no lecture gives
sentences to both. Everything is seeded, so the same seed gives the same sets.

Usage: .venv/bin/python -m bench.real_speech [--seed 17] [--show 5]
"""

from __future__ import annotations

import argparse
import random
import re
from dataclasses import dataclass
from pathlib import Path

LECTURES = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "text" / "lectures_spoken"

_SPEAKER = re.compile(r"(?:^|(?<=[.!?]\s))(?:[A-Z][A-Z.'-]+(?:\s+[A-Z][A-Z.'-]+){0,3}|AUDIENCE|SPEAKER \d+):\s*")
_NOTE = re.compile(r"\[[^\]]*\]|\([A-Z ]+\)")
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


@dataclass(frozen=True)
class RealSets:
    """Sentences drawn for tuning (``dev``) and for reporting (``test``), and their lectures."""

    dev: list[dict[str, str]]
    test: list[dict[str, str]]
    dev_lectures: list[str]
    test_lectures: list[str]


def _english(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isascii() for c in letters) / len(letters) > 0.98


def lecture_sentences(path: Path, *, min_words: int = 10, max_words: int = 40) -> list[str]:
    """The clean English sentences of one transcript file, in order, without repeats."""
    out: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = _SPEAKER.sub("", " ".join(_NOTE.sub(" ", line.strip()).split()))
        for sent in _SPLIT.split(" ".join(line.split())):
            sent = sent.strip()
            words = sent.split()
            if not (min_words <= len(words) <= max_words) or sent[-1:] not in ".!?" or not _english(sent):
                continue
            if not sent[0].isupper() or sent.count('"') % 2:
                continue
            out.append(sent)
    return list(dict.fromkeys(out))


def real_sets(
    root: Path = LECTURES, *, seed: int = 17, per_lecture: int = 6, dev_share: float = 0.4,
    min_words: int = 10, max_words: int = 40,
) -> RealSets:
    """Draw ``per_lecture`` sentences from every English lecture; ``dev_share`` of the lectures
    (chosen by ``seed``) go to the dev part, the rest to the test part."""
    if not root.is_dir():
        raise FileNotFoundError(f"{root} not found: the real-speech set is built from ../shared/testdata")
    lectures: dict[str, list[str]] = {}
    for path in sorted(root.glob("*.txt")):
        sents = lecture_sentences(path, min_words=min_words, max_words=max_words)
        if len(sents) >= per_lecture:
            lectures[path.stem] = sents
    names = sorted(lectures)
    rng = random.Random(seed)
    rng.shuffle(names)
    n_dev = round(len(names) * dev_share)
    parts: dict[str, list[dict[str, str]]] = {"dev": [], "test": []}
    for k, name in enumerate(names):
        part = "dev" if k < n_dev else "test"
        picked = random.Random(f"{seed}:{name}").sample(lectures[name], per_lecture)
        parts[part] += [{"id": f"{name}-{i}", "domain": name.split("_")[0], "style": f"real-{part}", "text": t}
                        for i, t in enumerate(picked)]
    return RealSets(parts["dev"], parts["test"], sorted(names[:n_dev]), sorted(names[n_dev:]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--per-lecture", type=int, default=6)
    ap.add_argument("--show", type=int, default=5)
    args = ap.parse_args()
    sets = real_sets(seed=args.seed, per_lecture=args.per_lecture)
    print(f"dev: {len(sets.dev)} sentences from {len(sets.dev_lectures)} lectures: {', '.join(sets.dev_lectures)}")
    print(f"test: {len(sets.test)} sentences from {len(sets.test_lectures)} lectures: {', '.join(sets.test_lectures)}")
    for item in sets.dev[: args.show]:
        print(f"  [{item['id']}] {item['text']}")


if __name__ == "__main__":
    main()
