"""Whisper's log-Mel features for a long recording, a stretch of frames at a time.

faster-whisper computes the features of everything it is given in one go: the windowed frames,
their spectrum and its magnitudes for the whole block at once, about 50 MB per minute of audio
on top of the block itself (a 10-minute block peaked at 933 MB against 407 MB for 2 minutes,
tiny.en). ``ChunkedFeatureExtractor`` takes the spectrum 30 s of frames at a time (each frame's
transform is its own) and keeps only the magnitudes; the Mel product and the one global step (the
floor 8 below the loudest value) are taken once all frames are in, as faster-whisper takes them,
each step written over the one before, and the recording is padded into one array (not two):
110 MiB at the peak for 10 minutes (tracemalloc), against 174 MiB with two padded copies and
each step a new array, and 587 MiB for faster-whisper's own.

Its voice activity detector (Silero, ONNX Runtime) likewise runs 10,000 windows of 32 ms (5.3
minutes) in one call: ~210 MB at once on 10 minutes of audio (``bench_job`` found it at the
job's memory peak, beside an OCR read). ``use_bounded_vad`` has it run them ``VAD_WINDOWS_PER_RUN`` at a time, the LSTM's
state carried from one run to the next as between faster-whisper's own: the same speech
timestamps, ~100 MB at once, and a little less CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from faster_whisper.feature_extractor import FeatureExtractor

FRAMES_PER_STEP = 3000  # 30 s of 10 ms frames
VAD_WINDOWS_PER_RUN = 500  # 16 s of audio


class ChunkedFeatureExtractor(FeatureExtractor):  # type: ignore[misc]
    """``FeatureExtractor`` with the same output, bit for bit, and well under half its memory peak."""

    @classmethod
    def like(cls, other: Any) -> ChunkedFeatureExtractor:
        """One with the settings of faster-whisper's ``other`` (the model's own)."""
        return cls(feature_size=other.mel_filters.shape[0], sampling_rate=other.sampling_rate,
                   hop_length=other.hop_length, chunk_length=other.chunk_length, n_fft=other.n_fft)

    def __call__(self, waveform: np.ndarray, padding: int = 160, chunk_length: int | None = None) -> np.ndarray:
        if chunk_length is not None:  # as faster-whisper's: it keeps the last chunk length asked for
            self.n_samples = chunk_length * self.sampling_rate
            self.nb_max_frames = self.n_samples // self.hop_length
        half = self.n_fft // 2
        padded = _centred(np.asarray(waveform, dtype=np.float32), padding, half)
        n_frames = 1 + (len(padded) - self.n_fft) // self.hop_length
        step = padded.strides[0]
        frames = np.lib.stride_tricks.as_strided(padded, (n_frames, self.n_fft), (self.hop_length * step, step),
                                                 writeable=False)
        window = np.hanning(self.n_fft + 1)[:-1].astype("float32")
        kept = n_frames - 1  # faster-whisper drops the last frame
        # The magnitudes of every frame are kept (a quarter of the spectrum's bytes), laid out as
        # faster-whisper's are, so that the one matrix product below is the same call on the same
        # layout: the features are bit for bit faster-whisper's (a product taken per stretch rounds
        # differently, and Whisper's decoding can turn on such a last bit).
        magnitudes = np.empty((kept, self.n_fft // 2 + 1), np.float32)
        for start in range(0, kept, FRAMES_PER_STEP):
            end = min(kept, start + FRAMES_PER_STEP)
            spectrum = np.fft.rfft(frames[start:end] * window, n=self.n_fft, axis=-1).astype("complex64")
            magnitudes[start:end] = np.abs(spectrum) ** 2
            del spectrum
        del frames, padded
        log_spec: np.ndarray = self.mel_filters @ magnitudes.T
        del magnitudes
        # faster-whisper's steps, each written over the one before (the same float32 values: the
        # Python numbers stay weak scalars), so no step holds two copies of the features.
        np.clip(log_spec, 1e-10, None, out=log_spec)
        np.log10(log_spec, out=log_spec)
        if kept:
            np.maximum(log_spec, log_spec.max() - 8.0, out=log_spec)
        log_spec += 4.0
        log_spec /= 4.0
        return log_spec


def _centred(waveform: np.ndarray, padding: int, half: int) -> np.ndarray:
    """``waveform`` with ``padding`` zeros after it, then reflected ``half`` samples at both ends
    (the transform's centring), made in one array: faster-whisper's two ``np.pad`` calls, which
    held two copies of the recording at once (~38 MB each for 10 minutes)."""
    n = len(waveform) + padding
    if n <= half:  # too short to reflect once: np.pad reflects again and again
        return np.pad(np.pad(waveform, (0, padding)), (half, half), mode="reflect")
    padded = np.empty(n + 2 * half, np.float32)
    body = padded[half:half + n]
    body[:len(waveform)] = waveform
    body[len(waveform):] = 0.0
    padded[:half] = body[half:0:-1]
    padded[half + n:] = body[-2:-half - 2:-1]
    return padded


def use_chunked_features(model: Any) -> None:
    """Make a ``faster_whisper.WhisperModel`` compute its features with ``ChunkedFeatureExtractor``
    (anything without faster-whisper's extractor, such as a test's fake, is left as it is)."""
    current = getattr(model, "feature_extractor", None)
    if isinstance(current, FeatureExtractor) and not isinstance(current, ChunkedFeatureExtractor):
        model.feature_extractor = ChunkedFeatureExtractor.like(current)


class _WindowsAtATime:
    """An ONNX Runtime session of Silero's VAD that runs its input ``windows`` windows at a time."""

    def __init__(self, session: Any, windows: int) -> None:
        self.session = session
        self.windows = windows

    def run(self, names: Any, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        batch, h, c = feed["input"], feed["h"], feed["c"]
        outputs = []
        for i in range(0, len(batch), self.windows):
            output, h, c = self.session.run(names, {"input": batch[i:i + self.windows], "h": h, "c": c})
            outputs.append(output)
        return [np.concatenate(outputs, axis=0), h, c]


def use_bounded_vad(windows: int = VAD_WINDOWS_PER_RUN) -> None:
    """Make faster-whisper's voice activity detector (one per process) run ``windows`` windows per
    call of ONNX Runtime instead of 10,000 (see the module's notes). Idempotent."""
    from faster_whisper.vad import get_vad_model

    model = get_vad_model()
    if not isinstance(model.session, _WindowsAtATime):
        model.session = _WindowsAtATime(model.session, windows)
