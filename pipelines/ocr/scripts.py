"""Every script: the lines PP-OCRv5 finds are re-read by Tesseract 5 in the scripts it lacks.

PP-OCRv5 reads Latin, Chinese and Japanese; shown Cyrillic, Greek or Arabic it returns Latin
look-alikes ("OTKponTe" for "Откройте"). So:

- with ``languages`` naming a language of another script (``ru``, ``el``, ``ar``, ...), every line
  PP-OCRv5 detects that is not plainly Latin (Latin expected too, read sure, and spelt as Latin
  words are, ``lookalike_share``) is re-read by Tesseract with that language's pack (Debian's
  ``tesseract-ocr-<pack>``, ``pipelines.ocr.tesseract``) on a binarised crop of the line; the
  reading is kept where it comes out in the expected script. Lines PP-OCRv5 detects but reads as
  nothing are re-read too;
- without such a language, a Latin reading PP-OCRv5 is unsure of (below ``suspect_confidence``)
  or spells as look-alikes may be another script: its script is identified from its pixels
  (Tesseract reads it with one installed pack per other script and English together, choosing per
  word, then with the packs of each of the two scripts most letters came out in alone) and the
  reading kept when it comes out, sure enough, in that script alone; otherwise it is flagged
  ``script-uncertain``, never passed on silently. Lines PP-OCRv5 detects but reads as nothing, or
  as a few unsure letters, are identified the same way while ``IDENTIFY_UNREAD`` is set (a caption
  band's reads: PP-OCRv5 reads many Hebrew lines as nothing, an Arabic one as "Uww", and a dropped
  caption is lost silently), when shaped as a line of letters, and on a whole screen where
  captions sit (``CAPTION_PLACE``: Korean and Hindi captions, so that their band is found). Once
  lines were identified in one script (``learn_after``, most of those identified: the video's), a
  line is first looked at with that script's pack and English alone, cheaper than one pack of
  every script at once.

Tesseract's readings are judged by their words too (``pipelines.ocr.lexicon``): a word that lost
its marks gets them back where its language's list says so (й read и inside an outline), and a
reading of which fewer than half the words are listed (``min_known``: "1х 1вдо д б режено" in
pure Cyrillic, sure) is no identification, and with the language said is kept flagged
``script-uncertain``. In a caption band with Cyrillic or Greek said, one word spelt as Latin
look-alikes makes a sure Latin reading unsure as well ("ChaHana OTkpoMTe MeHro paina"): it is
re-read, and kept flagged where Tesseract's reading is no better.

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
from contextvars import ContextVar
from dataclasses import dataclass, field, replace

import numpy as np

from pipelines.ocr.band import BandOptions
from pipelines.ocr.engines import LINE_PLACE, LineDetector, OcrEngine, Reading, find_lines
from pipelines.ocr.frames import PixelBox
from pipelines.ocr.lexicon import known_share, restore_marks
from pipelines.ocr.tesseract import LINE_HEIGHTS, tesseract_line
from pipelines.ocr.tracking import SCRIPT_UNCERTAIN

log = logging.getLogger(__name__)

LANGUAGE_PACKS = {"ru": "rus", "uk": "ukr", "bg": "bul", "sr": "srp", "el": "ell", "ar": "ara", "fa": "fas",
                  "he": "heb", "hi": "hin", "mr": "mar", "ne": "nep", "th": "tha", "ko": "kor"}
"""Languages (ISO 639-1) PP-OCRv5 cannot read -> the Tesseract pack that reads them."""

PACK_SCRIPTS = {"rus": "CYRILLIC", "ukr": "CYRILLIC", "bul": "CYRILLIC", "srp": "CYRILLIC", "ell": "GREEK",
                "ara": "ARABIC", "fas": "ARABIC", "heb": "HEBREW", "hin": "DEVANAGARI", "mar": "DEVANAGARI",
                "nep": "DEVANAGARI", "tha": "THAI", "kor": "HANGUL"}
"""Each pack's script, as Unicode character names begin."""

IDENTIFY_UNREAD: ContextVar[bool] = ContextVar("identify_unread", default=False)
"""Set while a caption band is followed (``pipelines.ocr.captions``): without another script
expected, a line read as nothing, or as a few unsure Latin letters however wide it is, is
identified from its pixels too. Whole screens are left alone but where captions sit
(``CAPTION_PLACE``): their icons and rules are detected as lines read as nothing, and each would
cost Tesseract runs."""

