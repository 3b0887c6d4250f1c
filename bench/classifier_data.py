"""Examples for training and evaluating the learning classifier, with each source's licence.

Sources (the shared texts are read in place, never copied into the repository):

- written, licence allows commercial use (``COMMERCIAL``): OpenStax *Introduction to Python
  Programming* sections (learning, CC BY 4.0); the SMS Spam Collection, ham and spam (not
  learning, CC BY 4.0); ``bench/data/classify_spoken.jsonl``, spoken-style paragraphs written
  for lessonlens (both labels, MIT).
- real speech (``REAL_SOURCES``): transcripts of lectures (3Blue1Brown, Harvard CS50 in
  English and in Russian) and of TV dialogue (Seinfeld, The Big Bang Theory, The Peripheral).
  None of them carries a licence that allows commercial use (CS50 is CC BY-NC-SA; the others
  are copyrighted captions or fan-made subtitles), so ``bench/train_classifier.py`` uses them
  only to calibrate (a few scalars; see the data card) and the evaluation holds them out by
  course or show (``fold``).
- AG News (research and non-commercial use only): evaluation only, never trained on.

Evaluation units cut from a real transcript (``real_units``): the whole transcript, ~10-minute
windows (1,500 words, about 150 spoken words a minute) and short excerpts (60, 150 and 300 words).
Speaker names ("DAVID MALAN:") and sound tags ("[MUSIC PLAYING]") are taken out first: a
speech recogniser writes neither.
"""

from __future__ import annotations

import csv
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_TEXT = ROOT.parent / "shared" / "testdata" / "text"
SPOKEN = Path(__file__).parent / "data" / "classify_spoken.jsonl"
MULTILINGUAL = Path(__file__).parent / "data" / "classify_multilingual.jsonl"
MULTILINGUAL_SPOKEN = Path(__file__).parent / "data" / "classify_multilingual_spoken.jsonl"
SEED = 1234
AGNEWS_N = 600
SMS_HAM_N = 450
SMS_SPAM_N = 150
WINDOW_WORDS = 1500  # ~10 minutes of speech
EXCERPT_WORDS = (60, 150, 300)
EXCERPTS_PER_TRANSCRIPT = 4

LEARNING, NOT_LEARNING = 1, 0
WHOLE, WINDOW, EXCERPT = "transcript", "window", "excerpt"


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    label: int  # 1 learning, 0 not learning
    kind: str  # a KINDS value for learning, "other" otherwise
    source: str
    group: str  # examples of one group are always on the same side of a split
    unit: str = "item"  # "item" (written sources), or WHOLE / WINDOW / EXCERPT (real speech)
    language: str = "en"


@dataclass(frozen=True)
class RealSource:
    """A real-speech source: which files, what they are, and whose they are."""

    name: str
    prefix: str  # file name prefix under text/
    label: int
    kind: str
    fold: str  # the course or show: never on both sides of a split
    licence: str
    language: str = "en"


REAL_SOURCES: tuple[RealSource, ...] = (
    RealSource("3b1b", "lectures_spoken/3b1b_", LEARNING, "lecture", "3b1b",
               "3Blue1Brown captions, no licence given (c) Grant Sanderson"),
    RealSource("cs50", "lectures_spoken/cs50_2017_", LEARNING, "lecture", "cs50",
               "Harvard CS50 captions, CC BY-NC-SA 4.0 (non-commercial)"),
    RealSource("cs50_ru", "lectures_spoken/cs50_ru_", LEARNING, "lecture", "cs50",
               "volunteer Russian translation of CS50 captions, CC BY-NC-SA 4.0 (non-commercial)", "ru"),
    RealSource("seinfeld", "non_educational/spoken/seinfeld_", NOT_LEARNING, "other", "seinfeld",
               "fan-made subtitles of a copyrighted sitcom (NBC / Castle Rock)"),
    RealSource("bbt", "non_educational/spoken/bigbangtheory_", NOT_LEARNING, "other", "bbt",
               "fan-made subtitles of a copyrighted sitcom (CBS / Warner Bros.)"),
    RealSource("peripheral", "non_educational/spoken/peripheral_", NOT_LEARNING, "other", "peripheral",
               "dialogue of a copyrighted drama series (Amazon), via SubsLikeScript"),
)
REAL_FOLDS: tuple[str, ...] = tuple(dict.fromkeys(s.fold for s in REAL_SOURCES))

