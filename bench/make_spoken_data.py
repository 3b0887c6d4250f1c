"""Write bench/data/classify_spoken.jsonl: spoken-style paragraphs for the learning classifier.

Paragraphs are composed from the hand-written banks in ``spoken_banks.py``: an opener in the
genre's voice, three to five content sentences of one topic, occasional fillers, a closer.
Deterministic (fixed seed), so the file can be regenerated and diffed.

    .venv/bin/python bench/make_spoken_data.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from spoken_banks import BANKS, FILLERS

SEED = 20261126
PER_TOPIC = 6
OUT = Path(__file__).parent / "data" / "classify_spoken.jsonl"


def _with_filler(sentence: str, rng: random.Random) -> str:
    if rng.random() < 0.15 and sentence:
        filler = rng.choice(FILLERS)
        return f"{filler.capitalize()} {sentence[0].lower()}{sentence[1:]}"
    return sentence


def compose(genre: str, topic: str, rng: random.Random) -> str:
    """One paragraph of ``genre`` about ``topic``."""
    _label, _kind, openers, closers, topics = BANKS[genre]
    pool = topics[topic]
    k = min(len(pool), rng.randint(3, 5))
    picked = sorted(rng.sample(range(len(pool)), k)) if rng.random() < 0.7 else rng.sample(range(len(pool)), k)
    parts = [rng.choice(openers)] if rng.random() < 0.8 else []
    parts += [_with_filler(pool[i], rng) for i in picked]
    if rng.random() < 0.7:
        parts.append(rng.choice(closers))
    return " ".join(p for p in parts if p)


def main() -> None:
    rng = random.Random(SEED)
    rows = []
    for genre, (label, kind, _o, _c, topics) in BANKS.items():
        for topic in topics:
            seen: set[str] = set()
            for n in range(PER_TOPIC * 3):
                if len(seen) == PER_TOPIC:
                    break
                text = compose(genre, topic, rng)
                if text in seen:
                    continue
                seen.add(text)
                rows.append({"id": f"{genre}/{topic}/{n}", "label": label, "kind": kind, "genre": genre,
                             "topic": topic, "text": text})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(f"wrote {len(rows)} paragraphs to {OUT}")


if __name__ == "__main__":
    main()