UNREAD_MIN_ASPECT = 2.5
"""Width over height of a caption band's line read as nothing, or as fewer than
``identify_min_letters`` unsure Latin letters, for it to be identified: a few letters at least (on
the eight real clips' band reads, the lines read as nothing were blobs of aspect 0.9-1.1; the
generated Hebrew captions' lines 5-9)."""

CAPTION_PLACE = BandOptions()
"""Where a screen's line read as nothing is identified as a caption band's is (``LINE_PLACE``):
where the band search looks for captions (its ``centre_tolerance`` from the middle, its centre at
least ``min_centre`` down). Korean and Hindi captions, read as nothing by PP-OCRv5 where no
language is said, are then read on the screen, so that the band search finds them; a screencast's
lines read as nothing are few and seldom there (icons, rules)."""


def at_caption_place(box: PixelBox) -> bool:
    """Whether a line at ``box`` of the image being read sits where captions do (``CAPTION_PLACE``;
    False where the caller did not say where the image is, ``LINE_PLACE``)."""
    place = LINE_PLACE.get()
    if place is None:
        return False
    x, y = place(box)
    return abs(x - 0.5) <= CAPTION_PLACE.centre_tolerance and y >= CAPTION_PLACE.min_centre


def text_shaped(box: PixelBox) -> bool:
    """Whether a line's box is a few letters wide at least (``UNREAD_MIN_ASPECT``)."""
    x0, y0, x1, y1 = box
    return x1 - x0 >= UNREAD_MIN_ASPECT * max(1, y1 - y0)


def script_packs(script: str) -> tuple[str, ...]:
    """The installed packs that read ``script`` (a ``PACK_SCRIPTS`` value; none for Latin or CJK)."""
    return tuple(p for p, s in PACK_SCRIPTS.items() if s == script and p in installed_packs())


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


def script_share(text: str, script: str) -> float:
    """The share of ``text``'s letters that are in ``script`` (as ``script_of`` names it; 0 if no letters)."""
    letters = [ch for ch in text if ch.isalpha()]
    return sum(1 for ch in letters if script_of(ch) == script) / len(letters) if letters else 0.0


def fragmented(text: str) -> bool:
    """Whether more than half the words of a reading are single characters ("ไป น ม โม ป | ค น"),
    or a word begins with a combining mark, a vowel or tone sign with no letter to sit on
    ("ภณ ณะ เจ ั อ": a Hebrew caption read with the Thai pack): Tesseract's reading of a line in a
    script it is not, glyph by glyph. Words of one letter are a few in real text (Greek "η",
    Arabic "و"), never most; a mark always follows its letter."""
    words = text.split()
    if any(unicodedata.category(w[0]).startswith("M") for w in words):
        return True
    return sum(1 for w in words if len(w) == 1) > len(words) / 2


CODE_MARKS = frozenset("/_@:\\=~$#%")  # in identifiers, paths and addresses on a screen, never in look-alikes
TONE_MARKED = frozenset("ǎǐǒǔǚǍǏǑǓ")  # pinyin's third tone: no other Latin-script language writes it
LOOKALIKE_SCRIPTS = frozenset({"LATIN", "GREEK", "CYRILLIC"})  # alphabets whose letters look alike


def _odd_capitals(core: str) -> bool:
    """Capitals after small letters that no Latin spelling puts there: one that starts a part of
    fewer than two small letters ("HaxMnTe", "oTBeT"), or two such humps ("HacTynHnǔ"); so is one
    after a capital starting a part of one small letter within mixed case ("CHaHana" for
    "Сначала"). One hump of two or more ("JupyterLab", "McDonald", "iPhone"), an all-capital tail
    ("macOS") and an acronym's plural or unit ("PDFs", "GHz", "DDoS") are ordinary."""
    for i in range(1, len(core) - 3):
        if core[i - 1].isupper() and core[i].isupper() and core[i + 1].islower() and core[i + 2].isupper() \
                and core[i + 3].islower():
            return True
    humps = 0
    for i in range(1, len(core)):
        if core[i - 1].islower() and core[i].isupper():
            tail = core[i:]
            if tail.isupper():
                continue
            humps += 1
            small = next((k for k, ch in enumerate(tail[1:]) if not ch.islower()), len(tail) - 1)
            if small < 2 or humps > 1:
                return True
    return False


