"""Every script: the lines PP-OCRv5 finds are re-read by Tesseract 5 in the scripts it lacks.

PP-OCRv5 reads Latin, Chinese and Japanese; shown Cyrillic, Greek or Arabic it returns Latin
look-alikes ("OTKponTe" for "Откройте"). So:

- with ``languages`` naming a language of another script (``ru``, ``el``, ``ar``, ...), every line
  PP-OCRv5 detects is re-read by Tesseract with that language's pack (Debian's
  ``tesseract-ocr-<pack>``) on a binarised crop of the line; the reading is kept where it comes out
  in the expected script;
- without such a language, a Latin reading PP-OCRv5 is unsure of (below ``suspect_confidence``)
  may be another script read as look-alikes: its script is identified from its pixels (Tesseract
  reads it with one installed pack per other script and English together, choosing per word) and
  the reading kept when it comes out, sure enough, in another script; otherwise it is flagged
  ``script-uncertain``, never passed on silently.

A language whose pack is not installed is refused when the options are made, naming the package.
Tesseract writes right-to-left text (Arabic, Hebrew) in logical order, as stored text should be.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace

import cv2
import numpy as np

from pipelines.ocr.engines import OcrEngine, Reading

log = logging.getLogger(__name__)

LANGUAGE_PACKS = {"ru": "rus", "uk": "ukr", "bg": "bul", "sr": "srp", "el": "ell", "ar": "ara", "fa": "fas",
                  "he": "heb", "hi": "hin", "mr": "mar", "ne": "nep", "th": "tha", "ko": "kor"}
"""Languages (ISO 639-1) PP-OCRv5 cannot read -> the Tesseract pack that reads them."""

PACK_SCRIPTS = {"rus": "CYRILLIC", "ukr": "CYRILLIC", "bul": "CYRILLIC", "srp": "CYRILLIC", "ell": "GREEK",
                "ara": "ARABIC", "fas": "ARABIC", "heb": "HEBREW", "hin": "DEVANAGARI", "mar": "DEVANAGARI",
                "nep": "DEVANAGARI", "tha": "THAI", "kor": "HANGUL"}
"""Each pack's script, as Unicode character names begin."""

SCRIPT_UNCERTAIN = "script-uncertain"

_BIDI_MARKS = dict.fromkeys([0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])


@functools.lru_cache(maxsize=1)
def installed_packs() -> frozenset[str]:
    """Tesseract language packs installed on this machine (empty without Tesseract)."""
    if shutil.which("tesseract") is None:
        return frozenset()
    out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, check=False).stdout
    return frozenset(line.strip() for line in out.splitlines()[1:] if line.strip())


def missing_pack_message(language: str) -> str | None:
    """Why ``language`` cannot be read through Tesseract here (None: it can)."""
    pack = LANGUAGE_PACKS.get(language.lower())
    if pack is None:
        return None
    if pack not in installed_packs():
        return (f"{language} needs Tesseract's {pack!r} pack, which is not installed: "
                f"apt-get install tesseract-ocr tesseract-ocr-{pack} (./scripts/setup installs the usual ones)")
    return None


def script_of(text: str) -> str:
    """The script most letters of ``text`` belong to (``LATIN``, ``CYRILLIC``, ``CJK``...; "" if none)."""
    counts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            word = name.split(" ")[0]
            counts["CJK" if word in ("CJK", "HIRAGANA", "KATAKANA") else word] += 1
    return counts.most_common(1)[0][0] if counts else ""


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
    # NFKC: Tesseract's Greek packs write the micro sign (U+00B5) for mu (U+03BC), and so on;
    # bidirectional marks it puts around right-to-left words are layout, not text.
    text = unicodedata.normalize("NFKC", " ".join(w for w, _ in words)).translate(_BIDI_MARKS).strip()
    return text, sum(c for _, c in words) / len(words)