COMMERCIAL = {
    "openstax": "CC BY 4.0 (OpenStax, Rice University)",
    "sms_spam": "CC BY 4.0 (UCI Machine Learning Repository; Almeida and Gómez Hidalgo)",
    "generated": "MIT (written for lessonlens)",
}
AGNEWS_LICENCE = "AG's corpus: research and non-commercial use only"

_SPEAKER = re.compile(r"(?:^|(?<=\s))(?:[A-ZА-ЯЁ][A-ZА-ЯЁ.'-]*(?: [A-ZА-ЯЁ][A-ZА-ЯЁ.'-]*){0,3}):(?=\s|$)")
_TAG = re.compile(r"\[[^\]]*\]|\([A-Z][A-Z ]+\)")
_DASH = re.compile(r"(?:^|(?<=\s))-(?=\s)")


def _require(root: Path) -> None:
    if not (root / "labels.csv").is_file():
        raise FileNotFoundError(f"shared texts not found at {root}")


def clean_transcript(text: str) -> str:
    """Drop what a speech recogniser would not write: speaker names, sound tags, dialogue dashes."""
    lines = []
    for line in text.splitlines():
        line = _DASH.sub(" ", _SPEAKER.sub(" ", _TAG.sub(" ", line)))
        line = " ".join(line.split())
        if line:
            lines.append(line)
    return "\n".join(lines)


# ----------------------------------------------------------------------------- written sources