def lookalike_share(text: str) -> float:
    """The share of the words of a Latin reading (two letters or more) that no Latin-script
    language spells so, as PP-OCRv5 writes words of another script in look-alikes: a capital
    starting a part of less than two small letters ("HaxMnTe" for "Нажмите"), a digit or a sign
    between letters ("3annwnTe", "Hy>KHbiǔ"), or letters of two scripts ("φopMaT"). Words with
    the marks of code, paths and addresses ("gh_scoped_creds", "org.github.io", "objects:100%")
    are what a screen shows, not look-alikes, and do not count. A sign to look at the pixels, not
    a verdict."""
    words = [w for w in text.split() if sum(ch.isalpha() for ch in w) >= 2]
    odd = 0
    for word in words:
        core = word.strip(".,:;!?'\"()[]-")
        if any(ch in CODE_MARKS for ch in core) or any(
                core[i] == "." and core[i - 1].isalnum() and core[i + 1].isalnum() for i in range(1, len(core) - 1)):
            continue
        # Look-alike digits and signs are ASCII ("3" for "З", ">K" for "ж"), one or two to a word; a
        # word of more digits is a number or a hash ("9cf75b1"), an arrow or an icon read as a
        # character ("C→Logout", "①git", "开Accessibility") is the screen's.
        scripts = {script_of(ch) for ch in core if ch.isalpha()}
        digits = sum(ch.isdigit() for ch in core)
        inner_digit = digits <= 2 and any(
            ch.isascii() and (ch.isdigit() or not (ch.isalnum() or ch in "'’-./&[]{}"))
            and core[i].isalpha() and core[i + 2].isalpha() for i, ch in enumerate(core[1:-1]))
        inner_digit |= len(core) > 1 and digits <= 2 and core[0] in "0123456789" and core[1].isalpha() and sum(
            ch.isalpha() for ch in core) >= 3
        # A pinyin tone mark inside a word of plain letters is PP-OCRv5's "й" ("npocTnǔ").
        toned = len(core) > 2 and any(ch in TONE_MARKED for ch in core)
        odd += _odd_capitals(core) or inner_digit or toned or (len(scripts) > 1 and scripts <= LOOKALIKE_SCRIPTS)
    return odd / len(words) if words else 0.0


