"""Which on-screen text is screen content (a slide, code, a UI) and which is not.

OCR reads every line on screen. Two kinds say nothing about a slide or a UI, and are left out of
the on-screen text the classifier reads and of the share of frames that show text:

- **captions**: lines in a burned-in caption band (the OCR stage's ``hardsubs.bands``, found by
  ``pipelines.ocr.band``): a film's or a show's dialogue, burned in. On nine real film and TV
  clips they made "100 % of frames show text" on footage with no other text.
- **overlays**: the same text (or readings of it: a semi-transparent logo is read a little
  differently from frame to frame) at the same place by the frame's edge through nearly the
  whole video: a channel's watermark, a logo, a fansub credit.

A slide that stays on screen the whole video is not an overlay unless it sits by the edge, so a
one-slide lesson keeps its body text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from pipelines.exceptions import OptionsError
from pipelines.ocr.tracking import Box, TextEvent, normalise_text, overlap


@dataclass(frozen=True)
class ScreenTextOptions:
    """How captions and overlays are told from screen content.

    Attributes:
        in_band: share of a line's box inside a caption band for it to count as a caption.
        overlay_share: share of the video's duration an overlay is on screen at least.
        edge: an overlay's box centre lies within this share of the frame's width or height from
            one of its edges.
        same_place: share of the smaller box two readings of one overlay overlap at least.
        same_text: how alike (RapidFuzz's partial ratio, 0-1) two readings of one overlay are at
            least: "微售公众号：" and "微售公众号：一分钟春" are one watermark read twice.
    """

    in_band: float = 0.5
    overlay_share: float = 0.9
    edge: float = 0.25
    same_place: float = 0.5
    same_text: float = 0.6

    def __post_init__(self) -> None:
        for name in ("in_band", "overlay_share", "edge", "same_place", "same_text"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise OptionsError(f"ScreenTextOptions.{name} must be in (0, 1], got {value!r}")


@dataclass(frozen=True)
class ScreenText:
    """On-screen text split by what it is.

    Attributes:
        content: lines that may be a slide, code or a UI: what the classifier reads.
        captions: lines in a burned-in caption band.
        overlays: watermarks, logos and credits (see the module's docstring).
        text_frame_share: share of the sampled frames that show content (None: the number of
            samples is not known).
    """

    content: tuple[TextEvent, ...]
    captions: tuple[TextEvent, ...]
    overlays: tuple[TextEvent, ...]
    text_frame_share: float | None


def split_screen_text(
    events: Sequence[TextEvent],
    *,
    duration: float,
    samples: int,
    caption_bands: Sequence[Box] = (),
    options: ScreenTextOptions | None = None,
) -> ScreenText:
    """Split the OCR stage's text events into content, captions and overlays.

    Args:
        events: the text events (normalised boxes, times in seconds).
        duration: seconds of video the OCR stage covered.
        samples: frames it sampled, evenly over ``duration`` (0: unknown).
        caption_bands: the burned-in caption bands (normalised boxes), none when not searched.
        options: see ``ScreenTextOptions``.
    """
    opts = options or ScreenTextOptions()
    captions = {
        i for i, e in enumerate(events) if any(overlap(e.box, b) >= opts.in_band for b in caption_bands)
    }
    rest = [i for i in range(len(events)) if i not in captions]
    overlays = _overlays([events[i] for i in rest], duration, opts)
    overlay_ids = {rest[k] for k in overlays}
    content = tuple(e for i, e in enumerate(events) if i not in captions and i not in overlay_ids)
    share = _frame_share(content, duration, samples) if samples > 0 and duration > 0 else None
    return ScreenText(
        content=content,
        captions=tuple(events[i] for i in sorted(captions)),
        overlays=tuple(events[i] for i in sorted(overlay_ids)),
        text_frame_share=share,
    )


def _overlays(events: Sequence[TextEvent], duration: float, opts: ScreenTextOptions) -> set[int]:
    """Indices of the events that are readings of an overlay: groups of alike readings at one
    place by the edge whose times together cover ``overlay_share`` of the video."""
    if duration <= 0:
        return set()
    at_edge = [_at_edge(e.box, opts.edge) for e in events]
    texts = [normalise_text(e.text) for e in events]
    group = list(range(len(events)))

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for i in range(len(events)):
        for j in range(i + 1, len(events)):
            if (
                at_edge[i]
                and at_edge[j]
                and overlap(events[i].box, events[j].box) >= opts.same_place
                and fuzz.partial_ratio(texts[i], texts[j]) >= 100 * opts.same_text
            ):
                group[root(j)] = root(i)
    members: dict[int, list[int]] = {}
    for i in range(len(events)):
        if at_edge[i]:
            members.setdefault(root(i), []).append(i)
    out: set[int] = set()
    for ids in members.values():
        if _covered([(events[i].start, events[i].end) for i in ids]) >= opts.overlay_share * duration:
            out.update(ids)
    return out


def _at_edge(box: Box, edge: float) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return min(cx, 1.0 - cx, cy, 1.0 - cy) <= edge


def _covered(spans: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of ``spans``."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def _frame_share(events: Sequence[TextEvent], duration: float, samples: int) -> float:
    """Share of the ``samples`` samples (evenly over ``duration``, the first at 0) during which an
    event is on screen. The OCR stage times an event from the sample it was first read at to the
    next sample after its last, so each sample is looked up half a step after it: the step
    derived here (duration / samples) is a little off where the video ends between samples."""
    step = duration / samples
    shown = sum(any(e.start <= (k + 0.5) * step < e.end for e in events) for k in range(samples))
    return shown / samples
