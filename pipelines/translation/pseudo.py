"""Scripted pseudo-translations for tests and benchmarks: no translator, no MT model.

A pseudo-translation keeps the source words (so meaning checks stay measurable) and makes each
segment longer by a given factor in one of two ways:

- ``padding``: words a translator of spoken German or French adds (hedges, particles, linking
  words: "eigentlich", "ja", "im Grunde"; "en fait", "donc", "d'ailleurs") inserted between
  words. Some are in the fitter's rule lists, some are not; nothing was chosen to match them.
- ``stretch``: every word made longer (vowels doubled), nothing removable: only dropping content
  can make such a segment fit, so this is the hard case.

These are stand-ins: a figure measured on them says how the import and fit machinery behaves,
not how well real translations fit.
"""

from __future__ import annotations

import random
import re
import zlib
from typing import Literal

from pipelines.fit.estimates import normalize_language

Style = Literal["padding", "stretch"]

PADDING: dict[str, tuple[str, ...]] = {
    "de": ("eigentlich", "ja", "im Grunde", "wirklich", "nun", "dann auch", "ganz einfach", "sozusagen",
           "natürlich", "hier"),
    "fr": ("en fait", "donc", "vraiment", "d'ailleurs", "bien sûr", "ici", "tout simplement", "alors",
           "en quelque sorte", "aussi"),
}


def _stretch_word(word: str, need: int) -> str:
    out = []
    for ch in word:
        out.append(ch)
        if need > 0 and ch.lower() in "aeiou":
            out.append(ch.lower())
            need -= 1
    return "".join(out)


def pseudo_translate(text: str, language: str, factor: float = 1.3, style: Style = "padding",
                     seed: str = "") -> str:
    """``text`` made ``factor`` times as long (in characters) the ``style`` way, deterministically.

    Raises:
        ValueError: no padding words for ``language`` (``padding`` knows de and fr).
    """
    words = text.split()
    if not words:
        return text
    want = round(len(" ".join(words)) * factor)
    rng = random.Random(zlib.crc32(f"{seed}|{text}".encode()))
    if style == "stretch":
        order = rng.sample(range(len(words)), len(words))
        while len(" ".join(words)) < want:
            grew = False
            for i in order:
                short = want - len(" ".join(words))
                if short <= 0:
                    break
                longer = _stretch_word(words[i], min(short, 2))
                grew = grew or longer != words[i]
                words[i] = longer
            if not grew:  # no vowels to double
                words[-1] += "e" * (want - len(" ".join(words)))
        return " ".join(words)
    lang = normalize_language(language)
    if lang not in PADDING:
        raise ValueError(f"no padding words for {language!r}; known: {', '.join(PADDING)}")
    while len(" ".join(words)) < want:
        pos = rng.randrange(1, len(words) + 1) if len(words) > 1 else 1
        if re.search(r"[.!?]$", words[pos - 1]) and pos < len(words):
            pos += 1  # not straight after a full stop: keep sentence starts intact
        words.insert(pos, rng.choice(PADDING[lang]))
    return " ".join(words)
