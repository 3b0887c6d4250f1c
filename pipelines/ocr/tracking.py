"""Per-frame text detections -> timed on-screen text events.

The OCR stage reads sampled frames; this module decides which readings in consecutive samples
are the same piece of text on screen and turns each into one ``TextEvent`` with a start, an end,
a box, its best reading and a confidence. Rules:

- Same or nearly the same text (normalised edit distance) at an overlapping position in
  consecutive samples is one event. Text that moves without changing (scrolling) stays one
  event while it moves by less than ``max_shift`` of the frame between samples.
- A miss of up to ``max_gap`` samples does not split an event (OCR flicker).
- Text being typed or revealed ("Cli" -> "Click" -> "Click Save") is one event that keeps its
  final form: a reading that is a prefix of a later reading of the same event is superseded.
- Events come in reading order per scene (top to bottom, then left to right).

Also here: the events' WebVTT track (timestamps and escaping from ``pipelines.subtitle_formats``,
the one writer of both). What a translator needs of them, each scene's texts once, is
``pipelines.ocr.scene_text``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from pipelines.subtitle_formats import format_timestamp, vtt_escape

Box = tuple[float, float, float, float]
"""A box as (left, top, right, bottom), normalised to the frame (0..1)."""

SCRIPT_UNCERTAIN = "script-uncertain"
"""A reading's flag: its letters may be another script's, read as Latin look-alikes, and no
installed recogniser could say (``pipelines.ocr.scripts``); carried by the event it becomes."""

CUT = "cut"
"""A reading's flag: its text runs into an edge (a panel or bar over it, the frame's border), so
part of it is hidden and the reading may be wrong (``pipelines.ocr.cut``); carried by its event."""


@dataclass(frozen=True)
class Detection:
    """One line of text read in one frame: normalised box, text, the engine's confidence, the
    script its letters are in (when known) and the reading's flags (``script-uncertain``: see
    ``pipelines.ocr.scripts``)."""

    box: Box
    text: str
    confidence: float
    script: str = ""
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class FrameDetections:
    """Everything read at one sample time. ``new_scene`` marks a cut (most of the frame changed).

    Every sample lists all the text on screen, also where it was not read again because that part
    of the frame did not change.
    """

    time: float
    detections: tuple[Detection, ...]
    new_scene: bool = False


@dataclass(frozen=True)
class TextEvent:
    """A piece of on-screen text with its time span (seconds), place, best reading and scene, and
    that reading's script and flags (``script-uncertain``: maybe another script read as Latin
    look-alikes, to be checked against the video)."""

    start: float
    end: float
    box: Box
    text: str
    confidence: float
    scene: int
    script: str = ""
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrackingOptions:
    """How readings are joined into events.

    Attributes:
        min_similarity: 1 - normalised edit distance at or above which two readings at the same
            place are the same text (0.7: about one slip in three letters).
        min_overlap: intersection over the smaller box at or above which two boxes overlap.
        max_gap: samples an event may be missing and still continue (1: a one-sample miss).
        max_shift: largest vertical move (fraction of the frame height) between samples for text
            that moved without changing (scrolling).
        scroll_similarity: similarity needed to follow moved text (stricter than in place).
    """

    min_similarity: float = 0.7
    min_overlap: float = 0.3
    max_gap: int = 1
    max_shift: float = 0.35
    scroll_similarity: float = 0.85


@dataclass
class _Track:
    scene: int
    first: float
    last: float
    box: Box
    text: str
    last_seen_sample: int
    readings: dict[str, list[float]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    marks: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)  # text -> (script, flags)

    def add(self, det: Detection, time: float, sample: int) -> None:
        self.last = time
        self.last_seen_sample = sample
        self.box = det.box
        self.text = det.text
        if det.text not in self.readings:
            self.readings[det.text] = []
            self.marks[det.text] = (det.script, det.flags)
        self.order.append(det.text)
        self.readings[det.text].append(det.confidence)


@functools.lru_cache(maxsize=65536)
def normalise_text(text: str) -> str:
    """Case-folded, accent-preserving, whitespace-collapsed text used for comparisons."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()


