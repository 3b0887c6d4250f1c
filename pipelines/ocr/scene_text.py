"""What a translator needs of a video's on-screen text events: each scene's texts once.

Apart from them: icons and marks read as text (``glyph``), and the other readings of a text
(``canonical``). The tracker joins the readings of a line while it stays one detection at one
place, but a line read again after a change beside it may come back split or joined otherwise,
cut at another letter, or with other spaces and stops ("Ln 1, .…", "Ln 1,.", "Ln1,…" for one
status bar field), and text typed or streamed in is read part by part ("The code 1544-35EF ha",
then the whole sentence). Each such reading stays an event of its own (what the screen showed
then), but a translator needs the text once:

- readings with the same letters and digits in the same order (``letters_and_digits``: they differ
  only in spaces, stops and signs) are one text, standing as the reading shown longest;
- a reading whose letters and digits begin another's of its scene, at the same place (the same
  row, the same left edge), is a part of it (typed, streamed in, cut short), standing as the
  longer.

Digits are letters here: "Mem: 329.39" and "Mem: 346.85" stay two texts, and so do "Question 1"
and "Question 10" (a number is not a part of a longer one; a number cut short stays a text too).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pipelines.ocr.tracking import Box, TextEvent, letters_and_digits, normalise_text, overlap, reading_order

# A part shorter than this (letters and digits) is not taken for the beginning of a longer text:
# "In" begins many lines.
MIN_PART_CHARS = 3
# Two readings are at one place when their rows overlap by this share of the lower one's height
# and their left edges are within that height (or this share of the frame's width) of each other.
SAME_ROW = 0.5
LEFT_EDGE_SLACK = 0.01


@dataclass(frozen=True)
class SceneText:
    """The unique texts of one scene, in reading order; icons and marks read as text ("C", "三",
    "8S": ``glyph``) apart from the others, in ``glyphs``; the other readings of a text, each
    standing as the one in ``texts`` (``canonical``), in ``variants``."""

    scene: int
    start: float
    end: float
    texts: tuple[str, ...]
    glyphs: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()


_IDEOGRAPH = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")  # CJK, kana, Hangul
_LETTERS = re.compile(r"[^\W\d_]{2}")  # two letters in a row (two CJK characters included)


def has_words(text: str) -> bool:
    """Whether ``text`` has something to translate: two letters in a row, or a character of a
    script written without spaces (Chinese, Japanese, Korean). Numbers, signs and single letters
    have not: on screens they are page numbers, icons read as "C" or "0", shortcuts ("⌘S" read as
    "8S")."""
    return _LETTERS.search(text) is not None or _IDEOGRAPH.search(text) is not None


def lone_ideograph(text: str) -> bool:
    """Whether ``text``'s only word is one CJK character ("三", "日 M"): a word on a screen written
    in CJK, an icon read as one on a screen written in other scripts."""
    return len(_IDEOGRAPH.findall(text)) == 1 and _LETTERS.search(text) is None


def _stray_ideograph(text: str, scene_texts: Sequence[str]) -> bool:
    """A lone CJK character where no other text of the scene has two or more (a line of CJK text;
    not "ごjupyterhub", an icon before a Latin word)."""
    return lone_ideograph(text) and not any(len(_IDEOGRAPH.findall(t)) >= 2 for t in scene_texts if t != text)


def translatable(text: str, scene_texts: Sequence[str]) -> bool:
    """Whether a screen text, among its scene's texts, is one a translator needs to translate: it
    has words (``has_words``), and not only one CJK character on a screen without CJK text."""
    return has_words(text) and not _stray_ideograph(text, scene_texts)


def glyph(text: str, scene_texts: Sequence[str]) -> bool:
    """Whether a screen text, among its scene's texts, is an icon or a mark read as text: one or
    two characters and no word ("C", "0", "Δ", "⌘S" read as "8S"), or one CJK character on a screen
    without CJK text ("三", "日"). Numbers and times ("168", "12:30") are not: they are on screen."""
    if not has_words(text):
        return len("".join(text.split())) <= 2
    return _stray_ideograph(text, scene_texts)


def canonical(events: Sequence[TextEvent]) -> list[int]:
    """For each event, the index of the event whose reading stands for its text (its own index
    when it is that reading); events of different scenes never stand for each other. Only the
    readings of a part that are at its whole's place stand as the whole: the same word elsewhere
    (a button "Open" beside a line typed "Open" then "Open the file") stays a text."""
    out = list(range(len(events)))
    by_scene: dict[int, list[int]] = {}
    for i, event in enumerate(events):
        by_scene.setdefault(event.scene, []).append(i)
    for indices in by_scene.values():
        groups: dict[str, list[int]] = {}
        for i in indices:
            key = letters_and_digits(events[i].text)
            if key:
                groups.setdefault(key, []).append(i)
        done: list[str] = []
        for key in sorted(groups, key=len, reverse=True):  # longer texts first: a part finds its whole
            wholes = sorted((k for k in done if _begins(key, k)), key=len, reverse=True)
            alone = []
            for i in groups[key]:
                whole = next((j for k in wholes for j in groups[k] if _at_one_place(events[i], events[j])), None)
                if whole is None:
                    alone.append(i)
                else:
                    out[i] = out[whole]
            if alone:
                kept = max(alone, key=lambda i: (_shown(events, alone, events[i].text), -events[i].start,
                                                 events[i].text))
                for i in alone:
                    out[i] = kept
            done.append(key)
    return out


def _begins(part: str, whole: str) -> bool:
    """Whether the letters and digits ``part`` begin ``whole`` as a part of it, not as another
    number ("Question 1" does not begin "Question 10")."""
    return (len(part) >= MIN_PART_CHARS and len(whole) > len(part) and whole.startswith(part)
            and not (part[-1].isdigit() and whole[len(part)].isdigit()))


def _shown(events: Sequence[TextEvent], members: list[int], text: str) -> float:
    """Seconds on screen of the members read exactly ``text``."""
    return sum(events[i].end - events[i].start for i in members if events[i].text == text)


def _at_one_place(a: TextEvent, b: TextEvent) -> bool:
    """Whether two readings are on one row and start at one edge."""
    height = min(a.box[3] - a.box[1], b.box[3] - b.box[1])
    rows = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
    return height > 0 and rows >= SAME_ROW * height and abs(a.box[0] - b.box[0]) <= max(height, LEFT_EDGE_SLACK)


def unique_text(events: Sequence[TextEvent]) -> list[SceneText]:
    """Each scene's distinct texts in reading order, each once as the reading that stands for it
    (``canonical``): what a translator needs; apart from them the icons and marks read as text
    (``glyph``) and the texts' other readings."""
    ordered = reading_order(events)
    stands = canonical(ordered)
    by_scene: dict[int, list[int]] = {}
    for i, event in enumerate(ordered):
        by_scene.setdefault(event.scene, []).append(i)
    result: list[SceneText] = []
    for scene, indices in sorted(by_scene.items()):
        seen: set[str] = set()
        texts: list[str] = []
        for i in indices:
            text = ordered[stands[i]].text
            key = normalise_text(text)
            if key and key not in seen:
                seen.add(key)
                texts.append(text)
        variants: list[str] = []
        for i in indices:
            key = normalise_text(ordered[i].text)
            if key and key not in seen:
                seen.add(key)
                variants.append(ordered[i].text)
        glyphs = tuple(t for t in texts if glyph(t, texts))
        result.append(SceneText(scene, min(ordered[i].start for i in indices), max(ordered[i].end for i in indices),
                                tuple(t for t in texts if t not in glyphs), glyphs, tuple(variants)))
    return result


