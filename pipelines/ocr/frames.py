"""Frame sampling and change detection for the OCR stage.

Frames are decoded with PyAV at a fixed rate (default 2 per second; ``read_samples``): each
sample comes as its grey level (luma) for comparing, and its colour only on demand, for the few
samples that are read. Each sample is compared,
downscaled and in grayscale, with a reference: what the frame looked like when it was last read.
Only what changed is read again. Screencasts are mostly static, so most samples need no OCR at
all, and most of the rest only a small region (a typed word, a new menu).

The reference only takes in what the caller read (``absorb``), so a change stays reported until
it is read; regions still changing from one sample to the next (typing, scrolling, a fade) are
reported as ``moving``, for the caller to read them once they settle. Small changes (a mouse
cursor) count only once they stay put for a while, and are reported apart. A change over most
of the frame is a new scene.
"""

from __future__ import annotations

import functools
import logging
import math
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import cv2
import numpy as np

from pipelines.exceptions import MediaError, OptionsError

if TYPE_CHECKING:
    from pipelines.demux import MediaPass

log = logging.getLogger(__name__)

PixelBox = tuple[int, int, int, int]
"""A box in frame pixels: (left, top, right, bottom), right/bottom exclusive."""


@dataclass(frozen=True)
class ChangeOptions:
    """How changes between samples are found.

    Attributes:
        diff_width: width (pixels) the frames are downscaled to before comparing.
        pixel_threshold: grey-level difference (0-255) above which a pixel changed; above
            compression noise.
        small_region: a changed blob smaller than this share of the frame width in both
            directions is "small" (a mouse cursor, one digit).
        small_persist: samples a small change must stay put before it counts; a moving or
            parked cursor seldom does. A changed digit is read this late, and its reading is
            written back to when it changed.
        word_aspect: a small change at least this many times wider than high (and 5 pixels high
            or more, as compared) is shaped like a word, not like a cursor (a "Home" link
            appearing in a menu bar).
        word_persist: samples such a change must stay put before it counts, as a larger change
            does (moving footage seldom leaves one in place).
        scene_fraction: share of the frame that must change for a new scene (read whole).
        full_fraction: share of the frame covered by changed regions above which the whole frame
            is read anyway (one big read is cheaper than many small ones).
        margin: pixels (full resolution) added around a changed region before it is read.
        settle: samples in a row in which a changed region must stand still (be as it was in the
            sample before) for it to be read (1: read at the first sample that did not change it,
            so typing is read at each half-second pause). 2 reads typing once it stops for a
            second: on the real JupyterLab recording 59 -> 42 reads, 295 -> 218 events (fewer
            partly typed lines), 23 % less CPU, one word fewer found (a re-read that fixed an OCR
            slip did not happen); but text shown for a second between changes is then read only
            every ``max_defer`` samples.
        max_defer: samples a region that keeps changing (typing, scrolling, a transition) may
            wait to settle before it is read anyway.
        camera_fraction: share of the frame moving between two samples that is the view itself
            moving (an animated zoom or pan of a screen recording, a camera move), not typing or
            a scrolled panel.
        sharp_ratio: while the view moves, a sample at least this sharp relative to the last
            sample read (``ChangeDetector.sharpness``) is not blurred by the motion, and what waited
            ``motion_defer`` samples or more is read from it (text seen only while the view moves
            is read where it can be).
        motion_defer: samples a region waits while the view moves before a sharp sample may be
            read.
        keep_threshold: a line found again where a read line was, with no pixel of its box
            (downscaled as compared) this many grey levels or more from what was read, keeps
            its reading instead of being recognised again (a terminal's earlier lines, re-read
            because a line typed next to them grew the region read over them); 0: every line
            found is recognised. The same as ``pixel_threshold``: on the real UI recordings the
            lines kept differed from what was read by 15 grey levels at most (119 of 474 lines
            kept on JupyterLab's), where a changed digit differs by ~200.
        probe_scale: while the view moves and nothing is on screen as last read, a whole frame
            about to be read is first looked at by the detector alone at this share of its size
            (no recognition), but no smaller than ``probe_min_side`` on its shorter side; where
            it finds no line, nothing is read (camera motion over footage without text: reads
            that found nothing, or a misread speck of the picture). 0: always read.
        probe_min_side: pixels of the probe's shorter side at least (a frame smaller than this
            is read, never looked at first): 720p is looked at three quarters of its size,
            1080p at half. At half of 640x360 a Hindi name 18 pixels high was never found.
        motion_read_scale: a whole frame of moving footage that is read has its lines found at
            the probe's scale, but no smaller than this share of its size, and recognised at full
            size: 720p at three quarters, with the probe's own look where it made one (about half
            a detection at full size); 1080p at three quarters too (at half, the real JupyterHub
            recording's zoomed menu lost trailing dots, "Rename..."). 1: at full size. Only
            where frames are looked at (``probe_scale`` > 0, the frame not under ``probe_min_side``).
    """

    diff_width: int = 640
    pixel_threshold: int = 32
    small_region: float = 0.04
    small_persist: int = 16
    word_aspect: float = 2.5
    word_persist: int = 2
    scene_fraction: float = 0.4
    full_fraction: float = 0.35
    margin: int = 12
    settle: int = 1
    max_defer: int = 6
    camera_fraction: float = 0.6
    sharp_ratio: float = 0.9
    motion_defer: int = 2
    keep_threshold: int = 32
    probe_scale: float = 0.5
    probe_min_side: int = 540
    motion_read_scale: float = 0.75


