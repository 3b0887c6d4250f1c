"""Shot changes (cuts) in a video, for subtitle timing: cues neither cross nor crowd a cut.

Two passes keep it cheap on what lessons mostly are (slides, screencasts, a still picture):
first only the key frames are decoded and compared; only the stretches between two key frames
that differ (and the tail after the last one) are then decoded frame by frame. A cut is a frame
whose small grey thumbnail differs from the one before by at least ``threshold`` grey levels on
average and by several times the usual change around it (so camera motion is not a cut).
Encoders place a key frame at most cuts, so a static video costs a few decoded frames.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.exceptions import MediaError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

THUMB = (96, 54)


@dataclass(frozen=True)
class ShotOptions:
    """How cuts are found.

    Attributes:
        threshold: mean absolute grey-level difference (0-255) between two frames' thumbnails
            that a cut needs at least.
        contrast: how many times the median change of the surrounding second a cut must exceed.
        min_shot_s: cuts closer than this to the previous one are dropped (flashes, fades).
    """

    threshold: float = 1.5
    contrast: float = 4.0
    min_shot_s: float = 0.5


# Pixel formats whose first plane is 8-bit luma: the thumbnail is made from it, no conversion.
_LUMA_FIRST = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p", "yuvj440p",
                         "yuv411p", "yuv410p", "nv12", "nv21", "gray"})


def _thumb(frame: Any) -> np.ndarray:
    """A frame's grey ``THUMB`` thumbnail (0-255, float32), averaged over areas of its luma.

    Made from the luma plane in place: an exact integer-factor area average first (OpenCV's
    fast path), then the small remainder; about 0.4 ms for 720p, against 2.5 ms for FFmpeg's
    scaler, so every frame of a 25 fps video can be looked at while it is decoded for OCR.
    Limited-range luma (16-235) is stretched to 0-255, as a grey conversion does.
    """
    import cv2
    import numpy as np

    name = frame.format.name
    if name not in _LUMA_FIRST:
        return np.asarray(frame.to_ndarray(format="gray", width=THUMB[0], height=THUMB[1]), dtype=np.float32)
    plane = frame.planes[0]
    w, h = frame.width, frame.height
    luma: np.ndarray = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:h, :w]
    f = min(w // THUMB[0], h // THUMB[1])
    if f >= 2:
        luma = cv2.resize(luma[: h // f * f, : w // f * f], (w // f, h // f), interpolation=cv2.INTER_AREA)
    thumb = cv2.resize(luma, THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)
    if name != "gray" and not name.startswith("yuvj") and frame.color_range != 2:  # 2: full (JPEG) range
        np.clip((thumb - 16.0) * (255.0 / 219.0), 0.0, 255.0, out=thumb)
    return thumb


def _changed(a: np.ndarray, b: np.ndarray, threshold: float) -> bool:
    import numpy as np

    return float(np.abs(a - b).mean()) >= threshold / 4


def _key_frames(path: Path) -> list[tuple[float, np.ndarray]]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        return [(float(f.time or 0.0), _thumb(f)) for f in container.decode(stream)]


def _frames_between(container: Any, stream: Any, start: float, end: float) -> list[tuple[float, np.ndarray]]:
    """Thumbnails of every frame from the key frame at ``start`` up to (not past) ``end``."""
    assert stream.time_base is not None
    container.seek(int(start / stream.time_base), stream=stream, backward=True, any_frame=False)
    out: list[tuple[float, np.ndarray]] = []
    for frame in container.decode(stream):
        t = float(frame.time or 0.0)
        if t < start - 1e-3:
            continue
        if t > end + 1e-3:
            break
        out.append((t, _thumb(frame)))
    return out


def _cuts(frames: list[tuple[float, np.ndarray]], options: ShotOptions) -> list[float]:
    import numpy as np

    if len(frames) < 2:
        return []
    diffs = [float(np.abs(b - a).mean()) for (_, a), (_, b) in pairwise(frames)]
    return _cuts_in([t for t, _ in frames[1:]], diffs, options)


def _cuts_in(times_: list[float], diffs_: list[float], options: ShotOptions) -> list[float]:
    """The cuts among frames at ``times_``, each ``diffs_`` (mean grey-level change) from the one
    before: at least ``threshold``, and ``contrast`` times the usual change of the second around."""
    import numpy as np

    times, diffs = np.asarray(times_, dtype=np.float64), np.asarray(diffs_, dtype=np.float64)
    cuts = []
    for k in np.flatnonzero(diffs >= options.threshold):
        lo, hi = np.searchsorted(times, times[k] - 0.5), np.searchsorted(times, times[k] + 0.5, side="right")
        around = diffs[lo:hi]
        usual = float(np.median(np.delete(around, np.argmax(around)))) if len(around) > 1 else 0.0
        if diffs[k] >= options.contrast * max(usual, 0.3):
            cuts.append(float(times[k]))
    return cuts


def _spaced(found: list[float], options: ShotOptions) -> tuple[float, ...]:
    """``found`` in order, those closer than ``min_shot_s`` to the one before left out. A time
    that is not a number is left out first: sorted among others it leaves their order undefined
    (a set of floats holding NaN iterates in an order that changes from run to run), and the
    cuts kept with it."""
    cuts: list[float] = []
    for t in sorted({round(c, 3) for c in found if math.isfinite(c)}):
        if not cuts or t - cuts[-1] >= options.min_shot_s:
            cuts.append(t)
    return tuple(cuts)


class ShotTracker:
    """Shot changes found from every frame of a video as a decoder hands them over (``add``):
    for a pass over the file that decodes its frames for something else (``pipelines.demux``),
    so that finding the cuts costs a thumbnail per frame and no second decode.

    The frames are all looked at, not only the stretches between key frames that differ, so a
    cut that ``detect_shot_changes`` passes over there (a flash that ends before the next key
    frame) can be found here. Thread-safe: frames come from one thread, the cuts go to another.
    """

    def __init__(self, options: ShotOptions | None = None) -> None:
        import threading

        self.options = options or ShotOptions()
        self._last: np.ndarray | None = None
        self._last_time: float | None = None
        self._interval = 0.0  # between the last two frames' times
        self._times: list[float] = []
        self._diffs: list[float] = []
        self._frames = 0
        self._ended = threading.Event()
        self._complete = False

    def add(self, frame: Any) -> None:
        """The next decoded frame (a PyAV ``VideoFrame``), in presentation order."""
        import numpy as np

        thumb = _thumb(frame)
        t = frame.time
        if (t is None or not math.isfinite(t)) and self._last_time is not None:
            t = self._last_time + self._interval  # no time base (PyAV's flushed frames): a frame on
        if t is not None and math.isfinite(t):
            if self._last is not None:
                self._times.append(float(t))
                self._diffs.append(float(np.abs(thumb - self._last).mean()))
            if self._last_time is not None and t > self._last_time:
                self._interval = t - self._last_time
            self._last_time = t
        self._last = thumb
        self._frames += 1

    def end(self, complete: bool) -> None:
        """No more frames: ``complete`` when the decoder reached the end of the stream (a second
        call is ignored)."""
        if not self._ended.is_set():
            self._complete = complete
            self._last = None
            self._ended.set()

    def cuts(self, check: Callable[[], None] | None = None, poll_s: float = 0.5) -> tuple[float, ...] | None:
        """The cuts, once the frames ended (``check`` is called every ``poll_s`` seconds of waiting
        and may raise: a cancelled job); None when the decoder stopped before the end."""
        while not self._ended.wait(poll_s):
            if check is not None:
                check()
        if not self._complete:
            return None
        cuts = _spaced(_cuts_in(self._times, self._diffs, self.options), self.options)
        log.info("%d shot changes in %d frames (decoded once, for OCR too)", len(cuts), self._frames)
        return cuts


def detect_shot_changes(path: str | Path, options: ShotOptions | None = None) -> tuple[float, ...]:
    """Times (seconds) of the first frame of each new shot, in order; () for a single shot.

    Raises:
        MediaError: the file has no decodable video stream.
    """
    import av

    options = options or ShotOptions()
    p = Path(path)
    try:
        keys = _key_frames(p)
    except (av.error.FFmpegError, IndexError) as err:
        raise MediaError(f"{p}: no video stream to find shot changes in ({err}).") from None
    if not keys:
        return ()
    # Stretches worth decoding whole: between key frames that differ, and after the last one.
    spans = [(a[0], b[0]) for a, b in pairwise(keys) if _changed(a[1], b[1], options.threshold)]
    spans.append((keys[-1][0], float("inf")))
    found: list[float] = []
    with av.open(str(p)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for start, end in spans:
            found.extend(_cuts(_frames_between(container, stream, start, end), options))
    cuts = _spaced(found, options)
    log.info("%s: %d shot changes (%d of %d key-frame stretches decoded)", p.name, len(cuts), len(spans),
             len(keys))
    return cuts
