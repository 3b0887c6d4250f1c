"""Words a caption line ran together, split again where the language's word frequencies say so.

PP-OCRv5's recogniser drops the space between short words in bold captions with a drop shadow
("Pressit", "Signit", "checkthe"): the same line's box recognised alone can read "Sign it" and,
with a sixth of its height more above and below, "Signit". The letters are right; only a space
is missing, and a translator's tools (and the reader) then meet a word that does not exist.

A token of letters only (its punctuation aside) is split where splitting it makes it far
likelier as words: the most probable way to cut it into common words of the language (each
part at least ``FREQUENT`` on the Zipf scale, a word in a million; a one-letter part such as
"a" or "I" at least ``ONE_LETTER``) is taken when the product of its parts' frequencies is
``MARGIN`` times the token's own frequency, or ``ONE_LETTER_MARGIN`` times when a part is one
letter ("Ian" stays a name; "doit", in the list, becomes "do it"). A token the list does not
know at all is split when its parts are on average ``UNKNOWN_MEAN`` or more ("checkthelog": 5.0,
7.7 and 4.5; "Offboarding", 5.5 and 3.6, stays), so a name is split only into words that common.
Words are joined only where a typographic ligature's glyph was read as a word of its own
("every fi le", ``join_ligatures``): "in to" and "into" are both English. An apostrophe the
recogniser dropped is put back where the word with it is far likelier (``restore_apostrophe``:
vsr_rezero_en's "I've decided" was read "Ive decided"); such a token is not split.

The frequencies are ``wordfreq``'s (its ``best`` list for the language: 321,180 English words,
~36 MB loaded once per process, on first use); a language it does not list is left alone.
Only letters of the Latin script are split; the token's letters and their case are kept.
"""

from __future__ import annotations

import functools
import logging
import math
import unicodedata
from collections.abc import Sequence

log = logging.getLogger(__name__)

FREQUENT = 3.0  # Zipf: a part must be a word seen once in a million words or more
ONE_LETTER = 6.0  # Zipf of a one-letter part ("a", "I"; not "s" or "t")
MARGIN = 10.0  # how much likelier the words must be than the token
ONE_LETTER_MARGIN = 100.0  # ...when a part is one letter
UNKNOWN_MEAN = 5.0  # mean Zipf of the parts of a token the list does not hold
MIN_LETTERS = 3  # shorter tokens are left as they are
MAX_LETTERS = 30  # longer ones too (a URL's piece, a hash)
LIGATURES = ("ffi", "ffl", "fi", "fl", "ff")  # letters that fonts draw as one glyph


@functools.cache
def _frequencies(language: str) -> dict[str, float] | None:
    """Word -> frequency (per word of text) for ``language``, or None when there is no list."""
    try:
        import wordfreq
    except ImportError:  # a dependency, so not expected; then nothing is split
        log.warning("wordfreq is not installed: caption words run together are left as read")
        return None
    if language not in wordfreq.available_languages():
        return None
    frequencies: dict[str, float] = wordfreq.get_frequency_dict(language, wordlist="best")
    return frequencies


def _zipf(frequency: float) -> float:
    return math.log10(frequency) + 9.0 if frequency > 0 else 0.0


def _latin_letters(token: str) -> bool:
    return all(ch.isalpha() and "LATIN" in unicodedata.name(ch, "") for ch in token)


def split_token(token: str, frequencies: dict[str, float]) -> list[str]:
    """``token`` (letters only) cut into words where that is far likelier; else ``[token]``."""
    word = token.lower()
    n = len(word)
    if not MIN_LETTERS <= n <= MAX_LETTERS:
        return [token]
    # best[i]: (log10 probability, cut points, any one-letter part) of the best cut of word[:i]
    best: list[tuple[float, tuple[int, ...], bool] | None] = [None] * (n + 1)
    best[0] = (0.0, (), False)
    for end in range(1, n + 1):
        for start in range(end):
            before = best[start]
            if before is None or (start == 0 and end == n):
                continue
            zipf = _zipf(frequencies.get(word[start:end], 0.0))
            one = end - start == 1
            if zipf < (ONE_LETTER if one else FREQUENT):
                continue
            score = before[0] + zipf - 9.0
            if best[end] is None or score > best[end][0]:  # type: ignore[index]
                best[end] = (score, (*before[1], end), before[2] or one)
    found = best[n]
    if found is None:
        return [token]
    score, cuts, one_letter = found
    known = frequencies.get(word, 0.0)
    if known > 0:
        margin = ONE_LETTER_MARGIN if one_letter else MARGIN
        if score < math.log10(known * margin):
            return [token]
    elif score / len(cuts) + 9.0 < UNKNOWN_MEAN:
        return [token]
    starts = (0, *cuts[:-1])
    return [token[a:b] for a, b in zip(starts, cuts, strict=True)]


