"""Caption lines read cut short, read again out to where a centred caption would end.

Over busy footage the detector can end a caption line short of a word ("Save it" found as
"Save": its text probability under "it" stays low), and a caption read while it faded in had
letters too faint for it then ("Check the log file" read "log file"), while the band's text layer
(``pipelines.ocr.caption_layer``) holds their strokes. A caption is centred, so a line whose centre
is off the frame's by ``CaptionOptions.widen_off`` line heights or more, with letters of the layer
where its mirror image would reach (``letters_between``), was cut on that side. It is read again:
recognised out to its mirror (no detection, cheap), or, on another sample than the one first
read, by reading the band there and taking the line found on its row within that span. The wider
reading replaces the line only when it holds the line's words and more on the cut side
(``continued``), in the same script, no less sure than the line by more than
``CaptionOptions.widen_sure``. Lines of other scripts are read again the same way, by the engine
that read them (PP-OCRv5, then Tesseract: ``pipelines.ocr.scripts``), their words compared in
reading order (the left side of a right-to-left line is its end); flagged lines stay as read.
Over the mandelbrot zoom's bright pink and yellow, the detector ended "Проверьте результат ещё
раз" at "тат ещё раз", "Δοκιμάστε ξανά αργότερα" at "αργότερα".

A CJK line that is not cut is recognised alone once as the band is read (``alone``): read with
the band, a thin character at a line's end can be lost though the detector's box holds it
(rvo_leon_zh_en's 一个还是两个 read 个还是两个, and recognised alone whole). The same rule
takes the reading alone only when it holds the line and more at either end.

A CJK line that pauses between two phrases (a wide blank in its text layer, ``spaced``) gets a
space there: recognised whole, the recogniser filled the pause with a mark or dropped it
(rvo_coldwar_zh's 耶稣也留不住他 我说的 read 耶稣也留不住他•我说的). Each side is recognised alone, and
when the sides hold the line's characters, what the line read at the pause becomes one space.
"""

from __future__ import annotations

import itertools
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from pipelines.ocr.caption_edges import line_crop
from pipelines.ocr.caption_layer import inner_gaps, letters_between, thin_bright
from pipelines.ocr.caption_options import CaptionOptions
from pipelines.ocr.engines import OcrEngine, Reading
from pipelines.ocr.frames import PixelBox
from pipelines.ocr.scripts import script_of
from pipelines.ocr.tracking import letters_and_digits

log = logging.getLogger(__name__)

CJK = "CJK"
RIGHT_TO_LEFT = frozenset({"ARABIC", "HEBREW"})
"""Scripts (as ``script_of`` names them) written right to left: a line cut on its left lacks its end."""


def line_script(line: Reading) -> str:
    """The script of a line's letters: as the engine said, else from its text."""
    return line.script or script_of(line.text)


BLANK_STROKES = 0.3
"""A pause between phrases holds no stroke brighter than this share of the line's letters' (their
top-hat: ``thin_bright``): a faint caption's layer can miss a stroke, whose pixels are still
brighter than that (svocr_drama_faint_zh: 0.73 and 1.17 in two such gaps of 你跑不掉了, where
pauses and the blank after a ， are 0.02-0.1)."""


