"""Whisper's features a stretch at a time and its voice activity detector a few windows at a time
(``pipelines.asr_features``): faster-whisper's values, bit for bit, for a fraction of the memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.feature_extractor import FeatureExtractor

from pipelines.asr_features import (
    FRAMES_PER_STEP,
    VAD_WINDOWS_PER_RUN,
    ChunkedFeatureExtractor,
    use_bounded_vad,
)
from pipelines.media import SAMPLE_RATE, load_audio


def _peak_mb(extract: FeatureExtractor, audio: np.ndarray) -> float:
    tracemalloc.start()
    try:
        extract(audio)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("samples", [401, 16_000 * 7 + 13, 160 * FRAMES_PER_STEP, 160 * (2 * FRAMES_PER_STEP + 1) + 7])
def test_the_features_are_faster_whispers_bit_for_bit(samples: int) -> None:
    rng = np.random.default_rng(samples)
    audio = (rng.standard_normal(samples) * 0.1).astype(np.float32)
    base = FeatureExtractor()
    assert np.array_equal(ChunkedFeatureExtractor.like(base)(audio), base(audio))


def test_real_speech_reads_the_same_for_under_half_the_memory(samples: Path) -> None:
    speech = load_audio(samples / "lesson.mp4")
    audio = np.tile(speech, int(np.ceil(180 * SAMPLE_RATE / len(speech))))  # 3 minutes
    base = FeatureExtractor()
    chunked = ChunkedFeatureExtractor.like(base)
    assert np.array_equal(chunked(audio), base(audio))
    assert np.array_equal(chunked(speech, chunk_length=20), base(speech, chunk_length=20))
    assert (chunked.n_samples, chunked.nb_max_frames) == (base.n_samples, base.nb_max_frames)
    assert _peak_mb(chunked, audio) < _peak_mb(base, audio) / 2  # 52 against 176 MiB for these 3 minutes


def test_the_features_hold_one_copy_of_the_recording_and_nothing_of_their_size_twice() -> None:
    audio = (np.random.default_rng(3).standard_normal(180 * SAMPLE_RATE) * 0.1).astype(np.float32)
    frames = len(audio) // 160
    magnitudes_mb = frames * 201 * 4 / 2**20
    # The recording padded once (not twice, as np.pad then np.pad), the magnitudes, and a stretch's
    # working arrays; the Mel features' steps written in place: 52 MiB here (68 with two copies).
    assert _peak_mb(ChunkedFeatureExtractor.like(FeatureExtractor()), audio) < audio.nbytes / 2**20 + magnitudes_mb + 30


def test_voice_activity_a_few_windows_at_a_time_is_faster_whispers_bit_for_bit(samples: Path) -> None:
    import os

    from faster_whisper.utils import get_assets_path
    from faster_whisper.vad import SileroVADModel, get_speech_timestamps, get_vad_model

    speech = load_audio(samples / "lesson.mp4")
    audio = np.tile(speech, int(np.ceil(400 * SAMPLE_RATE / len(speech))))  # more than 10,000 windows
    audio = audio[: len(audio) // 512 * 512]
    want = SileroVADModel(os.path.join(get_assets_path(), "silero_vad_v6.onnx"))(audio)  # faster-whisper's own
    use_bounded_vad()
    use_bounded_vad()  # idempotent: wrapped once
    bounded = get_vad_model()
    inner = bounded.session.session
    runs: list[int] = []

    class Counted:
        def run(self, names: object, feed: dict[str, np.ndarray]) -> object:
            runs.append(len(feed["input"]))
            return inner.run(names, feed)

    bounded.session.session = Counted()
    try:
        got = bounded(audio)
    finally:
        bounded.session.session = inner
    assert np.array_equal(got, want)
    assert max(runs) == VAD_WINDOWS_PER_RUN and len(runs) == -(-len(audio) // 512 // VAD_WINDOWS_PER_RUN)
    assert get_speech_timestamps(speech)  # the detector in use still finds the speech


@pytest.mark.slow
def test_the_whisper_engine_computes_its_features_this_way(require_model) -> None:  # type: ignore[no-untyped-def]
    from faster_whisper.vad import get_vad_model

    from pipelines.asr import FasterWhisperEngine

    engine = FasterWhisperEngine.load("whisper-tiny.en", require_model("whisper-tiny.en"))
    assert isinstance(engine.model.feature_extractor, ChunkedFeatureExtractor)
    assert get_vad_model().session.windows == VAD_WINDOWS_PER_RUN
