"""Decoded frames for burned-in captions, at the least cost: the caption band's rows of every
frame, and a few whole frames spread over the video for the band search.

- **The band's rows only.** Every frame is decoded (a frame needs the ones before it), but
  only the band's rows are converted to colour (YUV 4:2:0: the luma rows and the chroma rows
  under them), with the same conversion as the whole frame's, so the pixels are the ones
  OpenCV's ``VideoCapture.retrieve`` gave. Other pixel formats, and frames shown turned (a
  phone's portrait video stored sideways), are converted whole, turned upright, then cropped.
- **Spread frames without decoding them all.** The band search needs a frame every few seconds.
  Frames that no other frame refers to (most B-frames) are not decoded, but for the last few
  before a wanted frame, and where the next wanted frame lies beyond the next keyframe the
  decoder seeks to that keyframe. The frames are the ones decoding every frame gives.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.exceptions import MediaError
from pipelines.ocr.frames import frame_bgr, open_av_video

log = logging.getLogger(__name__)

_I420 = frozenset({"yuv420p", "yuvj420p"})


def _open(path: str | Path, threads: int | None = None) -> tuple[Any, Any]:
    """The container and its video stream (``open_av_video``). ``threads`` None: decoded on slice
    threads (seeking, a few frames at a time); else on ``threads`` frame threads (0: FFmpeg's
    choice, the cores), for decoding every frame in turn: on a 60 s 720p clip (x264), 6.2 s ->
    4.0 s of wall time for 6.3 -> 6.5 s of CPU on 2 cores (x264 writes one slice a frame, so
    slice threads decode it on one core)."""
    container, stream = open_av_video(path)
    if threads is None:
        stream.thread_type = "SLICE"
    else:
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = max(0, threads)
    return container, stream


def _rows(plane: Any, top: int, bottom: int, width: int) -> np.ndarray:
    """Rows ``top:bottom`` of a frame's plane (PyAV ``VideoPlane``), ``width`` bytes each (a view)."""
    data = np.frombuffer(plane, np.uint8)
    return data[: plane.line_size * plane.height].reshape(plane.height, plane.line_size)[top:bottom, :width]


class BandRows:
    """Converts rows ``top:bottom`` of decoded frames (PyAV ``VideoFrame``) to BGR, exactly as
    converting the whole frame (as OpenCV's ``VideoCapture`` does) gives them.

    In 4:2:0 the rows (widened to even ones) are copied into a frame of their own, which FFmpeg
    converts with the frame's colour space and range (BT.709 and BT.601 differ by a few levels,
    enough to move a caption's text layer). That frame is kept, and with it FFmpeg's converter.
    """

    def __init__(self, top: int, bottom: int) -> None:
        self.top, self.bottom = top, bottom
        self._band: Any = None

    def __call__(self, frame: Any) -> np.ndarray:
        """The rows of ``frame`` in BGR (a new array)."""
        import av

        top, bottom = self.top, self.bottom
        width, height = frame.width, frame.height
        y0, y1 = top - top % 2, min(height, bottom + bottom % 2)
        if frame.format.name not in _I420 or width % 2 or height % 2 or y1 <= y0 or frame.rotation:
            return np.ascontiguousarray(frame_bgr(frame)[top:bottom])  # a turned frame's rows are its columns
        band = self._band
        if band is None or (band.width, band.height, band.format.name) != (width, y1 - y0, frame.format.name):
            band = self._band = av.VideoFrame(width, y1 - y0, frame.format.name)
        half = width // 2
        for k, (a, b, w) in enumerate(((y0, y1, width), (y0 // 2, y1 // 2, half), (y0 // 2, y1 // 2, half))):
            _rows(band.planes[k], 0, b - a, w)[:] = _rows(frame.planes[k], a, b, w)
        band.colorspace = frame.colorspace
        band.color_range = frame.color_range
        return np.ascontiguousarray(band.to_ndarray(format="bgr24")[top - y0:bottom - y0])


def band_frames(path: str | Path, top: int, bottom: int) -> Iterator[np.ndarray]:
    """Rows ``top:bottom`` (BGR) of every frame of the video, in order.

    Raises:
        MediaError: the file is not a readable video (raised at the first ``next``).
    """
    for (rows,) in bands_frames(path, [(top, bottom)]):
        yield rows


def bands_frames(path: str | Path, ranges: Sequence[tuple[int, int]], threads: int = 0) -> Iterator[list[np.ndarray]]:
    """The rows ``top:bottom`` (BGR) of each range, of every frame of the video, in order: each
    frame decoded once for every caption band, on ``threads`` decoder threads (0: the cores).

    Raises:
        MediaError: the file is not a readable video (raised at the first ``next``).
    """
    import av

    container, stream = _open(path, threads)
    converters = [BandRows(top, bottom) for top, bottom in ranges]
    decoded = 0
    with container:
        try:
            for frame in container.decode(stream):
                decoded += 1
                yield [rows(frame) for rows in converters]
        except av.error.FFmpegError as err:
            if decoded == 0:
                raise MediaError(f"{path}: no frame could be decoded ({err}).") from None
            log.warning("%s: decoding stopped after %d frames: %s", path, decoded, err)


LEAD = 8
"""Frames before a wanted frame from which every frame is decoded (the wanted one may be one
that no other frame refers to; the decoder hands frames out a few late, reordered)."""


def frames_at(path: str | Path, indices: Sequence[int]) -> Iterator[tuple[int, np.ndarray]]:
    """The whole frames (BGR) of a video at these frame indices (index = time x frame rate),
    in order, decoding as few frames as it can (see the module doc); where a frame cannot be
    found by its time, the first decoded one after it.

    Raises:
        MediaError: the file is not a readable video.
    """
    import av

    container, stream = _open(path)
    ctx = stream.codec_context
    base = stream.time_base
    start = stream.start_time or 0
    fps = next((float(r) for r in (stream.guessed_rate, stream.average_rate, stream.base_rate) if r and float(r) > 0), 0.0)

    def index_of(pts: int | None, last: int) -> int:
        return last + 1 if pts is None or not base else round(float((pts - start) * base) * fps)

    keys: list[tuple[int, int]] = []  # (index, pts) of each keyframe
    if base and fps > 0:
        keys = sorted((index_of(p.pts, 0), p.pts) for p in container.demux(stream) if p.is_keyframe and p.pts is not None)
        container.seek(0, stream=stream, backward=True, any_frame=False)
    targets = sorted(set(indices))
    yielded = 0
    with container:
        frames = container.decode(stream)
        k, last = 0, -1
        while k < len(targets):
            target = targets[k]
            # Seek when a keyframe lies between the last decoded frame and the next wanted one.
            key = max((key for key in keys if key[0] <= target), default=None)
            if key is not None and key[0] > last:
                container.seek(key[1], stream=stream, backward=True, any_frame=False)
                frames = container.decode(stream)
                last = key[0] - 1
            ctx.skip_frame = "DEFAULT" if target - last <= LEAD else "NONREF"
            found = None
            try:
                for frame in frames:
                    last = index_of(frame.pts, last)
                    if last >= target:
                        found = frame_bgr(frame)
                        break
                    ctx.skip_frame = "DEFAULT" if target - last <= LEAD else "NONREF"
            except av.error.EOFError:
                pass  # the decoder was drained already: the end of the video
            if found is None:
                break  # the end of the video
            yield last, found
            yielded += 1
            while k < len(targets) and targets[k] <= last:
                k += 1
    if yielded == 0:
        raise MediaError(f"{path}: no frame could be decoded (empty or corrupt video).")