def letters_and_digits(text: str) -> str:
    """``normalise_text`` less everything but letters and digits: two readings of one line that
    differ only in spaces, stops and signs ("Ln 1, .…", "Ln1,…") compare equal."""
    return "".join(ch for ch in normalise_text(text) if ch.isalnum())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings (RapidFuzz's, in C: the tracker compares every
    reading with every open track, 8 % of the OCR stage's CPU when it was Python's)."""
    return int(_levenshtein()(a, b))


@functools.cache
def _levenshtein() -> Callable[[str, str], int]:
    # Imported on first use: ~30 ms that the API's start-up paid through the options it imports
    # (pipelines.asr -> vocabulary -> this module's constants).
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance


def similarity(a: str, b: str) -> float:
    """1 - normalised edit distance of the normalised texts (1.0: same text)."""
    na, nb = normalise_text(a), normalise_text(b)
    if not na and not nb:
        return 1.0
    return 1.0 - edit_distance(na, nb) / max(len(na), len(nb))


def _is_growth(old: str, new: str) -> bool:
    """Whether ``new`` is ``old`` typed further or revealed further (or the reverse)."""
    na, nb = normalise_text(old), normalise_text(new)
    short, long = (na, nb) if len(na) <= len(nb) else (nb, na)
    return bool(short) and long.startswith(short)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (normalised or in pixels)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def overlap(a: Box, b: Box) -> float:
    """Intersection area over the smaller box's area (1.0 when one box holds the other)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return (w * h) / smaller if smaller > 0 else 0.0