class ChangeKind(StrEnum):
    """What happened since the reference: nothing, some regions, or a new scene."""

    NONE = "none"
    REGIONS = "regions"
    SCENE = "scene"


@dataclass(frozen=True)
class Change:
    """The verdict for one sample; boxes are in full-resolution pixels.

    Attributes:
        kind: nothing, regions that differ from the reference, or a new scene.
        regions: where the frame differs from the reference (what was last read), small
            changes left out; the whole frame for a scene.
        moving: where the frame differs from the previous sample: regions that are still changing
            (typing, scrolling, a fade) and are best read once they settle.
        small: small changes that stayed put for ``small_persist`` samples (a changed digit, a
            parked cursor): worth reading where they touch known text.
        changed_fraction: share of the (downscaled) frame that differs from the reference.
        moving_fraction: share of the frame covered by the boxes of ``moving``.
    """

    kind: ChangeKind
    regions: tuple[PixelBox, ...] = ()
    moving: tuple[PixelBox, ...] = ()
    small: tuple[PixelBox, ...] = ()
    changed_fraction: float = 0.0
    moving_fraction: float = field(default=0.0, compare=False)  # a measure, not part of the verdict


@dataclass
class ChangeDetector:
    """Compares samples with the last read state of the frame and says what differs.

    Call ``update(frame)`` once per sample, in order, then ``absorb`` the regions that were read
    (or ``absorb_all``): the reference is what the caller last read, so a region that is not
    read yet keeps being reported.
    """

    options: ChangeOptions = field(default_factory=ChangeOptions)
    _reference: np.ndarray | None = None
    _last: np.ndarray | None = None
    _previous: np.ndarray | None = None
    _history: list[np.ndarray] = field(default_factory=list)
    _cursorish: list[PixelBox] = field(default_factory=list)
    _scale: float = 1.0
    _pending: list[tuple[PixelBox, int]] = field(default_factory=list)

    def _small(self, frame: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
        h, w = gray.shape
        self._scale = min(1.0, self.options.diff_width / w)
        if self._scale < 1.0:
            gray = cv2.resize(gray, (round(w * self._scale), round(h * self._scale)),
                              interpolation=cv2.INTER_AREA)
        return gray

    def update(self, frame: np.ndarray) -> Change:
        """Compare one sample (BGR or grayscale) with the reference and with the previous sample."""
        small = self._small(frame)
        self._previous, self._last = self._last, small
        self._history = [h for h in self._history[-2:] if h.shape == small.shape] + [small]
        moving, moved = self._motion(small, frame.shape)
        return replace(self._against_reference(small, frame.shape, moving), moving_fraction=moved)

    def sharpness(self) -> float:
        """The variance of the Laplacian of the last sample (downscaled): lower when motion blurs it."""
        assert self._last is not None
        return float(cv2.Laplacian(self._last, cv2.CV_32F).var())

    def _motion(self, small: np.ndarray, shape: tuple[int, ...]) -> tuple[tuple[PixelBox, ...], float]:
        """Where the sample differs from the previous one (full-resolution boxes) and the share of
        the frame those boxes cover; notes the small motion (``_cursorish``)."""
        self._cursorish = []
        if self._previous is None or self._previous.shape != small.shape:
            return (), 0.0
        motion = cv2.absdiff(small, self._previous) > self.options.pixel_threshold
        if not motion.any():
            return (), 0.0
        blobs = self._blobs(motion)
        big = _merge_boxes([b for b in blobs if not self._is_small(b, small.shape[1])])
        # Small motion: where a cursor is now, or was a sample ago.
        self._cursorish = [_pad(b, 2, small.shape) for b in blobs if self._is_small(b, small.shape[1])]
        moved = sum((b[2] - b[0]) * (b[3] - b[1]) for b in big) / small.size
        return tuple(self._to_full(b, shape) for b in big), moved

    def _against_reference(self, small: np.ndarray, shape: tuple[int, ...], moving: tuple[PixelBox, ...]) -> Change:
        full_box = (0, 0, shape[1], shape[0])
        if self._reference is None or self._reference.shape != small.shape:
            self._reference = np.zeros_like(small)
            self._pending = []
            return Change(ChangeKind.SCENE, (full_box,), moving, (), 1.0)
        mask = cv2.absdiff(small, self._reference) > self.options.pixel_threshold
        fraction = float(mask.mean())
        if fraction == 0.0:
            self._pending = []
            return Change(ChangeKind.NONE, (), moving)
        if fraction >= self.options.scene_fraction:
            self._pending = []
            return Change(ChangeKind.SCENE, (full_box,), moving, (), fraction)
        blobs = self._blobs(mask)
        width = small.shape[1]
        kept = [b for b in blobs if not self._is_small(b, width)]
        # A small blob counts once small blobs were there for ``small_persist`` samples running:
        # a changed digit, not a cursor on its way somewhere or parked for a moment. One shaped
        # like a word counts once it held for ``word_persist`` samples, as a larger change.
        counted = []
        for b in (b for b in blobs if self._is_small(b, width)):
            runs = [n for p, n in self._pending if _intersects(b, p)]
            counted.append((b, 1 + max(runs, default=0)))
        self._pending = counted
        kept += [b for b, n in counted if n >= self.options.word_persist and self._is_word(b)]
        steady = [b for b, n in counted if n >= self.options.small_persist and not self._is_word(b)]
        small_full = tuple(self._to_full(b, shape) for b in _merge_boxes(steady))
        if not kept:
            return Change(ChangeKind.NONE, (), moving, small_full, fraction)
        regions = _merge_boxes([_pad(b, 2, small.shape) for b in kept])
        area = sum((r[2] - r[0]) * (r[3] - r[1]) for r in regions) / small.size
        if area >= self.options.full_fraction:
            return Change(ChangeKind.REGIONS, (full_box,), moving, small_full, fraction)
        full = tuple(self._to_full(r, shape) for r in regions)
        return Change(ChangeKind.REGIONS, full, moving, small_full, fraction)

    def _stable(self) -> np.ndarray:
        """The last sample, without the small changes that may be a cursor passing by.

        Where something small moved since the previous sample (a cursor, most likely), the
        reference takes the median of the last three samples, which a moving cursor is in only one
        of; otherwise it would leave a "ghost" in the reference, read again once the cursor left.
        A change read once settled is the same in the last two samples, so it comes through; the
        rest comes from the last sample as it is.
        """
        assert self._last is not None
        if len(self._history) < 3 or not self._cursorish:
            return self._last
        stable = self._last.copy()
        stack = np.stack(self._history)
        for x0, y0, x1, y1 in self._cursorish:
            stable[y0:y1, x0:x1] = np.median(stack[:, y0:y1, x0:x1], axis=0).astype(np.uint8)
        return stable

    def unchanged(self, box: PixelBox, threshold: int) -> bool:
        """Whether the last sample is what was last read (the reference) inside this
        full-resolution box: no pixel, downscaled as compared, ``threshold`` grey levels apart or more."""
        if self._reference is None or self._last is None or self._reference.shape != self._last.shape:
            return False
        h, w = self._reference.shape
        x0, y0, x1, y1 = self._to_small(box)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 <= x0 or y1 <= y0:
            return False
        return int(cv2.absdiff(self._last[y0:y1, x0:x1], self._reference[y0:y1, x0:x1]).max()) < threshold

    def absorb(self, regions: tuple[PixelBox, ...] | list[PixelBox]) -> None:
        """Take these full-resolution regions of the last sample into the reference (they were read)."""
        if self._reference is None or self._last is None or not regions:
            return
        stable = self._stable()
        s = self._scale
        h, w = self._reference.shape
        for x0, y0, x1, y1 in regions:
            a, b = max(0, math.floor(x0 * s)), max(0, math.floor(y0 * s))
            c, d = min(w, math.ceil(x1 * s)), min(h, math.ceil(y1 * s))
            self._reference[b:d, a:c] = stable[b:d, a:c]
        self._pending = [(p, n) for p, n in self._pending
                         if not any(_intersects(p, self._to_small(r)) for r in regions)]

    def absorb_all(self) -> None:
        """Take the whole last sample into the reference (it was read whole)."""
        if self._last is not None:
            self._reference = self._stable().copy()
            self._pending = []

    def _to_small(self, box: PixelBox) -> PixelBox:
        s = self._scale
        return (math.floor(box[0] * s), math.floor(box[1] * s), math.ceil(box[2] * s), math.ceil(box[3] * s))

    def _is_word(self, box: PixelBox) -> bool:
        """Shaped like a word (a box of the dilated mask: 3 pixels more left and right, 1 above and below)."""
        w, h = box[2] - box[0], box[3] - box[1]
        return h >= 5 and w >= self.options.word_aspect * h

    def _is_small(self, box: PixelBox, width: int) -> bool:
        limit = self.options.small_region * width
        return box[2] - box[0] < limit and box[3] - box[1] < limit

    @staticmethod
    def _blobs(mask: np.ndarray) -> list[PixelBox]:
        # Dilate so the letters of one word (and words of one line) join into one region.
        joined = cv2.dilate(mask.astype(np.uint8), np.ones((3, 7), np.uint8))
        count, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
        return [
            (int(x), int(y), int(x + w), int(y + h))
            for x, y, w, h, _ in stats[1:count]
        ]

    def _to_full(self, box: PixelBox, shape: tuple[int, ...]) -> PixelBox:
        h, w = shape[:2]
        m = self.options.margin
        s = self._scale
        return (
            max(0, math.floor(box[0] / s) - m),
            max(0, math.floor(box[1] / s) - m),
            min(w, math.ceil(box[2] / s) + m),
            min(h, math.ceil(box[3] / s) + m),
        )



def _intersects(a: PixelBox, b: PixelBox) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _pad(box: PixelBox, pad: int, shape: tuple[int, ...]) -> PixelBox:
    h, w = shape[:2]
    return (max(0, box[0] - pad), max(0, box[1] - pad), min(w, box[2] + pad), min(h, box[3] + pad))


def _merge_boxes(boxes: list[PixelBox]) -> list[PixelBox]:
    """Merge intersecting boxes until none intersect."""
    merged = list(boxes)
    changed = True
    while changed:
        changed = False
        out: list[PixelBox] = []
        for box in merged:
            for i, other in enumerate(out):
                if _intersects(box, other):
                    out[i] = (min(box[0], other[0]), min(box[1], other[1]),
                              max(box[2], other[2]), max(box[3], other[3]))
                    changed = True
                    break
            else:
                out.append(box)
        merged = out
    return merged


def merge_regions(boxes: list[PixelBox]) -> list[PixelBox]:
    """Public form of the region merger: intersecting boxes become their bounding box."""
    return _merge_boxes(boxes)


@dataclass(frozen=True)
class VideoInfo:
    """What OpenCV reports about a video: frame rate, frame count, size and duration."""

    fps: float
    frame_count: int
    width: int
    height: int

    @property
    def duration(self) -> float:
        """Seconds, from the frame count and rate."""
        return self.frame_count / self.fps if self.fps > 0 else 0.0


def open_video(path: str | Path) -> tuple[cv2.VideoCapture, VideoInfo]:
    """Open a video with OpenCV, or raise MediaError saying why it cannot be read."""
    p = Path(path)
    if not p.is_file():
        raise MediaError(f"{p}: no such file.")
    cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        raise MediaError(f"{p}: not a video OpenCV can decode (corrupt, or not video at all).")
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    info = VideoInfo(
        fps=fps if fps > 0 and math.isfinite(fps) else 25.0,
        frame_count=int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0),
        width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
        height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
    )
    if info.width <= 0 or info.height <= 0:
        cap.release()
        raise MediaError(f"{p}: has no video stream (an audio file?); on-screen text needs video.")
    return cap, info


