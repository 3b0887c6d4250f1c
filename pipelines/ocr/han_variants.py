"""Chinese captions in one written form: characters of the other form the recogniser slipped in.

PP-OCRv5's alphabet holds both simplified and traditional characters, and now and then reads a
character of a simplified caption (or slide) as its traditional form (耶穌 for 耶稣, 不准再看別人 for
不准再看别人 on two of the real clips), or the other way round. A video's captions are written
in one form, so the form is decided over all of them: where the characters only simplified
Chinese uses outnumber those only traditional Chinese uses by ``MAJORITY`` to one (and there are
``MIN_EVIDENCE`` of them or more), each line is converted to that form by OpenCC (phrase-aware:
乾坤 stays 乾坤 in simplified text), and only its characters of the other form take the
conversion; every other character stays as read. Lines with kana are Japanese and are left
alone, as are captions whose form is not plain. The on-screen text reader's events are kept in
one form the same way (``in_one_form``), decided over all of them.

A character is of one form only when OpenCC's conversion to the other form changes it and the
conversion to its own form does not (别: 別 in traditional, 别 in simplified); a character both
forms share, or that each converts (著), counts for neither.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from collections.abc import Iterable
from typing import Any, Literal

log = logging.getLogger(__name__)

MAJORITY = 4.0  # the captions' form outnumbers the other by this much...
MIN_EVIDENCE = 3  # ...with at least this many characters of it

Form = Literal["simplified", "traditional"]
_CONVERSION = {"simplified": "t2s", "traditional": "s2t"}


@functools.cache
def _converter(config: str) -> Any:
    """OpenCC's converter ``config`` (``t2s``: to simplified, ``s2t``: to traditional), or None
    when OpenCC is not installed (a dependency, so not expected)."""
    try:
        import opencc
    except ImportError:
        log.warning("opencc is not installed: Chinese captions are left in the forms read")
        return None
    return opencc.OpenCC(config)


def _is_han(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("CJK UNIFIED IDEOGRAPH")


def _has_kana(text: str) -> bool:
    return any(unicodedata.name(ch, "").startswith(("HIRAGANA", "KATAKANA")) for ch in text)


def form_of(ch: str) -> Form | None:
    """``simplified`` or ``traditional`` for a character only that form of Chinese uses; None
    for one both use, or that is no Han character."""
    if not _is_han(ch):  # before OpenCC is loaded: most videos' text has no Han character
        return None
    to_simplified, to_traditional = _converter("t2s"), _converter("s2t")
    if to_simplified is None or to_traditional is None:
        return None
    simplified, traditional = to_simplified.convert(ch), to_traditional.convert(ch)
    if simplified == ch and traditional != ch:
        return "simplified"
    if traditional == ch and simplified != ch:
        return "traditional"
    return None


def written_form(lines: Iterable[str]) -> Form | None:
    """The form the lines (all of a video's captions, or of its on-screen text) are written in,
    or None where it is not plain (too few characters of either form, or both forms in numbers,
    or Japanese)."""
    simplified = traditional = 0
    for line in lines:
        if _has_kana(line):
            return None
        for ch in line:
            form = form_of(ch)
            simplified += form == "simplified"
            traditional += form == "traditional"
    if simplified >= MIN_EVIDENCE and simplified >= MAJORITY * traditional:
        return "simplified"
    if traditional >= MIN_EVIDENCE and traditional >= MAJORITY * simplified:
        return "traditional"
    return None


def in_form(line: str, form: Form) -> str:
    """``line`` with its characters of the other form converted to ``form`` (phrase-aware, by
    OpenCC), every other character as it was."""
    converter = _converter(_CONVERSION[form])
    if converter is None or _has_kana(line):
        return line
    other = "traditional" if form == "simplified" else "simplified"
    converted = converter.convert(line)
    if len(converted) != len(line):  # a phrase of another length: the characters no longer line up
        return line
    return "".join(new if new != old and form_of(old) == other else old
                   for old, new in zip(line, converted, strict=True))


def in_one_form(texts: list[str]) -> list[str]:
    """``texts`` (a video's on-screen texts) with the characters of the other form converted
    where they are written in one (``written_form``); unchanged otherwise."""
    form = written_form(texts)
    return texts if form is None else [in_form(text, form) for text in texts]
