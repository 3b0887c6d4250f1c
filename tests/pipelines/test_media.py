"""Probing and audio decoding with the real ffmpeg, on media made here."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipelines.exceptions import MediaError, NoAudioError
from pipelines.media import audio_blocks, iter_audio, load_audio, probe


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("media")
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=3:sample_rate=44100",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=25:duration=3",
        "-shortest",
        "-c:v",
        "libx264",
        "-c:a",
        "aac",
        "-ac",
        "2",
        "-movflags",
        "+faststart",
        str(d / "av.mp4"),
    )
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=10:duration=2",
        "-c:v",
        "libx264",
        str(d / "video.mp4"),
    )
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1.5", str(d / "tone.wav"))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:duration=1", "-frames:v", "1", str(d / "still.png"))
    data = (d / "av.mp4").read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (d / "notes.mp4").write_text("these are my lecture notes, not a video\n")
    (d / "empty.mp4").write_bytes(b"")
    return d


def test_probe_video_with_audio(media: Path) -> None:
    info = probe(media / "av.mp4")
    assert info.has_audio and info.has_video
    assert info.duration == pytest.approx(3.0, abs=0.1)
    assert (info.width, info.height, info.fps) == (160, 120, 25.0)
    assert (info.sample_rate, info.channels) == (44100, 2)


@pytest.mark.parametrize("turn", [90, 180, 270])
@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_a_video_stored_turned_probes_as_shown(media: Path, tmp_path: Path, turn: int, suffix: str) -> None:
    """A phone stores a portrait video as landscape frames and a turn to show them by: it was
    described as 160x120 (stored), not as shown. The frames as decoded agree with the probe."""
    from pipelines.ocr.frames import read_samples

    turned = tmp_path / f"turned{suffix}"
    ffmpeg("-i", str(media / "av.mp4"), "-c", "copy", "-metadata:s:v:0", f"rotate={turn}", str(turned))
    info = probe(turned)
    shown = (120, 160) if turn in (90, 270) else (160, 120)
    assert (info.width, info.height, info.rotation) == (*shown, turn)
    _, samples = read_samples(turned, 2.0)
    assert next(samples).gray.shape[::-1] == shown
    assert probe(media / "av.mp4").rotation == 0


def test_video_without_audio_probes_and_load_audio_says_so(media: Path) -> None:
    info = probe(media / "video.mp4")
    assert info.has_video and not info.has_audio
    with pytest.raises(NoAudioError, match="no audio stream"):
        load_audio(media / "video.mp4")


def test_load_audio_is_16k_mono_float(media: Path) -> None:
    audio = load_audio(media / "tone.wav")
    assert audio.dtype == np.float32
    assert len(audio) == pytest.approx(1.5 * 16000, abs=400)
    assert 0.1 < float(np.abs(audio).max()) <= 1.0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("notes.mp4", "not a readable media file"),
        ("empty.mp4", "empty"),
        ("truncated.mp4", "truncated"),
        ("missing.mp4", "no such file"),
        ("still.png", "still image"),
    ],
)
def test_bad_inputs_have_clear_errors(media: Path, name: str, message: str) -> None:
    with pytest.raises(MediaError, match=message):
        probe(media / name)


def test_shared_clip_probes(testdata: Path) -> None:
    info = probe(testdata / "video" / "mdn_friday.mp4")
    assert info.has_audio and info.has_video and info.duration == pytest.approx(6.17, abs=0.05)


def test_long_audio_decodes_with_progress_cancel_and_a_bounded_peak(tmp_path: Path) -> None:
    """Issue 18, defect 7: the decode reports progress, can be stopped, refuses audio longer than
    allowed, and keeps one buffer (the peak is about the result, not twice it)."""
    import tracemalloc


    long = tmp_path / "long.m4a"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
                    "-t", "120", "-c:a", "aac", "-b:a", "16k", str(long)], check=True, timeout=120)
    seen: list[float] = []
    tracemalloc.start()
    audio = load_audio(long, progress=seen.append)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert abs(audio.size / 16000 - 120) < 1 and audio.dtype == np.float32
    assert peak < audio.nbytes * 1.5, (peak, audio.nbytes)
    assert len(seen) >= 20 and seen == sorted(seen) and 0.9 <= seen[-1] <= 1.0

    class Stop(Exception):
        pass

    def cancel(fraction: float) -> None:
        if fraction > 0.2:
            raise Stop

    with pytest.raises(Stop):
        load_audio(long, progress=cancel)
    with pytest.raises(MediaError, match="longer than 60"):
        load_audio(long, max_seconds=60)


def test_audio_blocks_cut_at_pauses_and_lose_nothing() -> None:
    rate = 16000
    tone = np.sin(np.arange(rate * 3) / 5).astype(np.float32)  # 3 s of sound, then 0.3 s of silence
    pause = np.zeros(int(rate * 0.3), np.float32)
    audio = np.concatenate([tone, pause, tone, pause, tone])
    chunks = np.array_split(audio, 97)  # as a decoder hands them
    blocks = list(audio_blocks(chunks, block_s=3.5, look_back_s=1.0, quiet_s=0.1))
    assert np.array_equal(np.concatenate(blocks), audio)
    assert len(blocks) == 3
    for block in blocks[:-1]:  # each cut falls inside a pause
        assert np.abs(block[-int(rate * 0.04):]).max() == 0
    short = [audio[:rate]]
    assert [b is short[0] for b in audio_blocks(short, block_s=3.5)] == [True]  # one block, unchanged


def test_chunks_end_with_the_resampler_s_tail(media: Path) -> None:
    """The resampler holds the last samples until flushed after the last frame: none is lost."""
    whole = load_audio(media / "tone.wav")
    chunks = list(iter_audio(media / "tone.wav"))
    assert sum(c.size for c in chunks) == whole.size == 24000  # 1.5 s at 16 kHz, to the sample


def test_stereo_is_mixed_as_faster_whisper_mixes_it(tmp_path: Path) -> None:
    """Whisper was trained on ffmpeg's mono mix (the channels averaged); a float resample adds
    them at 0.707 each, 3 dB louder, which changed a film clip's transcript."""
    from faster_whisper.audio import decode_audio

    from pipelines.demux import AUDIO, MediaPass

    path = tmp_path / "stereo.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
                    "-f", "lavfi", "-i", "sine=frequency=660:duration=1",
                    "-filter_complex", "[0][1]amerge=inputs=2,volume=0.5", "-ac", "2", str(path)], check=True)
    expected = decode_audio(str(path))
    for got in (load_audio(path), MediaPass(path, {AUDIO}).audio()):
        assert got.dtype == np.float32 and got.size == expected.size
        assert np.abs(got - expected).max() < 1e-3
