"""Examples for training and evaluating the learning classifier, and the fixed held-out split.

Sources (the shared texts are read in place, never copied into the repository):
- ``openstax``: OpenStax *Introduction to Python Programming* sections (learning, CC BY 4.0).
- ``agnews``: AG News test items, title + description (not learning; news).
- ``sms_spam``: SMS Spam Collection, ham and spam (not learning; chat and ads).
- ``spoken``: ``bench/data/classify_spoken.jsonl``, written for lessonlens.

The split holds out part of every source with a fixed seed. Spoken paragraphs are split by
topic (within each genre), so held-out paragraphs share no content sentence with training.
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.classify.chunks import chunk_transcript, chunk_weights, sample_evenly
from pipelines.classify.classifier import ClassifyOptions
from pipelines.classify.head import Embedder

ROOT = Path(__file__).resolve().parents[1]
SHARED_TEXT = ROOT.parent / "shared" / "testdata" / "text"
SPOKEN = Path(__file__).parent / "data" / "classify_spoken.jsonl"
SEED = 1234
HELD_OUT = 0.25
AGNEWS_N = 600
SMS_HAM_N = 450
SMS_SPAM_N = 150


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    label: int  # 1 learning, 0 not learning
    kind: str  # a KINDS value for learning, "other" otherwise
    source: str
    group: str  # examples of one group are always on the same side of the split


def _openstax(root: Path) -> list[Example]:
    out = []
    with open(root / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            if not row["path"].startswith("educational/openstax"):
                continue
            text = (root / row["path"]).read_text(encoding="utf-8")
            out.append(Example(row["path"], text, 1, "lecture", "openstax", row["path"]))
    return out


def _agnews(root: Path, rng: random.Random) -> list[Example]:
    with open(root / "non_educational" / "news_agnews" / "ag_news_test.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    picked = rng.sample(range(len(rows)), AGNEWS_N)
    return [
        Example(f"agnews/{i}", f"{rows[i]['title']}. {rows[i]['description'].replace(chr(92), ' ')}", 0,
                "other", "agnews", f"agnews/{i}")
        for i in picked
    ]


def _sms(root: Path, rng: random.Random) -> list[Example]:
    with open(root / "non_educational" / "sms_spam" / "SMSSpamCollection.tsv", newline="") as f:
        rows = [line.rstrip("\n").split("\t", 1) for line in f][1:]
    ham = [i for i, r in enumerate(rows) if r[0] == "ham"]
    spam = [i for i, r in enumerate(rows) if r[0] == "spam"]
    picked = rng.sample(ham, SMS_HAM_N) + rng.sample(spam, SMS_SPAM_N)
    return [Example(f"sms/{rows[i][0]}/{i}", rows[i][1], 0, "other", "sms_spam", f"sms/{i}") for i in picked]


def _spoken(path: Path) -> list[Example]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        out.append(Example(r["id"], r["text"], int(r["label"] == "learning"), r["kind"],
                           f"spoken/{r['genre']}", f"{r['genre']}/{r['topic']}"))
    return out


def load_examples(shared_text: Path = SHARED_TEXT, spoken: Path = SPOKEN) -> list[Example]:
    """Every example, in a fixed order. Raises FileNotFoundError when the shared texts are absent."""
    if not (shared_text / "labels.csv").is_file():
        raise FileNotFoundError(f"shared texts not found at {shared_text}")
    rng = random.Random(SEED)
    return _openstax(shared_text) + _agnews(shared_text, rng) + _sms(shared_text, rng) + _spoken(spoken)


def split(examples: Sequence[Example], held_out: float = HELD_OUT,
          seed: int = SEED) -> tuple[list[Example], list[Example]]:
    """(train, test): about ``held_out`` of the groups of every source go to test."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for e in examples:
        if e.group not in by_source[e.source]:
            by_source[e.source].append(e.group)
    rng = random.Random(seed)
    test_groups: set[str] = set()
    for source in sorted(by_source):
        groups = sorted(by_source[source])
        rng.shuffle(groups)
        n = max(1, round(held_out * len(groups)))
        test_groups.update(groups[:n])
    train = [e for e in examples if e.group not in test_groups]
    test = [e for e in examples if e.group in test_groups]
    return train, test


def source_family(source: str) -> str:
    """``spoken/vlog`` -> ``spoken``; other sources unchanged."""
    return source.split("/", 1)[0]


def document_vectors(embedder: Embedder, texts: Sequence[str], options: ClassifyOptions,
                     batch_size: int = 64) -> np.ndarray:
    """Each text's document vector, computed exactly as ``Classifier.classify`` does for a transcript."""
    all_chunks = [sample_evenly(chunk_transcript(t, options.chunk_words), options.max_chunks) for t in texts]
    flat = [c.text for chunks in all_chunks for c in chunks]
    vectors = embedder.embed(flat, batch_size=batch_size)
    out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
    pos = 0
    for i, chunks in enumerate(all_chunks):
        if chunks:
            w = chunk_weights(chunks, options.screen_text_share)
            out[i] = w @ vectors[pos : pos + len(chunks)]
        pos += len(chunks)
    return out
