"""How long a text takes to read as a subtitle or to speak aloud.

Reading: the one reading-speed rule (``pipelines.reading``: characters over the profile's
characters a second, or words over its words a minute, whichever is slower), plus how many lines
the text needs at the profile's line length (``pipelines.linebreaks.wrap_lines``).

Speaking: syllables over the language's mean syllable rate (Pellegrino, Coupé & Marsico 2011,
"A cross-language perspective on speech information rate", Language 87(3)), or over a speaker's
own rate calibrated from a timed transcript. Syllables are counted per language:

- English: vowel-group rules (pyphen's hyphenation points miss syllables that hyphenation rules
  never split, such as "ev-er-y" or "i-de-a").
- German, French: vowel groups with the language's diphthongs and silent endings.
- Spanish, Italian and other languages pyphen knows: pyphen's hyphenation points (syllabic there).
- Japanese: kana count one each except small kana, ん, っ and ー (they join the syllable before);
  a kanji counts 1.5 (most on-readings are one or two syllables).
- Chinese: one syllable per Han character.
- Digits are read out: a number counts the syllables of its English words in every language
  (a stated approximation; number words are of similar length in the languages above).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pipelines.exceptions import OptionsError, UnsupportedLanguageError
from pipelines.linebreaks import wrap_lines
from pipelines.reading import ReadingProfile, reading_chars, reading_seconds

# Mean syllables per second, Pellegrino et al. 2011, table 2.
SYLLABLE_RATES: dict[str, float] = {
    "en": 6.19,
    "de": 5.97,
    "es": 7.82,
    "fr": 7.18,
    "it": 6.99,
    "ja": 7.84,
    "zh": 5.18,
}

_ALIASES = {"eng": "en", "deu": "de", "ger": "de", "spa": "es", "fra": "fr", "fre": "fr",
            "ita": "it", "jpn": "ja", "zho": "zh", "chi": "zh", "cmn": "zh"}


@dataclass(frozen=True)
class ReadingEstimate:
    """Reading time of a subtitle text under a style profile."""

    seconds: float
    chars: int
    words: int
    lines: int
    max_lines: int

    @property
    def lines_ok(self) -> bool:
        """Whether the text wraps into the profile's number of lines."""
        return self.lines <= self.max_lines


@dataclass(frozen=True)
class SpeakingEstimate:
    """Speaking time of a text at a syllable rate."""

    seconds: float
    syllables: int
    syllables_per_second: float


@dataclass(frozen=True)
class SpeakerRate:
    """A speaker's syllable rate measured on a timed transcript."""

    syllables_per_second: float
    syllables: int
    speech_seconds: float
    segments: int
    language: str


def normalize_language(language: str) -> str:
    """Base language code: ``"en-GB"`` -> ``"en"``, ``"zh_Hans"`` -> ``"zh"``, ``"deu"`` -> ``"de"``."""
    base = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]
    if not base:
        raise OptionsError("language is empty; give a code such as 'en', 'de' or 'fr'.")
    return _ALIASES.get(base, base)


def default_rate(language: str) -> float:
    """Mean syllables per second of a language (Pellegrino et al. 2011).

    Raises:
        UnsupportedLanguageError: no published rate; pass a calibrated rate instead.
    """
    lang = normalize_language(language)
    try:
        return SYLLABLE_RATES[lang]
    except KeyError:
        raise UnsupportedLanguageError(
            f"No default speaking rate for language {language!r}; known: "
            f"{', '.join(sorted(SYLLABLE_RATES))}. Calibrate a rate from a timed transcript "
            "(calibrate_rate) and pass it as syllables_per_second."
        ) from None


# --- reading -------------------------------------------------------------------------------

def reading_estimate(text: str, profile: ReadingProfile) -> ReadingEstimate:
    """Reading time of ``text`` under the profile's reading speed, and the lines it needs.

    The time is ``pipelines.reading.reading_seconds``; the lines are ``linebreaks.wrap_lines``.

    Raises:
        OptionsError: the profile limits neither characters nor words per unit of time.
    """
    chars = reading_chars(text)
    words = len(text.split())
    seconds = reading_seconds(chars, words, profile)
    if seconds is None:
        raise OptionsError("The style profile sets neither max_cps nor max_wpm; reading time is undefined.")
    return ReadingEstimate(
        seconds=seconds,
        chars=chars,
        words=words,
        lines=len(wrap_lines(text, int(profile.max_line_chars), int(profile.max_lines))),
        max_lines=int(profile.max_lines),
    )


