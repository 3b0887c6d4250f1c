"""One text line read by Tesseract 5 (Debian's ``tesseract-ocr`` and its language packs).

The line is binarised first (black letters on white, about 48 pixels high, as Tesseract reads
best), without ink touching the crop's edge (the picture behind a caption). Specks are left:
removing blobs thinner and smaller than the letters' strokes took Arabic letters' dots with them
(word recall of Tesseract on the generated Arabic captions 0.879 -> 0.591).

A line is read at a few heights (``LINE_HEIGHTS``) and the surest reading kept: Tesseract's
reading of one small caption line changes with the height it is given ("في هذا الدرس" read right
at 48 and 80 pixels, as nothing at 64, "الورس" at 56), and its confidence tells the good ones. On
crops of the generated captions (three frames of each, all five scripts, plus Arabic sentences
of no bench clip at 360p and 720p), word recall at 48 pixels alone -> read at 48, and where that
reading is less sure than 0.9 (a third of the lines) at 64 and 80 too, the surest kept:
ar 0.909 -> 0.97, other Arabic 0.908 -> 0.935 (360p) and 0.906 -> 0.942 (720p), ru 0.958 ->
0.986, uk 0.955 -> 0.985, el 0.889 -> 0.903, he 0.952 -> 0.984. (All three heights for every
line: much the same, for 0.15 s a line instead of 0.07.)

Its reading is then cleaned (``clean_reading``) of what Tesseract writes that is not in the text.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import unicodedata
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

_BIDI_MARKS = dict.fromkeys([0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])

# Arabic short vowels and other marks (fathatan to sukun, U+064B-U+0652, and the superscript
# alef): ordinary Arabic text is written without them, and Tesseract 5's ``ara`` and ``fas``
# packs do not read text written with them (fully vowelled caption lines came out as other
# letters, measured), so a mark they write is noise, e.g. a damma inside "الإعدادات".
_ARABIC_MARKS = dict.fromkeys([*range(0x064B, 0x0653), 0x0670])
# Breathings, the circumflex and the iota subscript of polytonic Greek: Modern Greek has been
# written monotonic since 1982 (one accent, the tonos), but the ``ell`` pack holds polytonic
# letters and writes them for a tonos or a speck ("Ἀνοίξτε τὸ" for "Ανοίξτε το").
_POLYTONIC = dict.fromkeys([0x0313, 0x0314, 0x0345])
_GRAVE, _ACUTE = "\u0300", "\u0301"
_VOWELLESS_PACKS = {"ara", "fas"}
LINE_HEIGHTS = (48, 64, 80)
"""Heights (pixels, with the crop's margin) a line is read at by ``tesseract_line``: the first,
then the others where that reading is less sure than ``SURE``."""
SURE = 0.9
LETTER_SHARE = 0.2
"""The least height of a letter's ink, as a share of the height a line is binarised to, for the
line to be given to Tesseract (``has_letters``). A lower-case letter of a line found by the
detector is a third of it or more (the crop has a margin of a sixth of the line above and
below), a stop or an Arabic dot a tenth. On the 10 minutes of ``bench_job`` (UI recordings at
720p, no language said), 30 of the 40 lines whose script was identified were launcher labels the
video shows cut by a window's edge, none of their ink taller than 6 of 48 pixels: Tesseract read
them as nothing, a stop or a digit, in 23 of the 34 s the identifications took."""
_MONOTONIC_PACKS = {"ell"}
SPACE_GAP = 1 / 6
"""The least gap between two words of Hangul or Thai in Tesseract's TSV, as a share of the height
the line was binarised to (``LINE_HEIGHTS``; the text about two thirds of it), that is a space:
on five generated Korean caption lines at 48 pixels (a space in the font a quarter of its em), the
gaps inside a word were 1-7 pixels, those between words 9-15."""


def _grey(crop: np.ndarray, line_height: int) -> np.ndarray:
    """A line's crop in grey, scaled to about ``line_height`` pixels high."""
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    scale = line_height / max(1, gray.shape[0])
    if abs(scale - 1) > 0.1:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return gray


def binarise(crop: np.ndarray, line_height: int = 48) -> np.ndarray:
    """A text line as black letters on white, scaled to about ``line_height`` pixels (Tesseract's liking)."""
    gray = _grey(crop, line_height)
    _, mask = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Letters are the smaller class: bright captions become black on white like dark UI text.
    if (mask == 255).mean() < 0.5:
        mask = 255 - mask
    # The crop has a margin around the line: ink touching its edge is the picture behind the
    # letters (footage under a caption), not a letter; Tesseract reads such blobs as letters.
    count, labels, stats, _ = cv2.connectedComponentsWithStats((mask == 0).astype(np.uint8), connectivity=8)
    h, w = mask.shape
    for i in range(1, count):
        x, y, bw, bh = stats[i][:4]
        if x == 0 or y == 0 or x + bw == w or y + bh == h:
            mask[labels == i] = 255
    return cv2.copyMakeBorder(mask, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=255)


OUTLINE_DARK = 90
"""Grey level (0-255) under which a pixel may be a caption's outline, shadow or box (``binarise_enclosed``)."""
FILL_BRIGHT = 170
"""The least mean grey level of a region inside such a dark ring for it to be a letter's fill."""


def binarise_enclosed(crop: np.ndarray, line_height: int = 48) -> np.ndarray:
    """A caption line's bright letters inside their dark outline (or on a dark box), black on
    white at about ``line_height`` pixels: the regions of pixels brighter than ``OUTLINE_DARK``
    that do not reach the crop's edge, where their mean is ``FILL_BRIGHT`` or more. Where the
    picture behind an outlined caption is as bright as its letters (white letters over a pink
    and yellow sky), one grey threshold (``binarise``) cannot tell them apart, but the outline
    parts them: "Откройте меню файла" came out as "Откройте" and specks that way, and whole
    this way."""
    gray = _grey(crop, line_height)
    count, labels, stats, _ = cv2.connectedComponentsWithStats((gray > OUTLINE_DARK).astype(np.uint8),
                                                               connectivity=4)
    h, w = gray.shape
    x, y, bw, bh, area = (stats[:, k] for k in range(5))
    mean = np.bincount(labels.ravel(), weights=gray.ravel().astype(np.float64), minlength=count) / np.maximum(area, 1)
    fill = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h) & (mean >= FILL_BRIGHT)
    fill[0] = False  # the dark pixels
    mask = np.where(fill[labels], 0, 255).astype(np.uint8)
    return cv2.copyMakeBorder(mask, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=255)