@dataclass
class ScriptAwareEngine:
    """An engine whose lines are re-read by Tesseract in the scripts ``languages`` ask for.

    Attributes:
        base: the detecting and reading engine (PP-OCRv5).
        languages: languages expected on screen (ISO 639-1).
        suspect_confidence: a Latin reading below this, or spelt as look-alikes (a share of its
            words at least ``suspect_lookalikes``, a third, see ``lookalike_share``), is re-read when
            another script is expected, and flagged when none is...
        identify_confidence: ...unless Tesseract, given every installed pack of another script,
            finds the line in one or two of them, and reading it with such a script's pack alone is
            at least this sure (its mean word confidence, 0-1; the surer of two wins) and
            ``identify_purity`` of its letters are in that script; lines of fewer than ``identify_min_letters``
            letters are only flagged (a screen's "Ln 1, …" read as two Thai letters is no reading).
        cache_size: settled readings kept by the base engine's reading: a caption's lines are
            recognised again and again while it shows, and read the same.
        learn_after: lines identified in one script (and most of those identified) before it is the
            video's own (``learned``): then a line to identify is first looked at with that
            script's first pack and English alone, and read in that script alone when it comes
            out in it, sure to ``learned_confidence``; the look with one pack of every script
            (~1 s of Tesseract a line, most of a caption's cost without the language said) only
            where it does not. 0: never.
        learned_confidence: how sure a line read in the learned script must be to be kept without
            the other scripts looked at (above ``identify_confidence``: no reading in another
            script is compared with it).
        min_known: the share of a Tesseract reading's words its languages' lists must hold
            (``lexicon.known_share``; scripts without a list are not judged) for it to be sure.
    """

    base: OcrEngine
    languages: tuple[str, ...]
    suspect_confidence: float = 0.8
    suspect_lookalikes: float = 0.3
    identify_confidence: float = 0.6
    identify_purity: float = 0.9
    identify_min_letters: int = 4
    cache_size: int = 256
    learn_after: int = 2
    learned_confidence: float = 0.75
    min_known: float = 0.5
    name: str = ""
    _cache: dict[tuple[str, int, tuple[int, ...], str], Reading] = field(default_factory=dict, repr=False)
    identified: Counter[str] = field(default_factory=Counter, repr=False)
    """Lines whose script was identified from their pixels, by script (what ``learned`` decides on)."""
    read_as_learned: int = 0
    """Of those, the lines read in the learned script without every script looked at."""
    lines_read: int = 0
    """Lines the base engine detected (and this engine settled) so far."""
    unread_lines: int = 0
    """Of those, lines shaped like text (``UNREAD_MIN_ASPECT``) that came out as nothing, or as fewer
    than ``identify_min_letters`` unsure letters: text in a script PP-OCRv5 does not read, where no
    language says which (Korean and Hindi captions: 8 of 8 and 3 of 5 lines; the real UI
    recordings: 0 of 177, 3 of 426, 0 of 62). The OCR stage reports them (``app.stages.ocr.unread_summary``)."""

    def __post_init__(self) -> None:
        self.name = self.base.name

    @property
    def packs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(LANGUAGE_PACKS[lang.lower()] for lang in self.languages
                                   if lang.lower() in LANGUAGE_PACKS))

    def read(self, image: np.ndarray) -> list[Reading]:
        """Read with the base engine, then re-read or flag lines as the module doc says. With
        another script expected, the lines the base engine detected but read as nothing are
        re-read too (PP-OCRv5 reads many Hebrew lines as nothing)."""
        unread = IDENTIFY_UNREAD.get()
        detected = (self.base.read_detected(image) if isinstance(self.base, LineDetector) else self.base.read(image))
        out = []
        for r in detected:
            if r.kept:  # settled when it was read (``KNOWN_LINES``)
                out.append(r)
                continue
            shaped = text_shaped(r.box)
            # A line of letters read as nothing (or a few letters) where captions sit, none expected
            # in another script: identified as a caption band's would be (``CAPTION_PLACE``).
            placed = (not (unread or self.packs) and shaped and at_caption_place(r.box)
                      and sum(ch.isalpha() for ch in r.text) < self.identify_min_letters)
            if not r.text and not (self.packs or unread or placed):  # read as nothing: re-read only as said above
                settled = r
            else:
                token = IDENTIFY_UNREAD.set(True) if placed else None
                try:
                    settled = self._settle(r, _line_crop(image, r.box), LINE_HEIGHTS, unread=unread or placed)
                finally:
                    if token is not None:
                        IDENTIFY_UNREAD.reset(token)
            self.lines_read += 1
            if shaped and (not settled.text or (
                    SCRIPT_UNCERTAIN in settled.flags and sum(ch.isalpha() for ch in settled.text) < self.identify_min_letters)):
                self.unread_lines += 1
            if settled.text:
                out.append(settled)
        return self._joined(image, out) if unread and (self.packs or installed_packs()) else out

    def _joined(self, image: np.ndarray, lines: list[Reading]) -> list[Reading]:
        """In a caption band, a line left flagged beside another on its row, less than a line
        height (``JOIN_GAP``) apart, may be one caption line the detector cut in two, through a
        word: over the mandelbrot zoom "اضغط على زر الحفظ" was found as two boxes, one read "زر
        الحفعط" and the other as nothing Tesseract could read ("Lebvol", flagged), while the
        two together read right. The two are read as one line; the reading replaces them where
        it comes out unflagged in another script than Latin or CJK (a caption beside a watermark
        stays two lines: a Latin watermark read in another script reads as no words)."""
        out = list(lines)
        i = 0
        while i < len(out):
            a = out[i]
            for j, b in enumerate(out):
                if j == i or not (SCRIPT_UNCERTAIN in a.flags or SCRIPT_UNCERTAIN in b.flags) or not _beside(a.box, b.box):
                    continue
                box = (min(a.box[0], b.box[0]), min(a.box[1], b.box[1]), max(a.box[2], b.box[2]), max(a.box[3], b.box[3]))
                whole = self._settle(Reading(box, "", 0.0), _line_crop(image, box), LINE_HEIGHTS, unread=True)
                if whole.text and not whole.flags and script_of(whole.text) not in ("LATIN", "CJK", ""):
                    out[min(i, j)] = whole
                    del out[max(i, j)]
                    i = -1  # look again from the start: the joined line may have another neighbour
                    break
            i += 1
        return out

    def find_lines(self, image: np.ndarray, scale: float) -> list[PixelBox] | None:
        """The base engine's (``engines.find_lines``)."""
        return find_lines(self.base, image, scale)

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        """Recognise one line (the whole image), re-read in another script as ``read`` does but
        by Tesseract at one height only: a line recognised alone is compared with a reading
        (is the caption still shown?), never kept, and most such crops are not a caption."""
        text, confidence = self.base.read_line(image)
        settled = self._settle(Reading((0, 0, image.shape[1], image.shape[0]), text, confidence), image,
                               LINE_HEIGHTS[:1])
        return settled.text, settled.confidence

    def _settle(self, r: Reading, crop: np.ndarray, heights: tuple[int, ...], unread: bool = False) -> Reading:
        """One reading of the base engine, re-read by Tesseract (binarised at ``heights``, see
        ``tesseract_line``) or flagged (see the module doc); a reading of several letters that was
        settled before (by its text and the crop's shape, to a tenth, the heights, and in a caption
        band the script learned, see ``_settle_anew``) is settled the same way again. ``unread``: a
        reading of nothing is identified too, when no other script is expected (in a caption band,
        ``IDENTIFY_UNREAD``)."""
        key = (r.text, round(10 * crop.shape[1] / max(1, crop.shape[0])), heights, (unread and self.learned) or "")
        cacheable = sum(ch.isalnum() for ch in r.text) >= self.identify_min_letters
        if cacheable and key in self._cache:
            return replace(self._cache[key], box=r.box)
        settled = self._settle_anew(r, crop, heights, unread)
        if cacheable:
            if len(self._cache) >= self.cache_size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = settled
        return settled

    def _settle_anew(self, r: Reading, crop: np.ndarray, heights: tuple[int, ...], unread: bool) -> Reading:
        packs = self.packs
        scripts = {PACK_SCRIPTS[p] for p in packs}
        # A Latin-script language expected too: a confident Latin reading stays PP-OCRv5's.
        latin = any(lang.lower() not in LANGUAGE_PACKS and lang.lower() not in ("zh", "ja", "zh-hans", "zh-hant")
                    for lang in self.languages)
        current = script_of(r.text)
        # In a caption band of a video whose lines were identified in another script (``learned``),
        # one word spelt as look-alikes is enough: "ChaHana OTkpoMTe MeHro paina", read sure,
        # spells one word of four so ("Сначала откройте меню файла" over a bright sky).
        # The same in a band when a script of look-alikes (Cyrillic, Greek) is said.
        lookalikes = lookalike_share(r.text)
        plainly_latin = current == "LATIN" and r.confidence >= self.suspect_confidence \
            and lookalikes < self.suspect_lookalikes
        band_lookalike = unread and (self.learned is not None or bool(scripts & LOOKALIKE_SCRIPTS)) and lookalikes > 0
        unsure_latin = current == "LATIN" and (not plainly_latin or band_lookalike)
        sure_latin = latin and current == "LATIN" and not unsure_latin
        if packs and current not in scripts and current != "CJK" and not sure_latin:
            best: tuple[str, float] | None = None
            best_sure = False
            for outlined in self._binarisations():
                text, confidence = self._tesseract(crop, packs, heights, outlined)
                sure = confidence >= self.identify_confidence and not fragmented(text) and self._plausible(text, packs)
                # A line the base engine read as nothing is kept only as sure as an identified one.
                if text and script_of(text) in scripts and (r.text or sure) and (
                        best is None or (sure, confidence) > (best_sure, best[1])):
                    best, best_sure = (text, confidence), sure
                if best is not None and sure:  # else, in a caption band, read inside the outline too
                    break
            if best is not None and not best_sure and plainly_latin:
                # PP-OCRv5 read plain Latin (a "GitHub" on a Russian screen, or, with English said
                # too, a band's reading with a look-alike word) and Tesseract reads no words there:
                # PP-OCRv5's reading stays, flagged where a word of it is spelt as look-alikes.
                return replace(r, flags=(*r.flags, SCRIPT_UNCERTAIN) if lookalikes > 0 else r.flags, script=current)
            if best is not None:
                # Tesseract's word confidences run lower than PP-OCRv5's: the line, found by
                # the detector, keeps the detector's confidence where Tesseract's is lower.
                return replace(r, text=best[0], confidence=max(best[1], r.confidence), script=script_of(best[0]),
                               flags=r.flags if best_sure else (*r.flags, SCRIPT_UNCERTAIN))
        # Its script from its pixels: an unsure Latin reading of a few letters, or (``unread``: in
        # a caption band) a line of a few letters' width read as nothing, as fewer letters (PP-OCRv5
        # read the Arabic "في هذا الدرس" as "Uww", sure to 0.27) or, unsure, as no letter at all
        # (the Hindi "अभ्यास पूरा हुआ" as "33", sure to 0.65; a clock or a counter reads sure).
        letters = sum(ch.isalpha() for ch in r.text) >= self.identify_min_letters
        no_letter = not any(ch.isalpha() for ch in r.text) and r.confidence < self.suspect_confidence
        unread_line = unread and text_shaped(r.box) and (unsure_latin or no_letter)
        if not packs and ((unsure_latin and letters) or unread_line):
            found = self._identify(crop, heights)
            if found is not None:
                return replace(r, text=found[0], confidence=found[1], script=script_of(found[0]))
        if not r.text:
            return r
        if unsure_latin:
            return replace(r, flags=(*r.flags, SCRIPT_UNCERTAIN), script=current)
        return replace(r, script=current)

    def _identify(self, crop: np.ndarray, heights: tuple[int, ...]) -> tuple[str, float] | None:
        """The script of a line PP-OCRv5 read as unsure Latin, from its pixels: Tesseract reads it
        with every installed pack of another script and English together, choosing per word; the
        two scripts most letters come out in are read again each with its packs alone (every
        installed pack of that script, Tesseract choosing per word: rus+ukr, so that Ukrainian's
        і ї є are letters of a language it reads; a reading that mixes scripts, Hangul or Thai
        inside Arabic, is no reading, nor one in single glyphs, ``fragmented``), and the surer
        kept when it is as sure as ``identify_confidence`` and as pure as ``identify_purity``.
        Once a script is the video's own (``learned``), a line is first read as the class doc says."""
        by_script: dict[str, tuple[str, ...]] = {}
        for pack in dict.fromkeys(LANGUAGE_PACKS.values()):
            if pack in installed_packs():
                by_script[PACK_SCRIPTS[pack]] = (*by_script.get(PACK_SCRIPTS[pack], ()), pack)
        others = tuple(packs[0] for packs in by_script.values())  # one pack per script (rus rather than ukr)
        if not others:
            return None
        unjudged: tuple[str, float] | None = None
        for outlined in self._binarisations():
            learned = self.learned
            if learned is not None and learned in by_script:
                found = self._read_as_learned(crop, learned, by_script[learned], heights, outlined)
                if found is not None:
                    self.read_as_learned += 1
                    self.identified[learned] += 1
                    return found
            best = self._identify_anew(crop, heights, by_script, others, outlined)
            if best is not None and known_share(best[0], by_script[script_of(best[0])]) is not None:
                self.identified[script_of(best[0])] += 1
                return best
            # A reading no word list can judge (Thai, Korean) is kept only where the next
            # binarisation reads no judged one: over the zoom a Greek line binarised the usual
            # way came out in Thai letters, no words, and inside its outline in Greek words.
            unjudged = unjudged or best
        if unjudged is not None:
            self.identified[script_of(unjudged[0])] += 1
        return unjudged

    @staticmethod
    def _binarisations() -> tuple[bool, ...]:
        """How a line is binarised for Tesseract, in turn until one reads: the usual way
        (``tesseract.binarise``), then, in a caption band (``IDENTIFY_UNREAD``), as bright letters
        inside a dark outline (``outlined``: ``tesseract.binarise_enclosed``), which parts white
        letters from a background as bright as they are, but loses a small mark's fill (й read
        и, ά read α: kept for the lines the usual way cannot read)."""
        return (False, True) if IDENTIFY_UNREAD.get() else (False,)

    @property
    def learned(self) -> str | None:
        """The script most lines identified so far came out in, once ``learn_after`` did and they
        are two thirds of those identified at least (a video's captions are mostly one language)."""
        if self.learn_after <= 0 or not self.identified:
            return None
        script, n = self.identified.most_common(1)[0]
        return script if n >= self.learn_after and 3 * n >= 2 * sum(self.identified.values()) else None

    def _read_as_learned(self, crop: np.ndarray, script: str, packs: tuple[str, ...],
                         heights: tuple[int, ...], outlined: bool = False) -> tuple[str, float] | None:
        """A line read in the video's learned ``script`` with its ``packs`` alone, where its first
        pack and English, choosing per word, put most of its letters in it, and the reading is as
        pure as ``identify`` asks and sure to ``learned_confidence``; None: look at every script."""
        look = (packs[0], "eng") if "eng" in installed_packs() else packs[:1]
        text, _ = tesseract_line(crop, look, LINE_HEIGHTS[:1], outlined=outlined)
        if script_of(text) != script:
            return None
        alone, confidence = self._tesseract(crop, packs, heights, outlined)
        return (alone, confidence) if self._reads_as(alone, confidence, script, self.learned_confidence, packs) else None

    def _reads_as(self, text: str, confidence: float, script: str, least: float, packs: tuple[str, ...]) -> bool:
        """Whether Tesseract's reading of a line with one script's ``packs`` is a reading in it:
        as pure as ``identify_purity``, sure to ``least``, ``identify_min_letters`` letters at
        least, not glyph by glyph (``fragmented``), and of words its languages have (``min_known``)."""
        return (script_share(text, script) >= self.identify_purity and confidence >= least
                and sum(ch.isalpha() for ch in text) >= self.identify_min_letters and not fragmented(text)
                and self._plausible(text, packs))

    def _plausible(self, text: str, packs: tuple[str, ...]) -> bool:
        """Whether ``min_known`` of ``text``'s words are words of ``packs``' languages (or none can be judged)."""
        share = known_share(text, packs)
        return share is None or share >= self.min_known

    @staticmethod
    def _tesseract(crop: np.ndarray, packs: tuple[str, ...], heights: tuple[int, ...],
                   outlined: bool) -> tuple[str, float]:
        """Tesseract's reading of a line to keep (``tesseract_line``), its words' lost marks restored."""
        text, confidence = tesseract_line(crop, packs, heights, outlined=outlined)
        return restore_marks(text, packs), confidence

    def _identify_anew(self, crop: np.ndarray, heights: tuple[int, ...], by_script: dict[str, tuple[str, ...]],
                       others: tuple[str, ...], outlined: bool = False) -> tuple[str, float] | None:
        """``_identify`` with one pack of every installed script looked at (see there)."""
        # One height is enough to see which scripts the letters come out in (``LINE_HEIGHTS``
        # are for the reading kept).
        text, _ = tesseract_line(crop, (*others, "eng") if "eng" in installed_packs() else others, LINE_HEIGHTS[:1],
                                 outlined=outlined)
        if script_of(text) not in by_script:  # mostly Latin (English) or nothing: no other script
            return None
        found: Counter[str] = Counter(script_of(ch) for ch in text if ch.isalpha())
        best: tuple[bool, float, str] | None = None
        # The two scripts most letters came out in, each read with its packs alone: the surer wins
        # (Arabic read with every pack came out mostly Thai, but surer with ``ara`` alone), but a
        # reading whose words its languages' lists hold wins over one no list can judge (Thai,
        # Korean): a Greek line over the zoom came out in Thai letters, surer, and no words.
        for script, _ in [(s, n) for s, n in found.most_common() if s in by_script][:2]:
            alone, confidence = self._tesseract(crop, by_script[script], heights, outlined)
            if self._reads_as(alone, confidence, script, self.identify_confidence, by_script[script]):
                judged = known_share(alone, by_script[script]) is not None
                if best is None or (judged, confidence) > best[:2]:
                    best = judged, confidence, alone
        return None if best is None else (best[2], best[1])


JOIN_GAP = 1.0
"""Line heights between two lines on one row that a caption band reads as one (``_joined``)."""


def _line_crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """A line's crop for Tesseract: its box and a sixth of its height around it."""
    x0, y0, x1, y1 = box
    pad = max(2, (y1 - y0) // 6)
    return image[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad]


def _beside(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Whether two line boxes are on one row (overlapping by two thirds of the lower's height)
    and at most ``JOIN_GAP`` line heights apart side by side."""
    height = max(a[3] - a[1], b[3] - b[1], 1)
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    gap = max(a[0], b[0]) - min(a[2], b[2])
    return 3 * overlap >= 2 * min(a[3] - a[1], b[3] - b[1]) and gap <= JOIN_GAP * height


def with_scripts(engine: OcrEngine, languages: tuple[str, ...]) -> OcrEngine:
    """``engine`` wrapped to read (or flag) other scripts; the same engine when already wrapped."""
    if isinstance(engine, ScriptAwareEngine):
        return engine
    return ScriptAwareEngine(engine, languages)
