"""One pass over a media file: its audio for the recogniser and its video for the frame sampler.

The file is demuxed once, in a thread of its own. Audio packets are decoded and resampled to
16 kHz mono as they come, into chunks (no buffer sized from the stated duration); video packets
are handed on still compressed, and the frame sampler (``pipelines.ocr.frames.read_samples``)
decodes them at its own pace. The decoded audio is kept at most ``max_audio_s`` ahead of its
reader (the recogniser takes it in blocks, ``pipelines.media.audio_blocks``), so memory does not
grow with the duration. Compressed video is small next to decoded frames (a screencast:
about 1 Mbit/s), so the demuxer runs ahead of the sampler: the recogniser has the whole audio in
the time it takes to read the file, while OCR is still decoding frames. The packets waiting are
bounded (``max_queued_bytes``, 32 MB). Where a long or heavy video fills that (footage at a few
Mbit/s: ten minutes at 4.8 Mbit/s are 360 MB of packets) while the audio is still wanted, the
demuxer keeps no more video packets and goes on for the audio; the sampler, once it has decoded
the ones kept, reads the rest from the file itself, from the packet where the demuxer stopped
(``_Spilled``), so its decoder gets the same packets in the same order. Without an audio
consumer, a full queue holds the demuxer back until the sampler catches up.

When ``shots`` is wanted too, the frames the sampler decodes are also looked at for shot
changes (``shots()``): a thumbnail per frame, instead of a second read and decode of the file
(``pipelines.shots.detect_shot_changes``).

A consumer that stops (its stage failed, was cancelled, or needs no more) calls ``release``; the
pass then drops what only that consumer wanted. ``close`` stops the pass.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.exceptions import MediaError, NoAudioError
from pipelines.media import MonoResampler
from pipelines.shots import ShotOptions, ShotTracker

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
AUDIO = "audio"
VIDEO = "video"
SHOTS = "shots"  # the shot changes of the video the frame sampler decodes
_END = object()

MAX_QUEUED_BYTES = 32 << 20
"""Compressed video kept waiting for the frame sampler, at most (``MediaPass``'s default): 4 minutes
of a 1 Mbit/s screencast, 53 s of 4.8 Mbit/s footage."""


@dataclass(frozen=True)
class _Spilled:
    """In the video queue, where the demuxer stopped keeping video packets: the first packet it
    did not keep (its decode time stamp, presentation time stamp and byte position in the file)."""

    dts: int | None
    pts: int | None
    pos: int

    def is_packet(self, packet: Any) -> bool:
        if self.pos >= 0 and packet.pos is not None and packet.pos >= 0:
            return bool(packet.pos == self.pos)
        return bool(packet.dts == self.dts and packet.pts == self.pts)

    def is_past(self, packet: Any) -> bool:
        """Whether ``packet`` lies after this one (a seek that went too far)."""
        return self.dts is not None and packet.dts is not None and packet.dts > self.dts


@dataclass(frozen=True)
class PassTiming:
    """Seconds the demuxer thread spent reading packets and decoding audio, and its wall time."""

    demux: float
    audio_decode: float
    total: float


class MediaPass:
    """Reads ``path`` once for the consumers named in ``wants`` (``audio``, ``video``, ``shots``).

    ``audio_chunks()`` gives the audio track as 16 kHz mono float32 chunks (``audio()``: joined);
    ``video_stream()`` gives the video stream (to set up a decoder) and ``video_packets()`` its
    packets in order. The demuxer starts on the first of these calls.
    """

    def __init__(self, path: str | Path, wants: set[str], *, sample_rate: int = SAMPLE_RATE,
                 max_queued_bytes: int = MAX_QUEUED_BYTES, max_audio_s: float = 20 * 60.0,
                 max_seconds: float | None = None, shot_options: ShotOptions | None = None) -> None:
        import av

        self.path = Path(path)
        self.sample_rate = sample_rate
        self.max_seconds = max_seconds
        self._wants = set(wants)
        self._lock = threading.Lock()
        self._started = False
        self._stop = threading.Event()
        self._audio_done = threading.Event()
        self._chunks: list[np.ndarray] = []
        self._audio_samples = 0
        self._held_audio = 0
        self._max_audio = int(max_audio_s * sample_rate)
        self._error: BaseException | None = None
        self._packets: queue.Queue[Any] = queue.Queue()
        self._room = threading.Condition()
        self._queued_bytes = 0
        self._max_queued_bytes = max_queued_bytes
        self._spilled: _Spilled | None = None  # set by the demuxer thread when it stops keeping video
        self.timing: PassTiming | None = None
        self._audio_progress: Callable[[float], None] | None = None
        try:
            self._container = av.open(str(self.path), metadata_errors="ignore")
        except av.error.FFmpegError as err:
            raise MediaError(f"{self.path}: not a readable media file ({err}).") from None
        streams = self._container.streams
        self._audio = streams.audio[0] if streams.audio else None
        self._video = next((s for s in streams.video if not s.disposition & av.stream.Disposition.attached_pic), None)
        self._thread = threading.Thread(target=self._run, name=f"demux:{self.path.name}", daemon=True)
        wants_shots = self._video is not None and {SHOTS, VIDEO} <= self._wants
        self._shots: ShotTracker | None = ShotTracker(shot_options) if wants_shots else None

    # ---- consumers

    def audio(self, progress: Callable[[float], None] | None = None) -> np.ndarray:
        """The whole audio track, 16 kHz mono float32 (``audio_chunks`` joined)."""
        import numpy as np

        chunks = list(self.audio_chunks(progress))
        return np.concatenate(chunks) if len(chunks) > 1 else chunks[0]

    def audio_chunks(self, progress: Callable[[float], None] | None = None) -> Iterator[np.ndarray]:
        """The audio track as 16 kHz mono float32 chunks, as the demuxer decodes them; it stays at
        most ``max_audio_s`` ahead of the reader. ``progress(fraction)`` is called while waiting
        and may raise to stop (a cancelled job).

        Raises:
            NoAudioError: no audio stream, or no samples in it.
            MediaError: the file could not be read, or its audio runs past ``max_seconds``.
        """
        if self._audio is None:
            self.release(AUDIO)
            raise NoAudioError(f"{self.path}: has no audio stream.")
        self._start()
        stated = float(self._container.duration or 0) / 1_000_000
        taken = 0
        while True:
            with self._room:
                while not self._chunks and not self._audio_done.is_set():
                    self._room.wait(0.25)
                    if progress is not None and not self._chunks:
                        progress(min(0.99, self._audio_samples / max(stated * self.sample_rate, 1.0)))
                chunks, self._chunks = self._chunks, []
                self._held_audio = 0
                self._room.notify_all()
            for chunk in chunks:
                taken += chunk.size
                yield chunk
            if not chunks and self._audio_done.is_set():
                break
        if self._error is not None:
            raise self._error
        if taken == 0:
            raise NoAudioError(f"{self.path}: the audio stream holds no samples.")

    def video_stream(self) -> Any:
        """The video stream being read (its codec parameters and time base), or None. Frames
        decoded through it (``decode``) are also handed to the shot tracker (``shots``)."""
        return _TappedStream(self._video, self) if self._video is not None else None

    def shots(self) -> ShotTracker | None:
        """The shot changes found in the frames the frame sampler decodes (``shots`` and
        ``video`` wanted); None without them."""
        return self._shots

    def _decoded(self, frames: list[Any], end: bool) -> None:
        """Frames the sampler decoded (``end``: the decoder's last, after the end of the stream)."""
        shots = self._shots
        if shots is None:
            return
        try:
            for frame in frames:
                shots.add(frame)
        except Exception as err:  # never into the frame sampler: the subtitles read the file instead
            log.warning("%s: shot changes not tracked in the one pass: %s", self.path.name, err)
            shots.end(complete=False)
            self._shots = None
            return
        if end:
            shots.end(complete=True)

    def video_packets(self) -> Iterator[Any]:
        """The video stream's packets, in file order (the demuxer starts if it has not)."""
        if self._video is None:
            return
        self._start()
        while True:
            item = self._packets.get()
            if isinstance(item, _Spilled):
                yield from self._packets_from_file(item)
                return
            if item is _END:
                if self._error is not None and not isinstance(self._error, NoAudioError):
                    raise self._error
                return
            with self._room:
                self._queued_bytes -= item.size
                self._room.notify_all()
            yield item

    def _packets_from_file(self, mark: _Spilled) -> Iterator[Any]:
        """The video packets from ``mark`` on, read from the file by a demuxer of their own: a
        seek to the keyframe before it, then forward to it; from the start of the file where the
        seek went past it (or failed).

        Raises:
            MediaError: the file could not be read again, or holds no such packet.
        """
        import av

        video = self._video
        assert video is not None  # a mark is queued only for a video stream
        log.info("%s: video packets from %.1f s on read from the file again (more than %d MB waiting for the "
                 "frame sampler while the audio was wanted)", self.path.name,
                 float((mark.dts or 0) * (video.time_base or 0)), self._max_queued_bytes >> 20)
        for start in ([mark.dts] if mark.dts is not None else []) + [None]:  # by a seek, then from the start
            try:
                container = av.open(str(self.path), metadata_errors="ignore")
            except av.error.FFmpegError as err:
                raise MediaError(f"{self.path}: could not read the video again ({err}).") from None
            with container:
                stream = container.streams[video.index]
                found = overshot = False
                try:
                    if start is not None:
                        container.seek(start, stream=stream, backward=True, any_frame=False)
                    for packet in container.demux(stream):
                        if self._stop.is_set() or not self._wanted(VIDEO):
                            return
                        if not found:
                            found = mark.is_packet(packet)
                            if not found:
                                if start is not None and mark.is_past(packet):
                                    overshot = True
                                    break
                                continue
                        if packet.size:
                            yield packet
                except av.error.FFmpegError as err:
                    if found or start is None:
                        raise MediaError(f"{self.path}: could not read the media ({err}).") from None
                if found:
                    return
                log.debug("%s: the seek to the packet at dts %s %s; reading from the start", self.path.name,
                          mark.dts, "went past it" if overshot else "did not find it")
        raise MediaError(f"{self.path}: the video packet at dts {mark.dts} (byte {mark.pos}) could not be found "
                         "when reading the file again: the file changed while it was read?")

    def release(self, what: str) -> None:
        """The consumer of ``what`` needs nothing more: stop keeping it."""
        # The shot tracker first: a reader that sees the video unwanted stops, and its decoder's
        # last frames must not end the tracker as if it had reached the end.
        if what in (VIDEO, SHOTS) and self._shots is not None:
            self._shots.end(complete=False)  # a no-op when the decoder reached the end
            self._shots = None
        with self._lock:
            self._wants.discard(what)
        with self._room:
            self._room.notify_all()
        if what == VIDEO:  # drop the packets no one will decode
            while True:
                try:
                    self._packets.get_nowait()
                except queue.Empty:
                    break
            with self._room:
                self._queued_bytes = 0
                self._room.notify_all()
            self._packets.put(_END)  # a reader still iterating ends here (its decoder's last frames)
        if not self._wants:
            self.close()

    def close(self) -> None:
        """Stop reading and let the thread end."""
        if self._shots is not None:  # first, as in ``release``
            self._shots.end(complete=False)
        self._stop.set()
        with self._room:
            self._room.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._container.close()

    # ---- the demuxer thread

    def _start(self) -> None:
        with self._lock:
            if not self._started:
                self._started = True
                self._thread.start()

    def _wanted(self, what: str) -> bool:
        with self._lock:
            return what in self._wants

    def _run(self) -> None:
        import av

        started = time.perf_counter()
        t_audio = 0.0
        streams = [s for s, what in ((self._audio, AUDIO), (self._video, VIDEO)) if s is not None and self._wanted(what)]
        resampler = MonoResampler(self.sample_rate)
        limit = int(self.max_seconds * self.sample_rate) if self.max_seconds else None
        try:
            for packet in self._container.demux(*streams):
                if self._stop.is_set() or (self._spilled is not None and not self._wanted(AUDIO)):
                    break  # stopped; or only the video's reader is left, and it reads the file itself
                if packet.stream is self._video:
                    self._put_video(packet)
                elif packet.stream is self._audio and self._wanted(AUDIO):
                    now = time.perf_counter()
                    for frame in packet.decode():
                        assert isinstance(frame, av.AudioFrame)
                        self._add_audio(resampler.resample(frame), limit)
                    t_audio += time.perf_counter() - now
            now = time.perf_counter()
            if self._wanted(AUDIO) and self._audio is not None:
                self._add_audio(resampler.resample(None), limit)
            t_audio += time.perf_counter() - now
        except av.error.FFmpegError as err:
            self._error = MediaError(f"{self.path}: could not read the media ({err}).")
        except MediaError as err:
            self._error = err
        finally:
            with self._room:
                self._audio_done.set()
                self._room.notify_all()
            self._packets.put(_END)
            total = time.perf_counter() - started
            self.timing = PassTiming(round(total - t_audio, 3), round(t_audio, 3), round(total, 3))
            log.info("%s: one pass in %.1f s (audio decode %.1f s)", self.path.name, total, t_audio)

    def _add_audio(self, chunks: list[np.ndarray], limit: int | None) -> None:
        for samples in chunks:
            if limit is not None and self._audio_samples + samples.size > limit:
                raise MediaError(f"{self.path}: the audio runs longer than {self.max_seconds:.0f} s.")
            with self._room:  # wait for the reader when it is far behind
                while (self._held_audio > self._max_audio and self._wanted(AUDIO)
                       and not self._stop.is_set()):
                    self._room.wait(0.5)
                self._chunks.append(samples)
                self._held_audio += samples.size
                self._audio_samples += samples.size
                self._room.notify_all()
    def _put_video(self, packet: Any) -> None:
        if not self._wanted(VIDEO) or packet.size == 0 or self._spilled is not None:
            return
        with self._room:
            while (self._queued_bytes > self._max_queued_bytes and self._wanted(VIDEO)
                   and not self._stop.is_set()):
                if self._wanted(AUDIO):  # the audio's reader would wait behind the video: keep no more
                    self._spilled = _Spilled(packet.dts, packet.pts, packet.pos if packet.pos is not None else -1)
                    self._packets.put(self._spilled)
                    return
                self._room.wait(0.5)  # no audio wanted: wait for the sampler
            self._queued_bytes += packet.size
        self._packets.put(packet)


class _TappedStream:
    """A video stream as the frame sampler decodes it: PyAV's own, except that ``decode`` also
    hands the frames to the pass (its shot tracker) on their way to the sampler."""

    def __init__(self, stream: Any, owner: MediaPass) -> None:
        object.__setattr__(self, "_stream", stream)
        object.__setattr__(self, "_owner", owner)

    def decode(self, packet: Any = None) -> list[Any]:
        frames: list[Any] = self._stream.decode(packet)
        for frame in frames:  # PyAV gives the frames a flush (``packet`` None) returns no time base
            if frame.time_base is None:
                frame.time_base = self._stream.time_base
        self._owner._decoded(frames, end=packet is None)
        return frames

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __setattr__(self, name: str, value: Any) -> None:  # thread_type, codec settings: the stream's
        setattr(self._stream, name, value)
