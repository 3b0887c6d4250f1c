"""Tesseract's readings in other scripts judged by the words of their languages.

Tesseract reads a line in the script it is given whatever the pixels hold: shown white letters
over a background as bright as they are, it can answer sure, in pure Cyrillic, with words no
language has ("1х 1вдо д б режено" for "Їхні відповіді збережено"), and PP-OCRv5's Latin
look-alikes re-read with ``rus`` came out "@ХЕЛЕДЕ) сиойл". Letters of the right script and a
high confidence do not tell such a reading from a real one; the words do. So:

- ``known_share``: the share of a reading's words (runs of two letters or more; a run with a
  digit inside is a word no language has) that ``wordfreq`` lists for one of the languages of
  the packs that read it, as written or with marks Tesseract left off (``restore_marks``);
  None where no language of those packs has a list (Thai, Marathi, Nepali) or no word is long
  enough to judge;
- ``restore_marks``: a word whose letters with their marks taken off are those of a listed word
  with marks ``MARKED_MARGIN`` times likelier than the word as read (not listed at all, or listed
  as the unaccented spelling of informal writing: "αρχειο" for "αρχείο") gets that word's marks
  back (the likeliest such word), its case kept. Reading white letters inside their dark outline
  fills small marks in with the letter (й read и, ά read α, ї read і, أ read ا), and a word
  without its marks is not the word; where both spellings are common ("еще" and "ещё") the word
  stays as read, and so does a word in capitals (Greek writes them without accents);
- in Arabic script, also its dots (``DOTTED_LANGUAGES``): a word of three letters or more that no
  list has gets the likeliest listed word with the same letters once their dots are taken off
  (``dotless``: ب ت ث ن ي share one tooth, ج ح خ one body, س ش, ص ض, ط ظ, ع غ, ف ق, د ذ, ر ز,
  ه ة). The outline's binarisation loses or moves the dots (افتح read افبج, المشروع read المسروع),
  and a word whose dots no arrangement makes a listed word stays as read; a listed word is never
  changed (بنت and بيت share their letters and are both words).

The lists are ``wordfreq``'s ``best`` lists, cut at ``KNOWN_FREQUENCY`` (a word seen once in ten
million words of text or more: 249,580 Russian words, ~28 MB and ~1.3 s, loaded once per process
per language, only when a reading in that language is judged; a screencast's English pays nothing).
"""

from __future__ import annotations

import functools
import logging
import math
import re
import time
import unicodedata
from collections.abc import Iterable

log = logging.getLogger(__name__)

PACK_LANGUAGES = {"rus": "ru", "ukr": "uk", "bul": "bg", "ell": "el", "ara": "ar", "fas": "fa", "heb": "he",
                  "hin": "hi"}
"""Tesseract pack -> the ``wordfreq`` language whose words it reads (packs without a list are not
judged; nor Korean, whose list holds words cut from their particles: "파일을 저장하려면 버튼을
누르세요" has none of its words in it)."""

DOTTED_LANGUAGES = ("ar", "fa")
"""Languages written in Arabic script, whose words' dots ``restore_marks`` puts back."""
_DOTLESS = str.maketrans({
    **dict.fromkeys("بتثنيىئپٮ", "ٮ"), **dict.fromkeys("جحخچ", "ح"), **dict.fromkeys("دذ", "د"),
    **dict.fromkeys("رزژ", "ر"), **dict.fromkeys("سش", "س"), **dict.fromkeys("صض", "ص"),
    **dict.fromkeys("طظ", "ط"), **dict.fromkeys("عغ", "ع"), **dict.fromkeys("فقڡ", "ڡ"),
    **dict.fromkeys("هة", "ه"), **dict.fromkeys("كکگ", "ك"), **dict.fromkeys("يی", "ٮ"),
})
MIN_DOTTED_LETTERS = 3  # shorter words share their dotless letters with too many others
KNOWN_FREQUENCY = 1e-7  # Zipf 2: one in ten million words of text
MARKED_MARGIN = 10.0  # how much likelier the word with marks must be than the word as read
WORD = re.compile(r"[^\W_](?:[^\W_]|[\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670"
                  r"\u0900-\u0903\u093a-\u094f\u0951-\u0957\u0962\u0963]|['’](?=[^\W_]))*")
"""A word: letters and digits, the marks of the judged scripts' letters (Devanagari's vowel signs
are not letters to ``re``), an apostrophe inside (ім'я)."""


@functools.cache
def _words(language: str) -> dict[str, int] | None:
    """``language``'s listed words (case-folded) -> their frequency as ``wordfreq`` stores it (in
    centibels below one: 10 ** (-value / 100) per word of text), likeliest first; None: no list."""
    try:
        import wordfreq
    except ImportError:  # a dependency, so not expected; then nothing is judged
        log.warning("wordfreq is not installed: readings in other scripts are not judged by their words")
        return None
    path = wordfreq.available_languages("best").get(language)
    if path is None:
        return None
    started = time.perf_counter()
    buckets = wordfreq.read_cBpack(path)
    least = round(-100 * math.log10(KNOWN_FREQUENCY))
    words = {word: centibels for centibels, bucket in enumerate(buckets[:least + 1]) for word in bucket}
    log.info("word list for %s: %d words, loaded in %.1f s (judging readings in other scripts)", language,
             len(words), time.perf_counter() - started)
    return words