def _marks_on_letters(text: str) -> str:
    """``text`` (decomposed) without combining marks that follow no letter (a stray accent)."""
    out: list[str] = []
    for ch in text:
        if unicodedata.combining(ch) and not (out and (out[-1].isalpha() or unicodedata.combining(out[-1]))):
            continue
        out.append(ch)
    return "".join(out)


def _misread_breathings(word: str) -> str:
    """A decomposed Greek word whose breathings after its first vowels are acutes: a breathing
    stands only on a word's first vowel or diphthong (or a rho), so one further in is an accent
    Tesseract misread ("γλὠσσα" for "γλώσσα"); the acute is kept when the word has none."""
    out: list[str] = []
    initial = True
    for ch in word:
        if ch in "\u0313\u0314" and not initial:
            ch = "" if _ACUTE in word or _GRAVE in word or "\u0342" in word or _ACUTE in out else _ACUTE
        elif ch.isalpha():
            initial = initial and (ch.lower() in "αεηιουω" or (ch.lower() == "ρ" and not any(o.isalpha() for o in out)))
        out.append(ch)
    return "".join(out)


def _monotonic(word: str) -> str:
    """A decomposed Greek word in monotonic spelling: breathings (``_misread_breathings``) and
    the iota subscript dropped; a grave or circumflex becomes the tonos, except on a word of one
    vowel group (a monosyllable, "τὸ", has no accent in monotonic)."""
    word = _misread_breathings(word).translate(_POLYTONIC)
    if _GRAVE not in word and "\u0342" not in word:
        return word
    groups, vowel = 0, False
    for ch in unicodedata.normalize("NFD", word).lower():
        is_vowel = ch in "αεηιουω"
        groups += is_vowel and not vowel
        vowel = is_vowel or (vowel and unicodedata.combining(ch) > 0)
    accent = _ACUTE if groups > 1 else ""
    return word.replace(_GRAVE, accent).replace("\u0342", accent)


def clean_reading(text: str, packs: tuple[str, ...]) -> str:
    """Tesseract's reading with ``packs`` as the text is written.

    NFKC (the Greek packs write the micro sign U+00B5 for mu, U+03BC, and so on); without the
    bidirectional marks put around right-to-left words (layout, not text), without combining
    marks on no letter, and per pack: Arabic without short vowels (``_ARABIC_MARKS``), Greek
    monotonic (``_POLYTONIC``: breathings dropped, a grave or circumflex becoming the tonos).
    """
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text)).translate(_BIDI_MARKS)
    if _MONOTONIC_PACKS & set(packs):
        text = " ".join(_monotonic(word) for word in text.split(" "))
    text = _marks_on_letters(text)
    text = unicodedata.normalize("NFC", text)
    if _VOWELLESS_PACKS & set(packs):
        text = text.translate(_ARABIC_MARKS)
    return " ".join(text.split())


ONE_THREAD = {"OMP_THREAD_LIMIT": "1"}
"""Set in Tesseract's environment: Debian builds it with OpenMP, whose threads spin while they wait; one
line's recognition gains nothing from them, and beside the OCR stage's own threads on 2 cores they
made each run ~4x slower (343 line reads of the generated caption clips: 103 s -> 27 s of wall
time, every reading and confidence the same)."""


def _tesseract(source: str, packs: tuple[str, ...], stdin: bytes | None = None) -> bytes:
    """Tesseract's TSV (``--psm 7``) of ``source``: an image file, a list of them, or ``stdin``."""
    return subprocess.run(["tesseract", source, "stdout", "-l", "+".join(packs), "--psm", "7", "tsv"],
                          input=stdin, capture_output=True, check=False, timeout=60,
                          env={**os.environ, **ONE_THREAD}).stdout


