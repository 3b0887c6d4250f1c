"""The language text read off the screen is written in, told by its script.

A job without speech has no language from Whisper; what it has to translate is on-screen text
and burned-in captions, and OCR gives their script, not their language (``TextEvent.script``). The
script decides where it is unambiguous for our purposes: Han characters alone are Chinese, with
kana Japanese, Hangul Korean. Where several languages share a script (Latin, Cyrillic, Arabic...)
the job's own language is kept when it is written in that script, else the script's most
common language (English for Latin; the first language OCR offers a reader for otherwise).
"""

from __future__ import annotations

import functools
import unicodedata
from collections import Counter
from collections.abc import Iterable

from pipelines.exceptions import OptionsError
from pipelines.fit.estimates import normalize_language

LATIN = "LATIN"
HAN = "HAN"
KANA = "KANA"
HANGUL = "HANGUL"
# Of the Han and kana letters: Chinese text has none (but OCR reads a few Han characters as their
# katakana look-alikes: 口 ロ, 力 カ, 工 エ, 二 ニ, 八 ハ); Japanese prose runs 30-70 %, a kanji-heavy
# Japanese UI label ("新規顧客管理画面を開く") 18 %. The classifier's ``guess_language`` decides by
# it too. A single kana is not enough: it may be one of those look-alikes.
KANA_SHARE = 0.1
KANA_AT_LEAST = 2


def japanese_by_kana(kana: int, han: int) -> bool:
    """Whether East Asian text with ``kana`` kana and ``han`` Han characters is Japanese, not
    Chinese (``KANA_SHARE``, ``KANA_AT_LEAST``)."""
    return kana >= KANA_AT_LEAST and kana >= KANA_SHARE * (kana + han)


@functools.lru_cache(maxsize=1)
def written_in() -> dict[str, tuple[str, ...]]:
    """Languages by the script they are written in, the most common first; any other is Latin."""
    from pipelines.ocr.scripts import LANGUAGE_PACKS, PACK_SCRIPTS  # OpenCV and NumPy: on first use

    out: dict[str, tuple[str, ...]] = {HAN: ("zh", "yue", "ja", "ko"), KANA: ("ja",), HANGUL: ("ko",)}
    for language, pack in LANGUAGE_PACKS.items():  # the scripts OCR reads through Tesseract
        known = out.get(PACK_SCRIPTS[pack], ())
        out[PACK_SCRIPTS[pack]] = known if language in known else (*known, language)
    return {**out, LATIN: ("en",)}


def _script(ch: str) -> str:
    word = unicodedata.name(ch, "").split(" ")[0]
    return KANA if word in ("HIRAGANA", "KATAKANA") else HAN if word == "CJK" else word


def _base(language: str) -> str:
    try:
        return normalize_language(language)
    except OptionsError:
        return ""


def _writes(language: str, script: str) -> bool:
    base = _base(language)
    if script == LATIN:
        return bool(base) and not any(base in langs for s, langs in written_in().items() if s != LATIN)
    return base in written_in().get(script, ())


def written_language(texts: Iterable[str], default: str) -> str:
    """The language ``texts`` are written in, as far as their script tells: ``default`` (the job's
    language) where it is written in their script or they have no letters, else the script's
    most common language (``"zh"`` for Han alone, ``"ja"`` with kana, ``"en"`` for Latin)."""
    counts: Counter[str] = Counter(_script(ch) for text in texts for ch in text if ch.isalpha())
    if not counts:
        return default
    script = counts.most_common(1)[0][0]
    if script in (HAN, KANA):  # Japanese writes Han characters and kana together
        script = KANA if japanese_by_kana(counts[KANA], counts[HAN]) else HAN
    if _writes(default, script) or script not in written_in():
        return default
    return written_in()[script][0]