def split_run_together(line: str, languages: Sequence[str]) -> str:
    """``line`` with the words it ran together split (see the module doc), by the word list of
    ``languages`` under which the line's words are likeliest (the first on a tie); unchanged
    where none of them has one."""
    tokens = line.split(" ")
    lists = [(lang, f) for lang in dict.fromkeys(languages) if (f := _frequencies(lang)) is not None]
    if not lists:
        return line
    cores = [_core(t) for t in tokens]
    words = [c.lower() for _, c, _ in cores if c and _latin_letters(c)]
    if not words:
        return line
    _, frequencies = max(lists, key=lambda item: sum(_zipf(item[1].get(w, 0.0)) for w in words))
    tokens = join_ligatures(tokens, frequencies)
    cores = [_core(t) for t in tokens]
    out = []
    for token, (lead, core, tail) in zip(tokens, cores, strict=True):
        if core and _latin_letters(core):
            restored = restore_apostrophe(core, frequencies)
            token = lead + (restored if restored != core else " ".join(split_token(core, frequencies))) + tail
        out.append(token)
    return " ".join(out)


def restore_apostrophe(token: str, frequencies: dict[str, float]) -> str:
    """``token`` (letters only) with the apostrophe the recogniser dropped put back ("Ive":
    "I've", "dont": "don't", "Oneil": "O'neil") where the word with it is in the list, common
    (``FREQUENT``) and ``MARGIN`` times likelier than the token: "its", "well", "ill" and "lets"
    stay, as they are about as common as "it's", "we'll", "I'll" and "let's" (and a French line's
    "dont", a word there). The list must hold such words whole: wordfreq's French one cuts "c'est"
    at its apostrophe, so "cest" stays. Case is kept; else ``token``."""
    word = token.lower()
    if not 2 <= len(word) <= MAX_LETTERS:
        return token
    at, best = max(((i, frequencies.get(f"{word[:i]}'{word[i:]}", 0.0)) for i in range(1, len(word))),
                   key=lambda c: c[1])
    if _zipf(best) < FREQUENT or best < MARGIN * frequencies.get(word, 0.0):
        return token
    return f"{token[:at]}'{token[at:]}"


def join_ligatures(tokens: list[str], frequencies: dict[str, float]) -> list[str]:
    """``tokens`` with a word that a typographic ligature's glyph (fi, fl, ff, ffi, ffl) split
    joined again ("every fi le": "every file"; "con fi rm": "confirm"): a piece that is the
    ligature's letters alone, or a rare piece (under ``FREQUENT``) that ends or begins with them,
    joins its neighbours where the word they make is common and ``MARGIN`` times likelier than
    the pieces apart ("off line" stays: "off" is a word)."""
    out = list(tokens)
    k = 0
    while k < len(out):
        core = _core(out[k])[1].lower()
        if not core or not _latin_letters(core) or not _ligature_piece(core, frequencies):
            k += 1
            continue
        # The most pieces joined, then the likeliest word: a glyph read apart split both sides.
        best: tuple[int, float, int, int] | None = None  # (pieces, probability, first, last)
        for first, last in ((k - 1, k + 1), (k, k + 1), (k - 1, k)):
            if first < 0 or last >= len(out):
                continue
            pieces = [_core(t) for t in out[first:last + 1]]
            # Only letters, and no punctuation between the pieces.
            if any(not c or not _latin_letters(c) for _, c, _ in pieces) or any(
                    tail for _, _, tail in pieces[:-1]) or any(lead for lead, _, _ in pieces[1:]):
                continue
            word = "".join(c for _, c, _ in pieces).lower()
            joined = frequencies.get(word, 0.0)
            apart = math.prod(max(frequencies.get(c.lower(), 0.0), 1e-9) for _, c, _ in pieces)
            found = (len(pieces), joined, first, last)
            if _zipf(joined) >= FREQUENT and joined >= MARGIN * apart and (best is None or found[:2] > best[:2]):
                best = found
        if best is None:
            k += 1
            continue
        _, _, first, last = best
        out[first:last + 1] = ["".join(out[first:last + 1])]
        k = first + 1
    return out


def _ligature_piece(piece: str, frequencies: dict[str, float]) -> bool:
    if piece in LIGATURES:
        return True
    rare = _zipf(frequencies.get(piece, 0.0)) < FREQUENT
    return rare and any(piece.endswith(lig) or piece.startswith(lig) for lig in LIGATURES)


def _core(token: str) -> tuple[str, str, str]:
    """``token`` as (leading punctuation, letters, trailing punctuation); letters ``""`` when
    anything else (a digit, an apostrophe, a hyphen) is inside."""
    start, end = 0, len(token)
    while start < end and not token[start].isalnum():
        start += 1
    while end > start and not token[end - 1].isalnum():
        end -= 1
    core = token[start:end]
    return token[:start], (core if core.isalpha() else ""), token[end:]