def sample_frames(path: str | Path, rate: float = 2.0) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield ``(frame index, time in seconds, BGR frame)`` at ``rate`` samples per second.

    Frames between samples are grabbed (decoded, not converted), which is the cheap way through
    a video with OpenCV. Sample ``k`` is frame ``round(k * fps / rate)``.

    Raises:
        MediaError: the file cannot be opened or holds no decodable frame.
        OptionsError: ``rate`` is not positive.
    """
    if not rate > 0:
        raise OptionsError(f"sample rate must be positive, got {rate}.")
    cap, info = open_video(path)
    try:
        step = info.fps / rate
        sample = 0
        index = 0
        yielded = 0
        while cap.grab():
            if index >= round(sample * step):
                ok, frame = cap.retrieve()
                if ok and frame is not None:
                    yield index, index / info.fps, frame
                    yielded += 1
                while round(sample * step) <= index:
                    sample += 1
            index += 1
        if yielded == 0:
            raise MediaError(f"{path}: no frame could be decoded (empty or corrupt video).")
    finally:
        cap.release()


def upright(frame: Any, image: np.ndarray) -> np.ndarray:
    """``image``, an array of the decoded ``frame`` (PyAV), turned as the video is shown: a phone
    stores a portrait video sideways with a rotation to show it by (its display matrix), which
    OpenCV's ``VideoCapture`` applies and PyAV does not. Read sideways, its text was not found."""
    turns = round((frame.rotation or 0) / 90) % 4  # counterclockwise, as np.rot90 turns
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def frame_bgr(frame: Any) -> np.ndarray:
    """A decoded frame (PyAV) in BGR (OpenCV's order), upright (``upright``)."""
    return upright(frame, frame.to_ndarray(format="bgr24"))