@dataclass
class ScriptAwareEngine:
    """An engine whose lines are re-read by Tesseract in the scripts ``languages`` ask for.

    Attributes:
        base: the detecting and reading engine (PP-OCRv5).
        languages: languages expected on screen (ISO 639-1).
        suspect_confidence: a Latin reading below this is flagged when no other script is expected...
        identify_confidence: ...unless Tesseract, given every installed pack of another script,
            reads it in one of them at least this sure (its mean word confidence, 0-1); lines of
            fewer than ``identify_min_letters`` characters are only flagged.
    """

    base: OcrEngine
    languages: tuple[str, ...]
    suspect_confidence: float = 0.8
    identify_confidence: float = 0.6
    identify_min_letters: int = 4
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.base.name

    @property
    def packs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(LANGUAGE_PACKS[lang.lower()] for lang in self.languages
                                   if lang.lower() in LANGUAGE_PACKS))

    def read(self, image: np.ndarray) -> list[Reading]:
        """Read with the base engine, then re-read or flag lines as the module doc says."""
        out = []
        for r in self.base.read(image):
            x0, y0, x1, y1 = r.box
            pad = max(2, (y1 - y0) // 6)
            crop = image[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad]
            out.append(self._settle(r, crop))
        return out

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        """Recognise one line (the whole image), re-read in another script as ``read`` does."""
        text, confidence = self.base.read_line(image)
        settled = self._settle(Reading((0, 0, image.shape[1], image.shape[0]), text, confidence), image)
        return settled.text, settled.confidence

    def _settle(self, r: Reading, crop: np.ndarray) -> Reading:
        """One reading of the base engine, re-read by Tesseract or flagged (see the module doc)."""
        packs = self.packs
        scripts = {PACK_SCRIPTS[p] for p in packs}
        # A Latin-script language expected too: a confident Latin reading stays PP-OCRv5's.
        latin = any(lang.lower() not in LANGUAGE_PACKS and lang.lower() not in ("zh", "ja", "zh-hans", "zh-hant")
                    for lang in self.languages)
        current = script_of(r.text)
        sure_latin = latin and current == "LATIN" and r.confidence >= self.suspect_confidence
        unsure_latin = current == "LATIN" and r.confidence < self.suspect_confidence
        if packs and current not in scripts and current != "CJK" and not sure_latin:
            text, confidence = tesseract_line(crop, packs)
            if text and script_of(text) in scripts:
                # Tesseract's word confidences run lower than PP-OCRv5's: the line, found by
                # the detector, keeps the detector's confidence where Tesseract's is lower.
                return replace(r, text=text, confidence=max(confidence, r.confidence), script=script_of(text))
        if unsure_latin and not packs and len(r.text.strip()) >= self.identify_min_letters:
            found = self._identify(crop)
            if found is not None:
                return replace(r, text=found[0], confidence=found[1], script=script_of(found[0]))
        if unsure_latin:
            return replace(r, flags=(*r.flags, SCRIPT_UNCERTAIN), script=current)
        return replace(r, script=current)

    def _identify(self, crop: np.ndarray) -> tuple[str, float] | None:
        """The script of a line PP-OCRv5 read as unsure Latin, from its pixels: Tesseract reads it
        with every installed pack of another script and English together, choosing per word; a
        reading mostly in one of those scripts, as sure as ``identify_confidence``, is kept."""
        by_script: dict[str, str] = {}
        for pack in LANGUAGE_PACKS.values():  # one pack per script (rus rather than ukr)
            if pack in installed_packs():
                by_script.setdefault(PACK_SCRIPTS[pack], pack)
        others = tuple(by_script.values())
        if not others:
            return None
        text, confidence = tesseract_line(crop, (*others, "eng") if "eng" in installed_packs() else others)
        script = script_of(text)
        if script in {PACK_SCRIPTS[p] for p in others} and confidence >= self.identify_confidence:
            return text, confidence
        return None


def with_scripts(engine: OcrEngine, languages: tuple[str, ...]) -> OcrEngine:
    """``engine`` wrapped to read (or flag) other scripts; the same engine when already wrapped."""
    if isinstance(engine, ScriptAwareEngine):
        return engine
    return ScriptAwareEngine(engine, languages)
