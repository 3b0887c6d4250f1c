"""Visual cues for the learning-content classifier, computed from sampled video frames.

Three frame statistics hint at training material: text on screen in many frames (slides,
code, UI labels), a screen that barely changes (slides, screencasts), and slide-like layouts
(a large flat background). The last two are measured on the frames themselves
(``visual_cues_from_frames``); the OCR stage's samples give the first only. They only nudge the verdict: their log-odds weights are set by hand
(there is no labelled video set to fit them on) and capped, so text evidence decides whenever
there is any.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.exceptions import OptionsError


@dataclass(frozen=True)
class VisualCues:
    """Frame statistics of one video; every share is in [0, 1], None when not measured.

    Attributes:
        text_frame_share: share of sampled frames where OCR found text.
        static_share: share of consecutive sampled frame pairs that barely differ.
        slide_like_share: share of frames whose layout looks like a slide (flat background).
        frames: how many frames the statistics come from.
    """

    text_frame_share: float | None = None
    static_share: float | None = None
    slide_like_share: float | None = None
    frames: int = 0

    def __post_init__(self) -> None:
        for name in ("text_frame_share", "static_share", "slide_like_share"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= float(value) <= 1.0:
                raise OptionsError(f"VisualCues.{name} must be a share between 0 and 1, got {value!r}")

    def is_empty(self) -> bool:
        return self.text_frame_share is None and self.static_share is None and self.slide_like_share is None


@dataclass(frozen=True)
class VisualCueOptions:
    """How frames are judged.

    Attributes:
        static_threshold: mean absolute grey-level difference (0-255) under which two
            consecutive frames count as the same screen.
        flat_share: share of a frame one grey level (of 16) must cover to look like a slide.
        size: frames are reduced to about this many pixels on the long side first.
    """

    static_threshold: float = 3.0
    flat_share: float = 0.5
    size: int = 96


# Hand-set log-odds per cue: (weight, neutral point). Contribution = weight * (share - neutral).
# Ranges: text -0.4..+0.6, static -0.5..+0.5, slide -0.36..+0.84; at most about +-2 in total.
CUE_WEIGHTS: dict[str, tuple[float, float]] = {
    "text_frame_share": (1.0, 0.4),
    "static_share": (1.0, 0.5),
    "slide_like_share": (1.2, 0.3),
}
_CUE_WORDS = {
    "text_frame_share": "of frames show text",
    "static_share": "of frame changes are a static screen",
    "slide_like_share": "of frames have a slide-like layout",
}


def cue_log_odds(cues: VisualCues, scale: float = 1.0) -> list[tuple[str, str, float]]:
    """Each measured cue as ``(cue name, plain description, log-odds toward learning)``."""
    out: list[tuple[str, str, float]] = []
    for name, (weight, neutral) in CUE_WEIGHTS.items():
        value = getattr(cues, name)
        if value is None:
            continue
        out.append((name, f"{value:.0%} {_CUE_WORDS[name]}", scale * weight * (float(value) - neutral)))
    return out


def _grey_small(frame: np.ndarray, size: int) -> np.ndarray:
    arr = np.asarray(frame)
    if arr.ndim == 3:
        arr = arr[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    elif arr.ndim != 2:
        raise OptionsError(f"A frame must be HxW or HxWxC, got an array of shape {arr.shape}")
    arr = arr.astype(np.float32)
    step = max(1, int(np.ceil(max(arr.shape) / size)))
    return arr[::step, ::step]


def _slide_like(grey: np.ndarray, flat_share: float) -> bool:
    levels = np.clip(grey // 16, 0, 15).astype(np.int64)
    counts = np.bincount(levels.ravel(), minlength=16)
    return bool(counts.max() / max(levels.size, 1) >= flat_share)


def visual_cues_from_frames(
    frames: Sequence[np.ndarray],
    *,
    text_found: Sequence[bool] | None = None,
    options: VisualCueOptions | None = None,
) -> VisualCues:
    """Frame statistics from frames sampled at a steady rate (uint8, HxW or HxWx3).

    Args:
        frames: the sampled frames, in time order.
        text_found: per frame, whether OCR found text there (None: not measured).
        options: thresholds; the defaults suit frames sampled every 1-5 s.
    """
    opts = options or VisualCueOptions()
    if text_found is not None and len(text_found) != len(frames):
        raise OptionsError(f"text_found has {len(text_found)} entries for {len(frames)} frames")
    if not frames:
        return VisualCues()
    greys = [_grey_small(f, opts.size) for f in frames]
    static: float | None = None
    if len(greys) > 1:
        same = [
            a.shape == b.shape and float(np.abs(a - b).mean()) < opts.static_threshold
            for a, b in itertools.pairwise(greys)
        ]
        static = sum(same) / len(same)
    slide = sum(_slide_like(g, opts.flat_share) for g in greys) / len(greys)
    text = sum(bool(t) for t in text_found) / len(text_found) if text_found is not None else None
    return VisualCues(text_frame_share=text, static_share=static, slide_like_share=slide, frames=len(frames))


def visual_cues_from_ocr_samples(samples: Sequence[object]) -> VisualCues:
    """Cues from the OCR stage's per-sample detections, without touching the frames again.

    Each sample needs ``detections`` (what was read there), as ``pipelines.ocr.tracking.
    FrameDetections`` has. The text share is the share of samples with any text, captions and
    watermarks included (``pipelines.classify.screen_text`` tells them apart).

    No static share: the samples say where text changed, not how still the picture is. (It was
    1 minus the share of OCR cuts: 85-100 % "static" on nine real film and TV clips with a cut
    every 1-3 s, as on screencasts.) No layout cue either.
    """
    if not samples:
        return VisualCues()
    with_text = sum(bool(getattr(s, "detections", ())) for s in samples)
    return VisualCues(text_frame_share=with_text / len(samples), frames=len(samples))