@dataclass
class VideoSample:
    """One sampled frame: its index and time, its grey levels (full resolution, for comparing),
    and its colour on demand (``bgr()``: converted once, only for the samples that are read)."""

    index: int
    time: float
    gray: np.ndarray
    frame: Any = field(repr=False)  # the decoded av.VideoFrame
    _bgr: np.ndarray | None = field(default=None, repr=False)

    def bgr(self) -> np.ndarray:
        """The frame in BGR (OpenCV's order), upright, as the OCR engines take it."""
        if self._bgr is None:
            self._bgr = frame_bgr(self.frame)
        return self._bgr


def _stream_fps(stream: Any) -> float:
    for rate in (stream.guessed_rate, stream.average_rate, stream.base_rate):
        if rate and float(rate) > 0 and math.isfinite(float(rate)):
            return float(rate)
    return 25.0


_NO_VIDEO = "{}: has no video stream (an audio file?); on-screen text needs video."


def open_av_video(path: str | Path) -> tuple[Any, Any]:
    """The container and its video stream (PyAV; the first that is not an attached picture), or
    MediaError saying why not. The caller closes the container."""
    import av

    p = Path(path)
    if not p.is_file():
        raise MediaError(f"{p}: no such file.")
    try:
        container = av.open(str(p), metadata_errors="ignore")
    except av.error.FFmpegError:
        raise MediaError(f"{p}: not a video that can be decoded (corrupt, or not video at all).") from None
    stream = next((s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic),
                  None)
    if stream is None or not stream.codec_context.width:
        container.close()
        raise MediaError(_NO_VIDEO.format(p))
    return container, stream