def _horizontal_overlap(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    narrower = min(a[2] - a[0], b[2] - b[0])
    return max(0.0, w) / narrower if narrower > 0 else 0.0


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d+", text)


def _match_score(track: _Track, det: Detection, options: TrackingOptions, cut: bool = False) -> float:
    """How well a reading continues a track; 0 when it does not.

    Numbers must agree: "Step 1" and "Step 2", or two timecodes, are different texts however
    close their spelling (unless one was typed on into the other). Across a cut (``cut``) only
    the same text continues: a new slide's "Title B" where "Title A" was is new text.
    """
    ov = overlap(track.box, det.box)
    same = track.text == det.text or normalise_text(track.text) == normalise_text(det.text)
    if cut:
        return 3.0 if same and ov >= options.min_overlap else 0.0
    if same and ov > 0:  # the common case (an unchanged line): no edit distance needed
        return 2.0 + ov
    shift = abs((det.box[1] + det.box[3]) - (track.box[1] + track.box[3])) / 2
    scrolled = shift <= options.max_shift and _horizontal_overlap(track.box, det.box) >= 0.5
    if ov < options.min_overlap and not scrolled:
        return 0.0
    old_numbers, new_numbers = _numbers(track.text), _numbers(det.text)
    # Only when both have numbers: a digit in one reading alone is usually a misread letter (0/O).
    if old_numbers and new_numbers and old_numbers != new_numbers and not _is_growth(track.text, det.text):
        return 0.0
    sim = 1.0 if same else similarity(track.text, det.text)
    if ov >= options.min_overlap:
        if sim >= options.min_similarity:
            return 1.0 + sim + ov
        if _is_growth(track.text, det.text):
            return 1.0 + ov
        return 0.0
    if sim >= options.scroll_similarity:
        return sim - shift
    return 0.0


def _best_reading(track: _Track) -> tuple[str, float]:
    """The final form of typed/revealed text, else the reading seen most (weighted by confidence)."""
    texts = list(track.readings)
    normed = {t: normalise_text(t) for t in texts}
    # A reading that a later, longer reading extends was an intermediate state of typing.
    kept = [
        t
        for t in texts
        if not any(o != t and len(normed[o]) > len(normed[t]) and normed[o].startswith(normed[t])
                   for o in texts)
    ] or texts
    best = max(kept, key=lambda t: (sum(track.readings[t]), track.order[::-1].index(t) * -1))
    confs = track.readings[best]
    return best, sum(confs) / len(confs)


def track_text(
    frames: Sequence[FrameDetections], period: float, options: TrackingOptions | None = None
) -> list[TextEvent]:
    """Join per-sample detections into timed events, in reading order per scene.

    Args:
        frames: one entry per sample, in time order (samples with nothing read included).
        period: seconds between samples; an event ends one period after its last sample.
        options: matching thresholds.
    """
    tracker = TextTracker(period, options)
    tracker.feed(frames)
    return tracker.events()


class TextTracker:
    """``track_text`` fed a few samples at a time: ``events()`` is at any moment what
    ``track_text`` gives for all the samples fed so far, at the cost of the new samples alone
    (the OCR stage publishes its events every few seconds of a long video this way)."""

    def __init__(self, period: float, options: TrackingOptions | None = None) -> None:
        """``period``: seconds between samples; ``options``: matching thresholds."""
        self.period = period
        self.options = options or TrackingOptions()
        self._active: list[_Track] = []
        self._ended: list[TextEvent] = []  # the events of tracks that can grow no more, as they ended
        self._scene = 0
        self._index = 0
        self._previous: tuple[Detection, ...] | None = None
        self._assigned: list[tuple[_Track, Detection]] = []

    def feed(self, frames: Iterable[FrameDetections]) -> None:
        """The next samples, in time order (samples with nothing read included)."""
        options = self.options
        for frame in frames:
            index = self._index
            cut = frame.new_scene and index > 0
            if cut:
                # Text that stays through a cut (a running header) continues its event; only new
                # events belong to the new scene.
                self._scene += 1
            if not cut and frame.detections == self._previous:
                # Nothing was read again (the usual case): each reading continues its track.
                for track, det in self._assigned:
                    track.add(det, frame.time, index)
            else:
                self._assigned = _assign(self._active, frame, index, self._scene, cut, options)
                self._previous = frame.detections
            still: list[_Track] = []
            for track in self._active:
                if index - track.last_seen_sample <= options.max_gap:
                    still.append(track)
                else:
                    self._ended.append(self._event(track))
            self._active = still
            self._index += 1

    def events(self) -> list[TextEvent]:
        """The events of the samples fed so far, in reading order per scene."""
        return reading_order(self._ended + [self._event(track) for track in self._active])

    def _event(self, track: _Track) -> TextEvent:
        text, confidence = _best_reading(track)
        script, flags = track.marks[text]
        return TextEvent(start=track.first, end=track.last + self.period, box=track.box, text=text,
                         confidence=round(confidence, 4), scene=track.scene, script=script, flags=flags)


def _assign(
    active: list[_Track], frame: FrameDetections, index: int, scene: int, cut: bool, options: TrackingOptions
) -> list[tuple[_Track, Detection]]:
    """Give each detection the track it continues best (greedy by score), or a new track."""
    pairs = sorted(
        (
            (score, ti, di)
            for ti, track in enumerate(active)
            for di, det in enumerate(frame.detections)
            if (score := _match_score(track, det, options, cut)) > 0
        ),
        reverse=True,
    )
    used_tracks: set[int] = set()
    used_dets: set[int] = set()
    assigned: list[tuple[_Track, Detection]] = []
    for _, ti, di in pairs:
        if ti in used_tracks or di in used_dets:
            continue
        used_tracks.add(ti)
        used_dets.add(di)
        active[ti].add(frame.detections[di], frame.time, index)
        assigned.append((active[ti], frame.detections[di]))
    for di, det in enumerate(frame.detections):
        if di not in used_dets and det.text.strip():
            track = _Track(scene, frame.time, frame.time, det.box, det.text, index)
            track.add(det, frame.time, index)
            active.append(track)
            assigned.append((track, det))
    return assigned


def reading_order(events: Iterable[TextEvent]) -> list[TextEvent]:
    """Sort events by scene, then in lines top to bottom, then left to right, then by time."""
    by_scene: dict[int, list[TextEvent]] = {}
    for event in events:
        by_scene.setdefault(event.scene, []).append(event)
    ordered: list[TextEvent] = []
    for scene in sorted(by_scene):
        items = sorted(by_scene[scene], key=lambda e: (e.box[1], e.box[0]))
        lines: list[list[TextEvent]] = []
        for event in items:
            centre = (event.box[1] + event.box[3]) / 2
            if lines:
                ref = lines[-1][0].box
                if ref[1] <= centre <= ref[3]:
                    lines[-1].append(event)
                    continue
            lines.append([event])
        for line in lines:
            ordered.extend(sorted(line, key=lambda e: (e.box[0], e.start)))
    return ordered


def to_webvtt(events: Sequence[TextEvent]) -> str:
    """A WebVTT track of the on-screen text: one cue per event, placed where the text is.

    Cue settings put each cue at its text's vertical position (``line:NN%``) and its left edge
    (``position:NN%,line-left``), so a player can draw it over, or next to, the original.
    """
    lines = ["WEBVTT", ""]
    for number, event in enumerate(sorted(events, key=lambda e: (e.start, e.box[1], e.box[0])), 1):
        if event.end <= event.start:
            continue
        text = vtt_escape(" ".join(event.text.split()))
        line_pct = min(100.0, max(0.0, event.box[1] * 100))
        pos_pct = min(100.0, max(0.0, event.box[0] * 100))
        lines.append(f"ocr-{number}")
        lines.append(
            f"{format_timestamp(event.start)} --> {format_timestamp(event.end)} "
            f"line:{line_pct:.1f}% position:{pos_pct:.1f}%,line-left align:left"
        )
        lines.append(text)
        lines.append("")
    return "\n".join(lines)