def openstax(root: Path = SHARED_TEXT) -> list[Example]:
    _require(root)
    out = []
    with open(root / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            if not row["path"].startswith("educational/openstax"):
                continue
            text = (root / row["path"]).read_text(encoding="utf-8")
            out.append(Example(row["path"], text, LEARNING, "lecture", "openstax", row["path"]))
    return out


def sms_spam(root: Path = SHARED_TEXT) -> list[Example]:
    _require(root)
    rng = random.Random(SEED)
    with open(root / "non_educational" / "sms_spam" / "SMSSpamCollection.tsv", newline="") as f:
        rows = [line.rstrip("\n").split("\t", 1) for line in f][1:]
    ham = [i for i, r in enumerate(rows) if r[0] == "ham"]
    spam = [i for i, r in enumerate(rows) if r[0] == "spam"]
    picked = rng.sample(ham, SMS_HAM_N) + rng.sample(spam, SMS_SPAM_N)
    return [Example(f"sms/{rows[i][0]}/{i}", rows[i][1], NOT_LEARNING, "other", "sms_spam", f"sms/{i}")
            for i in picked]


def agnews(root: Path = SHARED_TEXT) -> list[Example]:
    """AG News items (title + description): evaluation only, its licence is non-commercial."""
    _require(root)
    rng = random.Random(SEED)
    with open(root / "non_educational" / "news_agnews" / "ag_news_test.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    picked = rng.sample(range(len(rows)), AGNEWS_N)
    return [
        Example(f"agnews/{i}", f"{rows[i]['title']}. {rows[i]['description'].replace(chr(92), ' ')}",
                NOT_LEARNING, "other", "agnews", f"agnews/{i}")
        for i in picked
    ]


def generated(path: Path = SPOKEN) -> list[Example]:
    """Spoken-style paragraphs written for lessonlens; a group is one topic of one genre."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        out.append(Example(r["id"], r["text"], int(r["label"] == "learning"), r["kind"],
                           f"generated/{r['genre']}", f"{r['genre']}/{r['topic']}"))
    return out


def multilingual(path: Path = MULTILINGUAL) -> list[Example]:
    """Ten non-English paragraphs written for lessonlens (MIT): the e5 head's validation set."""
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        r = json.loads(line)
        label = int(r["label"] == "learning")
        out.append(Example(f"multilingual/{i}", r["text"], label, r["kind"], f"generated/{r['lang']}", f"ml/{i}",
                           language=r["lang"]))
    return out


def multilingual_spoken(path: Path = MULTILINGUAL_SPOKEN) -> list[Example]:
    """Spoken-style paragraphs in other languages (Russian), written for lessonlens (MIT), both
    labels, many genres; a group is one topic of one genre in one language."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        out.append(Example(r["id"], r["text"], int(r["label"] == "learning"), r["kind"],
                           f"generated/{r['lang']}", f"{r['lang']}/{r['genre']}/{r['topic']}", language=r["lang"]))
    return out


def commercial_examples(root: Path = SHARED_TEXT, *, other_languages: bool = False) -> list[Example]:
    """Every example whose licence allows shipping weights fitted on it, in a fixed order; with
    ``other_languages`` (the e5 head's training set) also the non-English paragraphs."""
    english = openstax(root) + sms_spam(root) + generated()
    return english + multilingual_spoken() if other_languages else english


# ----------------------------------------------------------------------------- real speech


def real_transcripts(root: Path = SHARED_TEXT) -> list[Example]:
    """The real transcripts, whole and cleaned; ``group`` is the course or show."""
    _require(root)
    out = []
    for s in REAL_SOURCES:
        folder = root / Path(s.prefix).parent
        for path in sorted(folder.glob(f"{Path(s.prefix).name}*.txt")):
            text = clean_transcript(path.read_text(encoding="utf-8"))
            out.append(Example(f"{s.name}/{path.stem}", text, s.label, s.kind, s.name, s.fold, WHOLE, s.language))
    return out


def _cut(lines: list[str], words: int) -> list[list[str]]:
    """Consecutive runs of whole lines of about ``words`` words; a short tail joins the run before."""
    runs: list[list[str]] = [[]]
    count = 0
    for line in lines:
        if count >= words:
            runs.append([])
            count = 0
        runs[-1].append(line)
        count += len(line.split())
    if len(runs) > 1 and sum(len(x.split()) for x in runs[-1]) < words // 2:
        tail = runs.pop()
        runs[-1].extend(tail)
    return runs


def windows(transcript: Example, words: int = WINDOW_WORDS) -> list[Example]:
    """Non-overlapping ~``words``-word windows of a transcript (one when it is shorter)."""
    runs = _cut(transcript.text.splitlines(), words)
    return [Example(f"{transcript.id}#w{i}", "\n".join(r), transcript.label, transcript.kind,
                    transcript.source, transcript.group, WINDOW, transcript.language) for i, r in enumerate(runs)]


def excerpts(transcript: Example, words: int, n: int = EXCERPTS_PER_TRANSCRIPT) -> list[Example]:
    """``n`` excerpts of ``words`` words, evenly spread over the transcript, cut at word level."""
    tokens = transcript.text.split()
    if len(tokens) < words * n:
        return []
    starts = [round(i * (len(tokens) - words) / max(1, n - 1)) for i in range(n)]
    return [Example(f"{transcript.id}#e{words}.{i}", " ".join(tokens[s : s + words]), transcript.label,
                    transcript.kind, transcript.source, transcript.group, EXCERPT, transcript.language)
            for i, s in enumerate(starts)]


def real_units(root: Path = SHARED_TEXT) -> list[Example]:
    """Every real-speech evaluation unit: whole transcripts, ~10-minute windows, short excerpts."""
    out = []
    for t in real_transcripts(root):
        out.append(t)
        out.extend(windows(t))
        for words in EXCERPT_WORDS:
            out.extend(excerpts(t, words))
    return out


def licence_of(source: str) -> str:
    """The licence of an example's source (``generated/vlog`` -> the generated data's)."""
    family = source.split("/", 1)[0]
    for s in REAL_SOURCES:
        if s.name == family:
            return s.licence
    return COMMERCIAL.get(family, AGNEWS_LICENCE if family == "agnews" else "unknown")
