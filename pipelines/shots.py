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


def _thumb(frame: Any) -> np.ndarray:
    import numpy as np

    return np.asarray(frame.to_ndarray(format="gray", width=THUMB[0], height=THUMB[1]), dtype=np.float32)


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
    times = np.array([t for t, _ in frames[1:]])
    diffs = np.array([float(np.abs(b - a).mean()) for (_, a), (_, b) in pairwise(frames)])
    cuts = []
    for k, d in enumerate(diffs):
        if d < options.threshold:
            continue
        around = diffs[(times >= times[k] - 0.5) & (times <= times[k] + 0.5)]
        usual = float(np.median(np.delete(around, np.argmax(around)))) if len(around) > 1 else 0.0
        if d >= options.contrast * max(usual, 0.3):
            cuts.append(float(times[k]))
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
    cuts: list[float] = []
    for t in sorted(set(round(c, 3) for c in found)):
        if not cuts or t - cuts[-1] >= options.min_shot_s:
            cuts.append(t)
    log.info("%s: %d shot changes (%d of %d key-frame stretches decoded)", p.name, len(cuts), len(spans),
             len(keys))
    return tuple(cuts)