class FrameTap(Protocol):
    """A consumer of some decoded frames besides the samples (the caption band search's,
    ``pipelines.ocr.band.SearchFrames``)."""

    def wants(self, index: int) -> bool:
        """Whether frame ``index`` is one it takes (so it must be decoded)."""
        ...

    def offer(self, index: int, bgr: Callable[[], np.ndarray]) -> None:
        """A decoded frame: its index and a function that gives it in BGR."""
        ...


def read_samples(path: str | Path, rate: float = 2.0, threads: int = 0, source: MediaPass | None = None,
                 tap: FrameTap | None = None) -> tuple[VideoInfo, Iterator[VideoSample]]:
    """The video's facts and an iterator of its samples, ``rate`` per second, decoded with PyAV.

    Only the samples are converted, and only to grey (a copy of the luma plane, no colour
    conversion); a sample's colour is made when it is read. Sample ``k`` is frame
    ``round(k * fps / rate)``, as OpenCV's ``sample_frames`` takes it. A frame needs the ones it
    refers to, so those are all decoded; frames no other frame refers to (most B-frames) are not,
    unless they are a sample or ``tap`` wants them (``_needed``): the samples are the frames
    decoding every frame gives. Every frame is decoded when ``source`` finds shot changes in
    them. ``threads``: the decoder's threads (0: FFmpeg's choice). ``source``: a pass over the
    file that reads its audio too (``pipelines.demux``); its video packets are decoded here.
    ``tap``: offered each decoded frame (the caption band search keeps a few).

    Raises:
        MediaError: the file cannot be opened or holds no video stream (raised here), or no
            decodable frame (raised by the iterator).
        OptionsError: ``rate`` is not positive.
    """
    if not rate > 0:
        raise OptionsError(f"sample rate must be positive, got {rate}.")
    p = Path(path)
    container = None
    if source is None:
        container, stream = open_av_video(p)
    else:
        if not p.is_file():
            raise MediaError(f"{p}: no such file.")
        stream = source.video_stream()
        if stream is None or not stream.codec_context.width:
            raise MediaError(_NO_VIDEO.format(p))
    fps = _stream_fps(stream)
    whole = stream.container.duration / 1_000_000 if stream.container.duration else 0.0
    duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else whole
    info = VideoInfo(fps, stream.frames or round(duration * fps), stream.codec_context.width,
                     stream.codec_context.height)
    stream.thread_type = "AUTO"
    stream.codec_context.thread_count = max(0, threads)
    step = fps / rate
    frames: Iterator[tuple[int, Any]]
    if source is not None and source.shots() is not None:  # the shot tracker looks at every frame
        frames = enumerate(_decoded(stream, source.video_packets()))
    else:
        packets = source.video_packets() if source is not None else container.demux(stream)  # type: ignore[union-attr]
        frames = _decoded_needed(stream, packets, fps, functools.partial(_needed, step=step, tap=tap))
    if container is not None:
        frames = _closing(container, frames)
    return info, _samples(p, frames, step, fps, tap)


