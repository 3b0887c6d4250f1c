"""Probe media files and decode their audio, in-process with PyAV (FFmpeg's libraries).

Errors name the problem: not a media file, truncated or corrupt, zero duration. A file with
no audio stream probes fine (``has_audio`` is False); ``load_audio`` then raises NoAudioError.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from pipelines.exceptions import MediaError, NoAudioError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says about a file."""

    path: str
    format: str
    duration: float
    size_bytes: int
    has_audio: bool
    has_video: bool
    audio_codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    video_codec: str | None = None
    width: int | None = None  # as shown: a video stored sideways with a quarter turn has them swapped
    height: int | None = None
    fps: float | None = None
    rotation: int = 0  # clockwise degrees the stored picture is turned to be shown (0, 90, 180, 270)


def _fps(stream: Any) -> float | None:
    for rate in (getattr(stream, "average_rate", None), getattr(stream, "guessed_rate", None)):
        if rate:
            value = float(rate)
            if value > 0:
                return value
    return None


def _stream_duration(stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return 0.0


def probe(path: str | Path) -> MediaInfo:
    """Describe a media file.

    Reads the container in-process with PyAV (FFmpeg's own libraries): about 10 ms, where
    starting the ffprobe program costs 100-200 ms, which the job API pays on every upload.

    Raises:
        MediaError: the file is missing, empty, not media, a still image, truncated or corrupt,
            or of zero duration.
    """
    import av

    p = Path(path)
    if not p.is_file():
        raise MediaError(f"{p}: no such file.")
    size = p.stat().st_size
    if size == 0:
        raise MediaError(f"{p}: the file is empty (0 bytes); upload the whole media file.")
    try:
        container = av.open(str(p), metadata_errors="ignore")
    except av.error.FFmpegError as err:
        raise MediaError(
            f"{p}: not a readable media file ({err.strerror or err}). "
            "Check that it is an audio or video file and that it was copied completely."
        ) from None
    with container:
        fmt = container.format.name
        audio = container.streams.audio[0] if container.streams.audio else None
        video = next((s for s in container.streams.video
                      if not s.disposition & av.stream.Disposition.attached_pic), None)
        if audio is None and video is None:
            raise MediaError(f"{p}: holds no audio or video stream ({fmt}).")
        if audio is None and (fmt.startswith("image2") or fmt.endswith("_pipe")):
            raise MediaError(f"{p}: is a still image ({fmt}), not a video; lessonlens needs audio or video.")
        duration = container.duration / 1_000_000 if container.duration else 0.0
        if duration <= 0:
            duration = max((_stream_duration(s) for s in container.streams), default=0.0)
        if duration <= 0:
            raise MediaError(f"{p}: the media has zero duration; nothing to process.")
        a_ctx = audio.codec_context if audio else None
        v_ctx = video.codec_context if video else None
        width = int(v_ctx.width) if v_ctx and v_ctx.width else None
        height = int(v_ctx.height) if v_ctx and v_ctx.height else None
        rotation = quicktime_rotation(p) if video is not None and "mp4" in fmt.split(",") else 0
        if rotation in (90, 270):
            width, height = height, width
        info = MediaInfo(
            path=str(p),
            format=fmt,
            duration=duration,
            size_bytes=size,
            has_audio=audio is not None,
            has_video=video is not None,
            audio_codec=a_ctx.name if a_ctx else None,
            sample_rate=int(a_ctx.sample_rate) if a_ctx and a_ctx.sample_rate else None,
            channels=int(a_ctx.layout.nb_channels) if a_ctx else None,
            video_codec=v_ctx.name if v_ctx else None,
            width=width,
            height=height,
            fps=_fps(video) if video else None,
            rotation=rotation,
        )
        _check_truncated(p, info, container)
    return info


def _boxes(f: BinaryIO, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """The ISO media boxes between ``start`` and ``end``: ``(type, content start, box end)``."""
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        head = f.read(8)
        if len(head) < 8:
            return
        size, kind = struct.unpack(">I4s", head)
        offset = 8
        if size == 1:
            large = f.read(8)
            if len(large) < 8:
                return
            size, offset = struct.unpack(">Q", large)[0], 16
        elif size == 0:  # to the end
            size = end - pos
        if size < offset or pos + size > end:
            return
        yield kind, pos + offset, pos + size
        pos += size


def quicktime_rotation(path: Path) -> int:
    """The clockwise turn (0, 90, 180 or 270 degrees) an MP4/MOV file's first video track is shown
    with: a phone stores a portrait video as landscape frames and a matrix to show them by (its
    track header's), which PyAV reports only on decoded frames (a 1080p frame: ~40 ms, where the
    probe takes ~5). Reads the box headers and the matrix (a few reads of bytes); 0 when there is
    none or the file's boxes cannot be followed."""
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            for kind, start, end in itertools.islice(_boxes(f, 0, size), 64):
                if kind != b"moov":
                    continue
                for kind, tstart, tend in itertools.islice(_boxes(f, start, end), 64):
                    if kind == b"trak" and (turn := _video_track_turn(f, tstart, tend)) is not None:
                        return turn
                return 0
    except (OSError, struct.error, IndexError):  # a box cut short: no turn read
        pass
    return 0


def _video_track_turn(f: BinaryIO, start: int, end: int) -> int | None:
    """A ``trak`` box's turn (``quicktime_rotation``) when it is a video track, else None."""
    matrix: tuple[int, ...] | None = None
    video = False
    for kind, bstart, bend in _boxes(f, start, end):
        if kind == b"tkhd":
            f.seek(bstart)
            version = f.read(1)[0]
            # version, flags; times, track id, reserved, duration (v1: 64-bit times and duration);
            # reserved, layer, alternate group, volume, reserved; then the 3x3 matrix
            f.seek(bstart + 4 + (32 if version == 1 else 20) + 16)
            matrix = struct.unpack(">9i", f.read(36))
        elif kind == b"mdia":
            for sub, sstart, _ in _boxes(f, bstart, bend):
                if sub == b"hdlr":
                    f.seek(sstart + 8)  # version, flags, pre-defined
                    video = f.read(4) == b"vide"
    if not video or matrix is None:
        return None
    a, b = matrix[0], matrix[1]  # 16.16 fixed point; FFmpeg's display rotation is -atan2(b, a)
    return round(-math.degrees(math.atan2(b, a)) / 90) % 4 * 90


def _check_truncated(path: Path, info: MediaInfo, container: Any, slack_s: float = 1.5) -> None:
    """Fail when the media's data ends well before its stated duration.

    A file cut short often still opens (an MP4's index may sit at the front). Demuxing its last
    seconds (a seek and a few packets, no decoding; milliseconds) shows where the data ends.
    """
    import av

    tail = max(0.0, info.duration - 2.0)
    last: float | None = None
    try:
        if tail > 0:
            container.seek(int(tail * av.time_base), any_frame=False, backward=True)
        for packet in container.demux():
            if packet.pts is not None and packet.time_base is not None:
                t = float(packet.pts * packet.time_base)
                last = t if last is None else max(last, t)
    except av.error.FFmpegError as err:
        raise MediaError(f"{path}: the file is corrupt ({err}); copy or upload it again.") from None
    if last is None or last < info.duration - slack_s:
        where = "no data" if last is None else f"data only to {last:.1f} s"
        raise MediaError(
            f"{path}: the file is truncated ({where} of a stated {info.duration:.1f} s); copy or upload it again."
        )


class MonoResampler:
    """Decoded audio frames to mono float32 samples at ``sample_rate`` Hz, mixed as Whisper's own
    loaders mix them (faster-whisper's ``decode_audio``, ``ffmpeg -ac 1``): through signed 16-bit,
    where FFmpeg averages the channels. Resampling straight to float adds them at 0.707 each
    instead, 3 dB louder on stereo, which changed a film clip's transcript.
    """

    def __init__(self, sample_rate: int = SAMPLE_RATE) -> None:
        import av

        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)

    def resample(self, frame: Any) -> list[np.ndarray]:
        """Samples of ``frame`` (``None`` flushes what the resampler holds after the last frame)."""
        import numpy as np

        return [out.to_ndarray().reshape(-1).astype(np.float32) / 32768.0 for out in self._resampler.resample(frame)]


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE, *,
               progress: Callable[[float], None] | None = None, max_seconds: float | None = None) -> np.ndarray:
    """Decode the first audio stream to mono float32 at ``sample_rate`` Hz.

    Decodes in-process with PyAV (FFmpeg's libraries, as faster-whisper does): about three
    times faster than piping through an ffmpeg process, which matters for short clips. Chunks
    (``iter_audio``) are written into one buffer sized from the stated duration (no list of chunks
    to join, so the peak is the result itself, not twice it); ``progress(fraction)`` is called
    every few seconds of audio and may raise to stop (a cancelled job); ``max_seconds`` stops a
    file whose audio runs past its stated duration. A long file is better read in blocks
    (``iter_audio`` and ``audio_blocks``).

    Raises:
        NoAudioError: the file has no audio stream, or it decodes to no samples.
        MediaError: the audio could not be decoded, or it is longer than ``max_seconds``.
    """
    import av
    import numpy as np

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stated = container.duration / 1_000_000 if container.duration else 0.0
    except av.error.FFmpegError as err:
        raise MediaError(f"{path}: could not decode the audio ({err}).") from None
    buffer = np.empty(int((stated + 1) * sample_rate) if stated > 0 else sample_rate * 60, np.float32)
    size = 0
    for samples in iter_audio(path, sample_rate, progress=progress, max_seconds=max_seconds):
        if size + samples.size > buffer.size:  # the stated duration was short: grow by half
            buffer = np.resize(buffer, max(size + samples.size, buffer.size * 3 // 2))
        buffer[size:size + samples.size] = samples
        size += samples.size
    return buffer[:size].copy() if size < buffer.size * 0.9 else buffer[:size]


BLOCK_S = 15 * 60.0
"""Audio is handed to the recogniser in blocks of about this many seconds (``audio_blocks``)."""


def audio_blocks(chunks: Iterable[np.ndarray], block_s: float = BLOCK_S, sample_rate: int = SAMPLE_RATE,
                 quiet_s: float = 0.5, look_back_s: float = 30.0) -> Iterator[np.ndarray]:
    """Regroup a stream of audio chunks into blocks of about ``block_s`` seconds, each cut at the
    quietest ``quiet_s`` of its last ``look_back_s`` (a pause, not a word), so memory holds a block
    or two whatever the duration. Audio shorter than a block comes as one block, unchanged.
    """
    import numpy as np

    size, window = int(block_s * sample_rate), int(quiet_s * sample_rate)
    pending: list[np.ndarray] = []
    held = 0
    for chunk in chunks:
        pending.append(chunk)
        held += chunk.size
        if held < size + int(look_back_s * sample_rate):
            continue
        audio = np.concatenate(pending)
        start = size - int(look_back_s * sample_rate)
        power = np.concatenate(([0.0], np.cumsum(audio[start:size].astype(np.float64) ** 2)))
        energy = (power[window:] - power[:-window])[:: max(1, window // 4)]  # of each quiet_s, in steps
        cut = start + int(np.argmin(energy)) * max(1, window // 4) + window // 2
        yield audio[:cut]
        pending, held = [audio[cut:].copy()], audio.size - cut
    if held:
        yield np.concatenate(pending) if len(pending) > 1 else pending[0]


def iter_audio(path: str | Path, sample_rate: int = SAMPLE_RATE, *, progress: Callable[[float], None] | None = None,
               max_seconds: float | None = None) -> Iterator[np.ndarray]:
    """The first audio stream as mono float32 chunks at ``sample_rate`` Hz, as they are decoded
    (what ``load_audio`` gathers into one array). ``progress`` and ``max_seconds`` as there.

    Raises:
        NoAudioError: no audio stream, or it decodes to no samples.
        MediaError: the audio could not be decoded, or it is longer than ``max_seconds``.
    """
    import av

    size = 0
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise NoAudioError(f"{path}: has no audio stream.")
            stream = container.streams.audio[0]
            stated = container.duration / 1_000_000 if container.duration else 0.0
            limit = int(max_seconds * sample_rate) if max_seconds else None
            resampler = MonoResampler(sample_rate)
            report_every, next_report = sample_rate * 5, sample_rate * 5
            frames = (out for frame in container.decode(stream) for out in resampler.resample(frame))
            flushed = (out for _ in (None,) for out in resampler.resample(None))  # after the last frame
            for samples in itertools.chain(frames, flushed):
                if limit is not None and size + samples.size > limit:
                    raise MediaError(f"{path}: the audio runs longer than {max_seconds:.0f} s.")
                size += samples.size
                if progress is not None and size >= next_report:
                    next_report = size + report_every
                    progress(min(size / max(stated * sample_rate, 1.0), 1.0))
                yield samples
    except av.error.FFmpegError as err:
        raise MediaError(f"{path}: could not decode the audio ({err}).") from None
    if size == 0:
        raise NoAudioError(f"{path}: the audio stream holds no samples.")