def languages_of(packs: Iterable[str]) -> tuple[str, ...]:
    """The ``wordfreq`` languages of Tesseract ``packs`` (``PACK_LANGUAGES``; ``eng`` and the like left out)."""
    return tuple(dict.fromkeys(PACK_LANGUAGES[p] for p in packs if p in PACK_LANGUAGES))


def strip_marks(word: str) -> str:
    """``word`` case-folded as the lists are (ς -> σ) without its combining marks (й -> и, ά -> α, أ -> ا)."""
    return "".join(ch for ch in unicodedata.normalize("NFD", word.casefold()) if not unicodedata.combining(ch))


@functools.cache
def _marked(language: str) -> dict[str, tuple[str, float]]:
    """Letters without marks -> the likeliest listed word of ``language`` written with marks (lower
    case), and its frequency."""
    out: dict[str, tuple[str, float]] = {}
    for word, centibels in (_words(language) or {}).items():  # likeliest first
        frequency = 10 ** (-centibels / 100)
        if not unicodedata.is_normalized("NFD", word):
            bare = strip_marks(word)
            if bare != word and bare not in out:
                out[bare] = word, frequency
    return out


def dotless(word: str) -> str:
    """``word`` case-folded, without its marks, its Arabic letters without their dots (``_DOTLESS``)."""
    return strip_marks(word).translate(_DOTLESS)


@functools.cache
def _undotted(language: str) -> dict[str, tuple[str, float]]:
    """Dotless letters (``dotless``) -> the likeliest listed word of ``language`` written with them,
    and its frequency; empty for a language not written in Arabic script."""
    out: dict[str, tuple[str, float]] = {}
    if language not in DOTTED_LANGUAGES:
        return out
    for word, centibels in (_words(language) or {}).items():  # likeliest first
        if len(word) >= MIN_DOTTED_LETTERS:
            out.setdefault(dotless(word), (word, 10 ** (-centibels / 100)))
    return out


def _frequency(word: str, languages: tuple[str, ...]) -> float:
    """How often ``word`` is seen in the likeliest of ``languages`` (per word of text; 0: not listed)."""
    folded = word.casefold()
    seen = [c for language in languages if (c := (_words(language) or {}).get(folded)) is not None]
    return 10 ** (-min(seen) / 100) if seen else 0.0


def _known(word: str, languages: tuple[str, ...]) -> bool:
    """Whether ``word`` is listed as written or, its marks taken off, as a word with marks (Greek
    capitals are written without accents: "ΑΝΟΙΞΤΕ")."""
    if _frequency(word, languages) > 0:  # the lists hold only words seen as often as KNOWN_FREQUENCY
        return True
    bare = strip_marks(word)
    return any(bare in _marked(language) for language in languages)


def _judged(languages: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(language for language in languages if _words(language) is not None)


def known_share(text: str, packs: Iterable[str]) -> float | None:
    """The share of ``text``'s words of two letters or more that the lists of ``packs``' languages
    hold (see the module doc), or None when none of them has a list or no word is judged."""
    languages = _judged(languages_of(packs))
    if not languages:
        return None
    words = [w for w in WORD.findall(text) if len(w) >= 2 and not w.isdigit()]
    if not words:
        return None
    known = sum(1 for w in words if not any(ch.isdigit() for ch in w) and _known(w, languages))
    return known / len(words)


def known_letters(text: str, packs: Iterable[str]) -> tuple[int, int] | None:
    """(letters of ``text``'s words that the lists of ``packs``' languages hold, letters and digits
    in all): how much of a reading is words, where two readings of one caption are compared
    ("000 “على زر الحفظ" holds 10 of 13, "اضغط على زر الحفظ" 14 of 14). None where none of
    those languages has a list."""
    languages = _judged(languages_of(packs))
    if not languages:
        return None
    known = sum(len(w) for w in WORD.findall(text)
                if len(w) >= 2 and not any(ch.isdigit() for ch in w) and _known(w, languages))
    return known, sum(ch.isalnum() for ch in text)


def restore_marks(text: str, packs: Iterable[str]) -> str:
    """``text`` with the marks of its unlisted words restored (see the module doc)."""
    languages = _judged(languages_of(packs))
    if not languages:
        return text

    def restored(match: re.Match[str]) -> str:
        word = match.group(0)
        if len(word) < 2 or any(ch.isdigit() for ch in word) or word.isupper():  # see _known
            return word
        bare = strip_marks(word)
        found = [m for language in languages if (m := _marked(language).get(bare)) is not None]
        listed = _frequency(word, languages)
        if found:
            marked, frequency = max(found, key=lambda m: m[1])
            if marked != word.casefold() and frequency >= MARKED_MARGIN * listed:
                return _marks_onto(word, marked)
        if listed == 0 and len(bare) >= MIN_DOTTED_LETTERS:
            dotted = [m for language in languages if (m := _undotted(language).get(dotless(word))) is not None]
            if dotted:
                return max(dotted, key=lambda m: m[1])[0]
        return word

    return WORD.sub(restored, text)


def _marks_onto(word: str, marked: str) -> str:
    """``word``'s letters, in their case (and a final ς), with the marks ``marked`` puts on each."""
    bases = [ch for ch in unicodedata.normalize("NFD", word) if not unicodedata.combining(ch)]
    groups: list[str] = []
    for ch in unicodedata.normalize("NFD", marked):
        if unicodedata.combining(ch) and groups:
            groups[-1] += ch
        else:
            groups.append("")
    if len(groups) != len(bases):
        return word
    return unicodedata.normalize("NFC", "".join(b + m for b, m in zip(bases, groups, strict=True)))