def _needed(index: int, step: float, tap: FrameTap | None) -> bool:
    """Whether frame ``index`` is a sample (``round(k * step)`` for some k) or one ``tap`` wants."""
    k = round(index / step)
    return any(round(j * step) == index for j in (k - 1, k, k + 1)) or (tap is not None and tap.wants(index))


def _closing(container: Any, frames: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    with container:
        yield from frames


def _decoded(stream: Any, packets: Iterator[Any]) -> Iterator[Any]:
    for packet in packets:
        yield from stream.decode(packet)
    yield from stream.decode(None)  # the frames the decoder still holds


def _decoded_needed(stream: Any, packets: Iterator[Any], fps: float,
                    needed: Callable[[int], bool]) -> Iterator[tuple[int, Any]]:
    """Each decoded frame with its index (its time x ``fps``), decoding a frame no other frame
    refers to only when ``needed`` (by its packet's time: the decoder skips such a frame, and
    only such a frame, while ``skip_frame`` is ``NONREF``). The 73 s JupyterLab recording (1,056 of
    its 2,190 frames referred to by none) decodes in 3.1-4.2 s of CPU instead of 7.8-8.6 s."""
    ctx = stream.codec_context
    start = stream.start_time or 0
    per_tick = float(stream.time_base) * fps if stream.time_base else 0.0  # frames a time-base tick
    last = -1

    def index_of(pts: int | None) -> int | None:
        return None if pts is None or not per_tick else round((pts - start) * per_tick)

    def numbered(frames: list[Any]) -> Iterator[tuple[int, Any]]:
        nonlocal last
        for frame in frames:
            at = index_of(frame.pts)
            last = last + 1 if at is None else max(last + 1, at)  # in order, whatever the times say
            yield last, frame

    for packet in packets:
        if not packet.size:
            continue  # the demuxer's flush packet: flushed below
        at = index_of(packet.pts)
        ctx.skip_frame = "DEFAULT" if at is None or needed(at) else "NONREF"
        yield from numbered(stream.decode(packet))
    ctx.skip_frame = "DEFAULT"
    yield from numbered(stream.decode(None))  # the frames the decoder still holds


def _samples(path: Path, frames: Iterator[tuple[int, Any]], step: float, fps: float,
             tap: FrameTap | None = None) -> Iterator[VideoSample]:
    import av

    sample = yielded = 0
    try:
        for index, frame in frames:
            if tap is not None:
                tap.offer(index, functools.partial(frame_bgr, frame))
            if index < round(sample * step):
                continue
            yield VideoSample(index, index / fps, upright(frame, frame.to_ndarray(format="gray")), frame)
            yielded += 1
            while round(sample * step) <= index:
                sample += 1
    except av.error.FFmpegError as err:
        if yielded == 0:
            raise MediaError(f"{path}: no frame could be decoded ({err}).") from None
        log.warning("%s: decoding stopped after %d samples: %s", path, yielded, err)
    if yielded == 0:
        raise MediaError(f"{path}: no frame could be decoded (empty or corrupt video).")


_DONE = object()


def decoded_ahead(samples: Iterator[VideoSample], depth: int = 2) -> Generator[VideoSample, None, None]:
    """``samples``, decoded on a thread of their own at most ``depth`` samples ahead of the
    caller, so that decoding (every frame, when the shot tracker looks at them) runs beside the
    reads instead of between them. What the decoder raises is raised here, in order; when the
    caller stops early the thread stops at its next sample and closes ``samples``. The thread
    inherits the caller's niceness (Linux keeps it per thread)."""
    ready: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for sample in samples:
                if not put(sample):
                    return
            put(_DONE)
        except BaseException as err:  # handed to the caller, raised there
            put(err)
        finally:
            close = getattr(samples, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="ocr-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=30)