def _blank_gaps(line: np.ndarray, height: int, gaps: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Those of ``gaps`` (columns of a caption ``line`` crop) that hold no stroke
    (``BLANK_STROKES``); two columns at either side of a gap are left out (the letters' edges)."""
    if not gaps:
        return []
    strokes = cv2.cvtColor(thin_bright(line, height), cv2.COLOR_BGR2GRAY).max(axis=0)
    bright = BLANK_STROKES * float(np.percentile(strokes, 90))
    inside = [strokes[max(0, a + 2):max(0, b - 2)] for a, b in gaps]
    return [g for g, cols in zip(gaps, inside, strict=True) if cols.size and float(cols.max()) < bright]


def _marks_pause(ch: str) -> bool:
    """Whether ``ch`` is a stop, comma or other mark of punctuation (a full-width ， or ？ ends with
    a blank half, no pause of its own)."""
    return bool(ch) and unicodedata.category(ch).startswith("P")


def _spaced_after(text: str, counts: list[int]) -> str:
    """``text`` with what stands between two of its letters (a mark, spaces or nothing) made one
    space after each of ``counts`` letters (``letters_and_digits``); the letters stay as read."""
    out: list[str] = []
    wanted, seen, i = set(counts), 0, 0
    while i < len(text):
        out.append(text[i])
        held = len(letters_and_digits(text[i]))
        seen, i = seen + held, i + 1
        if held and seen in wanted:
            wanted.discard(seen)
            j = i
            while j < len(text) and not letters_and_digits(text[j]):
                j += 1
            if j < len(text):
                out.append(" ")
                i = j
    return "".join(out)


def continued(line: str, wider: str, right: bool, characters: bool = False) -> bool:
    """Whether ``wider`` reads ``line`` and more at its end (``right``: the right of a left-to-right
    line) or at its start, in reading order: in a spaced script, the line's words are the wider
    reading's, but for the word at the side where it was cut, which may be a part of one ("he
    dialog" cut from "the dialog"); ``characters``: a script without spaces (CJK), compared
    character by character."""
    if characters:
        old, new = list(letters_and_digits(line)), list(letters_and_digits(wider))
    else:
        old = [w for w in map(letters_and_digits, line.split()) if w]
        new = [w for w in map(letters_and_digits, wider.split()) if w]
    if not old or len(new) < len(old) or len("".join(new)) <= len("".join(old)):
        return False
    if not right:
        old, new = [w[::-1] for w in reversed(old)], [w[::-1] for w in reversed(new)]
    # ``old`` now ends where it was cut: its last word may be the start of the wider one's.
    *whole, cut = old
    at_cut = new[len(whole)]
    return new[:len(whole)] == whole and (at_cut == cut or (not characters and at_cut.startswith(cut)))


@dataclass
class Widener:
    """Reads a band's cut caption lines again (see the module doc).

    Attributes:
        engine: the OCR engine (``read_line`` recognises a crop without detection).
        options: the caption options (``widen_off``, ``widen_sure``, ``min_confidence``).
        read_band: the band crop's caption lines, read with detection (``CaptionTracker.band_read``).
        centre: the frame's centre in the band crop's columns.
        left: the first column of the crop whose text layer is followed...
        scale: ...and the layer's scale.
        recognised: cut lines recognised again so far; wider: lines replaced by a wider reading;
            alone_reads: CJK lines recognised alone (``alone``); spaced_reads: their sides
            recognised alone at a pause between phrases, and spaced_lines: lines so spaced (``spaced``).
    """

    engine: OcrEngine
    options: CaptionOptions
    read_band: Callable[[np.ndarray], list[Reading]]
    centre: float
    left: int
    scale: float
    recognised: int = 0
    wider: int = 0
    alone_reads: int = 0
    spaced_reads: int = 0
    spaced_lines: int = 0

    def cut(self, mask: np.ndarray, line: Reading) -> tuple[tuple[int, int], bool] | None:
        """The columns out to where ``line`` would end if centred (its own and the rest), and
        whether it was cut on the right, when it is off the centre with letters there."""
        x0, y0, x1, y1 = line.box
        off = (x0 + x1) / 2 - self.centre
        if not line_script(line) or line.flags or abs(off) < self.options.widen_off * (y1 - y0):
            return None
        rest = (x1, round(2 * self.centre - x0)) if off < 0 else (round(2 * self.centre - x1), x0)
        if not letters_between(mask, line.box, rest, self.left, self.scale):
            return None
        return (min(x0, rest[0]), max(x1, rest[1])), off < 0

    def widened(self, crop: np.ndarray, mask: np.ndarray, lines: list[Reading]) -> list[Reading]:
        """``lines`` as read on ``crop`` (band crop; ``mask`` its text layer), each cut one
        recognised again out to its mirror (the detector already read this crop)."""
        out = list(lines)
        for k, line in enumerate(lines):
            found = self.cut(mask, line)
            if found is not None:
                out[k] = self.recognise(crop, line, *found) or line
            elif line_script(line) == CJK and not line.flags:
                out[k] = self.alone(crop, line) or line
                out[k] = self.spaced(crop, mask, out[k]) or out[k]
        return out

    def spaced(self, crop: np.ndarray, mask: np.ndarray, line: Reading) -> Reading | None:
        """A CJK ``line`` whose text layer has a pause between two phrases (``phrase_gap``) written
        with a space there: each side recognised alone (cut at the middle of the pause), taken when
        the sides hold the line's characters, the pause's own reading aside (the recogniser reads
        a pause as "•", "，" or nothing: rvo_coldwar_zh's 耶稣也留不住他 我说的 came out 耶稣也留不住他•我说的)."""
        gap = self.options.phrase_gap
        gaps = inner_gaps(mask, line.box, self.left, self.scale, gap) if gap > 0 else []
        x0, y0, x1, y1 = line.box
        h = y1 - y0
        gaps = [(a + x0, b + x0) for a, b in _blank_gaps(crop[y0:y1, x0:x1], h, [(a - x0, b - x0) for a, b in gaps])]
        if not gaps or len(line.text.split()) == len(gaps) + 1:  # none, or spaced at each already
            return None
        cuts = [x0 - h // 3] + [(a + b) // 2 for a, b in gaps] + [x1 + h // 3]
        top, bottom = max(0, y0 - h // 6), min(crop.shape[0], y1 + h // 6)
        parts = [self.engine.read_line(crop[top:bottom, max(0, a):min(crop.shape[1], b)])[0].strip()
                 for a, b in itertools.pairwise(cuts)]
        self.spaced_reads += len(parts)
        if not all(parts) or letters_and_digits("".join(parts)) != letters_and_digits(line.text):
            log.debug("caption line %r not spaced at its pauses %s: its sides read %s", line.text, gaps, parts)
            return None
        # A gap beside a stop or a comma is the mark's (a full-width ， or ？ ends with a blank half);
        # the others are pauses, after as many letters as the sides before them hold.
        pauses, letters = [], 0
        for before, after in itertools.pairwise(parts):
            letters += len(letters_and_digits(before))
            if not (_marks_pause(before[-1]) or _marks_pause(after[0])):
                pauses.append(letters)
        text = _spaced_after(line.text, pauses)
        if text == line.text:
            return None
        log.debug("caption line %r spaced at its pauses %s: %r (its sides read %s)", line.text, gaps, text, parts)
        self.spaced_lines += 1
        return replace(line, text=text)

    def alone(self, crop: np.ndarray, line: Reading) -> Reading | None:
        """A CJK ``line`` recognised alone (its box a little wider, no detection), when that reads
        it and more at either end: read with the band, a thin character at the line's start (一 of
        一个) can be lost though the detector's box holds it."""
        self.alone_reads += 1
        text, confidence = self.engine.read_line(line_crop(crop, line.box))
        return self.accept(line, text, confidence, line.box, False) or self.accept(line, text, confidence, line.box, True)

    def widened_at(self, crop: np.ndarray, mask: np.ndarray, lines: list[Reading]) -> list[Reading]:
        """``lines`` (read on another sample) looked at again on ``crop``: where one is cut, the
        band is read there and a line found on its row within its span, one line high and not
        flagged, replaces it when it would as a wider reading (``accept``), or, where none does,
        it is recognised out to its mirror."""
        cuts = {k: found for k, line in enumerate(lines) if (found := self.cut(mask, line)) is not None}
        if not cuts:
            return lines
        band = self.read_band(crop)
        out = list(lines)
        for k, (span, right) in cuts.items():
            line = lines[k]
            h = line.box[3] - line.box[1]
            # One line of text on the line's row, within its span (not run on into a logo), unflagged.
            on_row = [f for f in band if not f.flags and f.box[3] - f.box[1] <= 1.5 * h
                      and line.box[1] <= (f.box[1] + f.box[3]) / 2 <= line.box[3]
                      and span[0] - h / 2 <= f.box[0] and f.box[2] <= span[1] + h / 2]
            wider = next((w for f in on_row if (w := self.accept(line, f.text, f.confidence, f.box, right))), None)
            out[k] = wider or self.recognise(crop, line, span, right) or line
        return out

    def recognise(self, crop: np.ndarray, line: Reading, span: tuple[int, int], right: bool) -> Reading | None:
        """``line`` recognised over the columns ``span`` of ``crop``, when that reads it and more."""
        box = (max(0, span[0]), line.box[1], min(crop.shape[1], span[1]), line.box[3])
        self.recognised += 1
        text, confidence = self.engine.read_line(line_crop(crop, box))
        return self.accept(line, text, confidence, box, right)

    def accept(self, line: Reading, text: str, confidence: float, box: PixelBox, right: bool) -> Reading | None:
        """The wider reading ``text`` at ``box`` as the line, when it continues it on the cut
        side, in its script, about as sure (see the module doc); else None."""
        script = line_script(line)
        at_end = right != (script in RIGHT_TO_LEFT)  # in reading order
        if (confidence < max(self.options.min_confidence, line.confidence - self.options.widen_sure)
                or script_of(text) != script or not continued(line.text, text, at_end, script == CJK)):
            return None
        log.debug("caption line %r read wider as %r (%.2f) at %s", line.text, text, confidence, box)
        self.wider += 1
        return replace(line, box=box, text=text, confidence=min(confidence, line.confidence))
