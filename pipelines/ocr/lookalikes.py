"""On-screen text read as Latin look-alikes in some samples and in its own script in others.

PP-OCRv5 has no Cyrillic or Greek: where Tesseract cannot read a line sure (a name over moving
footage, some samples), the reading stays PP-OCRv5's look-alikes, flagged ``script-uncertain``
("Ye6HbiM kaHan"), and where it can, the line is read in its script ("Учебный канал"). The two
readings make two events of one text at one place. ``settle_lookalikes`` gives such a flagged
event the sure reading found at its place when that reading, written in the Latin letters it
looks like (``as_latin``), is the flagged one, and joins the events of one text that then touch.
A flagged event with no such reading beside it stays as it was: flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pipelines.ocr.tracking import SCRIPT_UNCERTAIN, TextEvent, iou, similarity

# Cyrillic and Greek letters as PP-OCRv5 reads them in Latin (and digits): the shapes alike.
_LATIN = str.maketrans({
    **dict(zip("АВЕКМНОРСТУХЅІЈ", "ABEKMHOPCTYXSIJ", strict=True)),
    **dict(zip("авекмнорстухѕіј", "aBekMHopcTyxsij", strict=True)),
    "Б": "6", "б": "6", "З": "3", "з": "3", "Э": "3", "э": "3", "Ч": "4", "ч": "4", "П": "n", "п": "n",
    "Л": "n", "л": "n", "И": "u", "и": "u", "Й": "u", "й": "u", "Г": "r", "г": "r", "Ь": "b", "ь": "b",
    "Ы": "bI", "ы": "bi", "Ш": "W", "ш": "w", "Щ": "W", "щ": "w", "Ж": ">K", "ж": ">k", "Д": "A", "д": "A",
    "Я": "R", "я": "R", "Ю": "IO", "ю": "io", "Ё": "E", "ё": "e", "Є": "E", "є": "e", "Ї": "I", "ї": "i",
    **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEZHIKMNOPTYX", strict=True)),
    **dict(zip("αβεικνοτυχωημρ", "aBeikvotuxwnup", strict=True)),
})

SAME_PLACE = 0.5
"""Boxes overlapping this much (intersection over union) are one place: a sure reading's box and
a look-alike one's differ by the letters each found."""

ALIKE = 0.6
"""Similarity (1 - normalised edit distance, case left out) at or above which a flagged reading
is the sure one written in look-alikes ("ye6hbim kahan" and "y4e6hbiu kahan": 0.71)."""


def as_latin(text: str) -> str:
    """``text`` with its Cyrillic and Greek letters written as the Latin letters (or digits) they
    look like ("Учебный канал" -> "Y4e6Hbiu kaHan")."""
    return text.translate(_LATIN)


def settle_lookalikes(events: Sequence[TextEvent], period: float) -> list[TextEvent]:
    """``events`` with each flagged Latin event given the sure Cyrillic or Greek reading at its
    place that it is written in look-alikes (the most alike; the nearest in time on a tie), and
    the events of one scene, text and place that then touch (``period``: a sample's step) joined."""
    sure = [e for e in events if not e.flags and e.script in ("CYRILLIC", "GREEK")]
    out: list[TextEvent] = []
    given: set[str] = set()  # the sure readings given to flagged events
    for e in events:
        if SCRIPT_UNCERTAIN in e.flags and e.script == "LATIN" and sure:
            flagged = e.text.lower()
            scored = [(similarity(flagged, as_latin(f.text).lower()), -abs(f.start - e.start), f) for f in sure
                      if iou(e.box, f.box) >= SAME_PLACE]
            best = max(scored, key=lambda s: s[:2], default=None)
            if best is not None and best[0] >= ALIKE:
                f = best[2]
                e = replace(e, text=f.text, confidence=f.confidence, script=f.script, flags=f.flags)
                given.add(f.text)
        out.append(e)
    return _joined(out, period, given) if given else out


def _joined(events: list[TextEvent], period: float, texts: set[str]) -> list[TextEvent]:
    """Events of one of ``texts``, of one scene and at one place, that overlap or touch in time,
    as one (at the first one's place in the order)."""

    def touch(a: TextEvent, b: TextEvent) -> bool:
        return (a.scene == b.scene and a.text == b.text and iou(a.box, b.box) >= SAME_PLACE
                and b.start <= a.end + period + 1e-6 and a.start <= b.end + period + 1e-6)

    out: list[TextEvent] = []
    for e in events:
        k = next((k for k, o in enumerate(out) if touch(o, e)), None) if e.text in texts else None
        if k is None:
            out.append(e)
        else:
            o = out[k]
            out[k] = replace(o, start=min(o.start, e.start), end=max(o.end, e.end),
                             confidence=max(o.confidence, e.confidence))
    return out