# An on-screen event is a caption's reading when this much of its box lies in a caption band, it is
# on screen while the caption is (give or take CAPTION_SLACK_S seconds) and its text is this much
# the caption's (RapidFuzz's partial ratio, 0-1: one line of a two-line caption, a reading a letter off).
CAPTION_IN_BAND = 0.5
CAPTION_SLACK_S = 0.5
CAPTION_SAME_TEXT = 0.8


class TimedText(Protocol):
    """Text shown for a time: a caption as ``without_captions`` needs it (``CaptionCue``, a
    translation's ``SourceCue``), an on-screen text event."""

    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def text(self) -> str: ...


def without_captions(events: Sequence[TextEvent], captions: Sequence[TimedText],
                     bands: Sequence[Box]) -> list[TextEvent]:
    """The on-screen events that are not a reading of a burned-in caption given as such (the OCR
    stage's ``hardsubs``): its events hold the caption band's lines too, and a translator would
    otherwise get each caption twice (as a caption and as screen text). A line in a band that no
    caption holds (a caption the tracker missed, a sign in the band) stays screen text: nothing
    read is lost."""
    if not captions or not bands:
        return list(events)
    from rapidfuzz import fuzz  # ~30 ms of import that the API's start-up would pay through OcrOptions

    texts = [normalise_text(c.text) for c in captions]

    def is_caption(e: TextEvent) -> bool:
        if not any(overlap(e.box, b) >= CAPTION_IN_BAND for b in bands):
            return False
        text = normalise_text(e.text)
        return bool(text) and any(
            c.start - CAPTION_SLACK_S < e.end and e.start < c.end + CAPTION_SLACK_S
            and fuzz.partial_ratio(text, t) >= 100 * CAPTION_SAME_TEXT
            for c, t in zip(captions, texts, strict=True)
        )

    return [e for e in events if not is_caption(e)]
