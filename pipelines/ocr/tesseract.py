"""One text line read by Tesseract 5 (Debian's ``tesseract-ocr`` and its language packs).

The line is binarised first (black letters on white, about 48 pixels high, as Tesseract reads
best), without ink touching the crop's edge (the picture behind a caption). Specks are left:
removing blobs thinner and smaller than the letters' strokes took Arabic letters' dots with them
(word recall of Tesseract on the generated Arabic captions 0.879 -> 0.591).

Its reading is then cleaned (``clean_reading``) of what Tesseract writes that is not in the text.
"""

from __future__ import annotations

import subprocess
import unicodedata

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
_MONOTONIC_PACKS = {"ell"}


def binarise(crop: np.ndarray, line_height: int = 48) -> np.ndarray:
    """A text line as black letters on white, scaled to about ``line_height`` pixels (Tesseract's liking)."""
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    scale = line_height / max(1, gray.shape[0])
    if abs(scale - 1) > 0.1:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
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


def _marks_on_letters(text: str) -> str:
    """``text`` (decomposed) without combining marks that follow no letter (a stray accent)."""
    out: list[str] = []
    for ch in text:
        if unicodedata.combining(ch) and not (out and (out[-1].isalpha() or unicodedata.combining(out[-1]))):
            continue
        out.append(ch)
    return "".join(out)


def _monotonic(word: str) -> str:
    """A decomposed Greek word in monotonic spelling: breathings and the iota subscript dropped; a
    grave or circumflex becomes the tonos, except on a word of one vowel group (a monosyllable,
    "τὸ", has no accent in monotonic)."""
    word = word.translate(_POLYTONIC)
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


def tesseract_line(crop: np.ndarray, packs: tuple[str, ...]) -> tuple[str, float]:
    """One text line read by Tesseract (``--psm 7``) with ``packs``: text and mean confidence (0-1)."""
    ok, png = cv2.imencode(".png", binarise(crop))
    if not ok:
        return "", 0.0
    proc = subprocess.run(["tesseract", "stdin", "stdout", "-l", "+".join(packs), "--psm", "7", "tsv"],
                          input=png.tobytes(), capture_output=True, check=False, timeout=60)
    words = []
    for row in proc.stdout.decode("utf-8", "replace").splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) == 12 and cols[11].strip() and float(cols[10]) >= 0:
            words.append((cols[11].strip(), float(cols[10]) / 100))
    if not words:
        return "", 0.0
    return clean_reading(" ".join(w for w, _ in words), packs), sum(c for _, c in words) / len(words)