# --- syllables -----------------------------------------------------------------------------

_WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def number_words_en(n: int) -> str:
    """English words for a non-negative integer ("1205" -> "one thousand two hundred five")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words_en(rest))
    for value, name in ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand")):
        if n >= value:
            rest = n % value
            head = number_words_en(n // value) + " " + name
            return head if rest == 0 else head + " " + number_words_en(rest)
    raise AssertionError("unreachable")


def _number_syllables(token: str) -> int:
    parts = re.split(r"[.,]", token)
    if len(parts) == 2 and len(parts[1]) != 3:  # 3.5 -> three point five
        whole = _english_syllables_text(number_words_en(int(parts[0][:15] or "0")))
        return whole + 1 + sum(_english_syllables_text(_ONES[int(d)]) for d in parts[1])
    digits = "".join(parts)[:15]
    if len(digits) == 4 and 1100 <= int(digits) <= 2099 and int(digits) % 100 != 0:
        # Years are read in pairs: "nineteen ninety-nine".
        return sum(_english_syllables_text(number_words_en(int(p))) for p in (digits[:2], digits[2:]))
    return _english_syllables_text(number_words_en(int(digits)))


# Vowel pairs that are usually two syllables: "i-de-a", "ra-di-o", "ac-tu-al", "qui-et", "po-em".
_EN_HIATUS = re.compile(
    r"(?:[^ct]ia|[^cst]io|iu|[^gq]ua|uo|eo(?!p)|ie(?=t|nc|nt)|oe(?=m|t)|ea(?=t[eio]|l$|$)|ya|yi"
    r"|[aeo]ing|uing|ei(?=ng|ty)|uen|ue(?=t|l))"
)


def _english_word_syllables(word: str) -> int:
    """Syllables of one English word by vowel groups, silent endings and hiatus rules."""
    w = re.sub(r"[^a-z']", "", word.lower().replace("’", "'"))
    if re.search(r"[^aeiouy]n't$", w):  # does-n't, is-n't (but don't, can't, aren't)
        return _english_word_syllables(w[:-3]) + 1
    w = re.sub(r"n't$", "nt", w)
    w = re.sub(r"'(?:s|d|ll|ve|re|m)$", "", w).replace("'", "")
    if not w:
        return 0
    if len(w) <= 3:
        return 1
    # Silent endings: "makes", "jumped" (but "changes", "wanted"), final "e" (but "ta-ble").
    core = re.sub(r"(?:[^laeiouycgsxzh]es|[^aeiouytd]ed)$", lambda m: m.group(0)[0], w)
    if not re.search(r"[^aeiouy]le$", core):
        core = re.sub(r"(?<=[^aeiouy])e$", "", core)
    core = re.sub(r"^y", "", core)
    # Silent e inside suffixed words: "state-ment", "use-ful", "some-thing", "definite-ly".
    core = re.sub(r"(?<=[^aeiouy])e(?=(?:ment|ful|ly|less|ness|thing)s?$)", "", core)
    groups = len(re.findall(r"[aeiouy]+", core)) + len(_EN_HIATUS.findall(core))
    if w.endswith("eate"):  # cre-ate
        groups += 1
    return max(1, groups)


def _english_syllables_text(text: str) -> int:
    return sum(_english_word_syllables(w) for w in text.split())


_DE_GROUPS = re.compile(r"(?:äu|eu|ei|ai|au|ie|aa|ee|oo|[aeiouyäöü])")
_FR_GROUPS = re.compile(r"(?:eau|au|ai|ei|eu|œu|ou|oi|ui|ie|[aeiouyàâäéèêëîïôöùûüÿœæ])")


def _german_word_syllables(word: str) -> int:
    return max(1, len(_DE_GROUPS.findall(word.lower())))


def _french_word_syllables(word: str) -> int:
    w = word.lower().replace("’", "").replace("'", "")  # l'ordinateur, aujourd'hui: count all parts
    w = re.sub(r"(?<=[^aeiouyéèêàâîôû])(?:es|e|ent)$", "", w) if len(w) > 3 else w
    return max(1, len(_FR_GROUPS.findall(w)))


@lru_cache(maxsize=16)
def _pyphen_dict(lang: str) -> Any:
    import pyphen

    if lang not in pyphen.LANGUAGES:
        return None
    return pyphen.Pyphen(lang=lang, left=1, right=1)


def _kana_syllables(ch: str) -> float:
    if ch in "ゃゅょぁぃぅぇぉゎャュョァィゥェォヮんンっッー・":
        return 0.0
    return 1.0


def _japanese_syllables(text: str) -> float:
    total = 0.0
    for ch in text:
        cp = ord(ch)
        if 0x3040 <= cp <= 0x30FF:  # hiragana, katakana
            total += _kana_syllables(ch)
        elif 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or ch == "々":
            total += 1.5
    return total


def _han_count(text: str) -> int:
    return sum(1 for ch in text if 0x4E00 <= ord(ch) <= 0x9FFF or 0x3400 <= ord(ch) <= 0x4DBF)


def count_syllables(text: str, language: str) -> int:
    """Syllables spoken when ``text`` is read aloud in ``language`` (see the module notes)."""
    lang = normalize_language(language)
    total = 0.0
    if lang == "ja":
        total += _japanese_syllables(text)
    elif lang == "zh":
        total += _han_count(text)
    total += 2 * text.count("%")  # percent, Prozent, pour cent: about two syllables
    for token in _WORD.findall(text):
        if token[0].isdigit():
            total += _number_syllables(token)
            continue
        if lang in ("ja", "zh"):
            if token.isascii():  # Latin words inside CJK text
                total += _english_word_syllables(token)
            continue
        if lang == "en":
            total += _english_word_syllables(token)
        elif lang == "de":
            total += _german_word_syllables(token)
        elif lang == "fr":
            total += _french_word_syllables(token)
        else:
            dic = _pyphen_dict(lang)
            if dic is not None:
                total += len(dic.positions(token)) + 1
            else:
                total += max(1, len(re.findall(r"[aeiouyáéíóúàèìòùâêîôûäëïöü]+", token.lower())))
    return round(total)


def speaking_estimate(
    text: str, language: str, syllables_per_second: float | None = None
) -> SpeakingEstimate:
    """Speaking time of ``text``: syllables over the given rate, or the language's mean rate."""
    rate = default_rate(language) if syllables_per_second is None else float(syllables_per_second)
    if not rate > 0:
        raise OptionsError(f"syllables_per_second must be positive, got {syllables_per_second!r}.")
    syllables = count_syllables(text, language)
    return SpeakingEstimate(seconds=syllables / rate, syllables=syllables, syllables_per_second=rate)