def has_letters(page: np.ndarray, line_height: int) -> bool:
    """Whether a binarised line (``binarise``) holds ink as tall as a letter: a blob at least
    ``LETTER_SHARE`` of ``line_height`` high. Without one there is nothing for Tesseract to read
    (the crop of a label cut by a window's edge keeps only its specks once ink touching the edge
    is dropped), and its reading of specks is a stop or a digit."""
    count, _, stats, _ = cv2.connectedComponentsWithStats((page == 0).astype(np.uint8), connectivity=8)
    return bool(count > 1 and stats[1:, cv2.CC_STAT_HEIGHT].max() >= LETTER_SHARE * line_height)


def _read_pages(crop: np.ndarray, packs: tuple[str, ...], heights: tuple[int, ...],
                outlined: bool = False) -> list[tuple[str, float]]:
    """Tesseract's reading of ``crop`` binarised at each height (``binarise``, or
    ``binarise_enclosed`` where ``outlined``), in one run: per height read, the words joined and
    their mean confidence (0-1). One height goes through a pipe; several through a list of image
    files (Tesseract reads a list as pages). A height whose page holds no ink as tall as a letter
    (``has_letters``) is not read; with none, Tesseract is not run."""
    way = binarise_enclosed if outlined else binarise
    read = [(page, height) for page, height in ((way(crop, h), h) for h in heights) if has_letters(page, height)]
    binarised = [page for page, _ in read]
    if not binarised:
        return []
    if len(binarised) == 1:
        ok, png = cv2.imencode(".png", binarised[0])
        out = _tesseract("stdin", packs, png.tobytes()) if ok else b""
    else:
        with tempfile.TemporaryDirectory(prefix="lessonlens-tess-") as tmp:
            pages = []
            for k, binary in enumerate(binarised):
                page = Path(tmp) / f"{k}.png"
                if cv2.imwrite(str(page), binary):
                    pages.append(str(page))
            listing = Path(tmp) / "pages.txt"
            listing.write_text("\n".join(pages) + "\n", encoding="utf-8")
            out = _tesseract(str(listing), packs) if pages else b""
    words: dict[int, list[Word]] = {}
    for row in out.decode("utf-8", "replace").splitlines():
        cols = row.split("\t")
        if len(cols) == 12 and cols[0] == "5" and cols[11].strip() and float(cols[10]) >= 0:
            left, width = int(cols[6]), int(cols[8])
            words.setdefault(int(cols[1]), []).append(Word(cols[11].strip(), float(cols[10]) / 100, left, left + width))
    heights_read = [height for _, height in read]
    return [(joined(page, heights_read[min(number, len(heights_read)) - 1]), sum(w.confidence for w in page) / len(page))
            for number, page in words.items()]


class Word(NamedTuple):
    """A word of Tesseract's TSV: its text, confidence (0-1) and columns on the page read."""

    text: str
    confidence: float
    left: int
    right: int


def _unspaced(ch: str) -> bool:
    """Whether ``ch`` is of a script Tesseract's TSV gives a character (or a cluster) a word:
    Hangul, Thai, Han and kana (Korean writes spaces between its words, Thai between phrases only)."""
    return ("\uac00" <= ch <= "\ud7a3" or "\u1100" <= ch <= "\u11ff" or "\u3130" <= ch <= "\u318f"
            or "\u0e00" <= ch <= "\u0e7f" or "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff")


def joined(words: list[Word], line_height: int) -> str:
    """The words of one line as text: a space between two words, but where both sides of the gap
    are of a script whose characters the TSV gives as words (``_unspaced``), only where the gap
    is as wide as a space (``SPACE_GAP`` of the page's height): "파 일 메 뉴 를" is "파일메뉴를"."""
    out = ""
    for k, word in enumerate(words):
        if k and not (_unspaced(out[-1]) and _unspaced(word.text[0])
                      and word.left - words[k - 1].right < SPACE_GAP * line_height):
            out += " "
        out += word.text
    return out


def tesseract_line(crop: np.ndarray, packs: tuple[str, ...], heights: tuple[int, ...] = LINE_HEIGHTS,
                   sure: float = SURE, *, outlined: bool = False) -> tuple[str, float]:
    """One text line read by Tesseract with ``packs``: text (cleaned) and confidence (0-1).

    Read at the first of ``heights``; a reading less sure than ``sure`` is read at the others too
    and the surest of them kept (see the module doc). ``outlined``: binarised as bright letters
    inside a dark outline (``binarise_enclosed``), for a caption line the usual way reads wrong."""
    readings = _read_pages(crop, packs, heights[:1], outlined)
    if (not readings or readings[0][1] < sure) and len(heights) > 1:
        readings += _read_pages(crop, packs, heights[1:], outlined)
    if not readings:
        return "", 0.0
    text, confidence = max(readings, key=lambda r: r[1])
    return clean_reading(text, packs), confidence