def calibrate_rate(segments: Iterable[tuple[str, float, float]], language: str) -> SpeakerRate:
    """Measure a speaker's syllable rate on a timed transcript of ``(text, start, end)`` segments.

    The rate is total syllables over total segment time (long pauses between segments are
    left out, pauses inside a segment stay in, as in the published rates). Segments without
    text or with ``end <= start`` are skipped.

    Raises:
        OptionsError: no usable segment, or a rate outside 1-15 syllables a second (the
            timings are probably not in seconds or do not belong to the text).
    """
    syllables, seconds, used = 0, 0.0, 0
    for text, start, end in segments:
        duration = float(end) - float(start)
        count = count_syllables(text, language)
        if duration <= 0 or count == 0 or not math.isfinite(duration):
            continue
        syllables += count
        seconds += duration
        used += 1
    if used == 0:
        raise OptionsError("No timed segment with text and a positive duration to calibrate a rate from.")
    rate = syllables / seconds
    if not 1.0 <= rate <= 15.0:
        raise OptionsError(
            f"Calibrated rate {rate:.2f} syllables/s is implausible (expected 1-15); check that "
            "start and end are in seconds and belong to the texts."
        )
    return SpeakerRate(
        syllables_per_second=rate, syllables=syllables, speech_seconds=seconds, segments=used,
        language=normalize_language(language),
    )
