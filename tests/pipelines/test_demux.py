"""One pass over a media file for its audio and its sampled frames (real PyAV, sample media)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from pipelines.demux import AUDIO, SHOTS, VIDEO, MediaPass, _Spilled
from pipelines.exceptions import MediaError, NoAudioError
from pipelines.media import load_audio
from pipelines.ocr.frames import read_samples
from pipelines.shots import detect_shot_changes


def test_one_pass_gives_the_audio_and_the_samples_of_two_reads(samples: Path) -> None:
    lesson = samples / "lesson.mp4"
    one = MediaPass(lesson, {AUDIO, VIDEO})
    info, frames = read_samples(lesson, 2.0, source=one)
    audio = one.audio()
    got = [(s.index, s.time, s.gray.copy()) for s in frames]
    one.close()
    own_info, own = read_samples(lesson, 2.0)
    expected = [(s.index, s.time, s.gray) for s in own]
    assert info == own_info and len(got) == len(expected) > 10
    assert all(a[:2] == b[:2] and np.array_equal(a[2], b[2]) for a, b in zip(got, expected, strict=True))
    assert np.array_equal(audio, load_audio(lesson))
    assert one.timing is not None and one.timing.audio_decode > 0


def test_the_audio_comes_before_the_video_is_decoded(samples: Path) -> None:
    """Compressed video waits in the queue; the recogniser need not wait for the frame sampler."""
    one = MediaPass(samples / "lesson.mp4", {AUDIO, VIDEO})
    assert one.audio().size > 0  # nothing has decoded a frame yet
    _, frames = read_samples(samples / "lesson.mp4", 2.0, source=one)
    assert next(iter(frames)).index == 0
    one.close()


def _samples_of(path: Path, source: MediaPass | None = None) -> list[tuple[int, float, np.ndarray]]:
    _, frames = read_samples(path, 2.0, source=source)
    return [(s.index, s.time, s.gray.copy()) for s in frames]


def _same_samples(got: list[tuple[int, float, np.ndarray]], expected: list[tuple[int, float, np.ndarray]]) -> bool:
    return len(got) == len(expected) > 10 and all(
        a[:2] == b[:2] and np.array_equal(a[2], b[2]) for a, b in zip(got, expected, strict=True))


@pytest.mark.parametrize("wants", [{AUDIO, VIDEO}, {AUDIO, VIDEO, SHOTS}])
def test_video_beyond_the_queue_is_read_from_the_file_while_the_audio_goes_on(
        samples: Path, wants: set[str], caplog: pytest.LogCaptureFixture) -> None:
    """The audio's reader does not wait for the frame sampler, and the queue holds no more than
    its bound: the sampler reads the rest from the file itself and gets the same frames."""
    lesson = samples / "lesson.mp4"
    one = MediaPass(lesson, wants, max_queued_bytes=1)  # full after one packet
    tracker = one.shots()
    with caplog.at_level("INFO", logger="pipelines.demux"):
        audio = one.audio()  # the whole audio before a frame is decoded
        got = _samples_of(lesson, one)
    one.release(VIDEO)
    one.close()
    assert np.array_equal(audio, load_audio(lesson))
    assert "read from the file again" in caplog.text
    assert _same_samples(got, _samples_of(lesson))
    if tracker is not None:  # every frame decoded, as without the queue's bound
        assert tracker.cuts() == detect_shot_changes(lesson) != ()


def test_without_an_audio_reader_a_full_queue_waits_for_the_sampler(
        samples: Path, caplog: pytest.LogCaptureFixture) -> None:
    lesson = samples / "lesson.mp4"
    one = MediaPass(lesson, {VIDEO}, max_queued_bytes=1)
    with caplog.at_level("INFO", logger="pipelines.demux"):
        got = _samples_of(lesson, one)
    one.close()
    assert "read from the file again" not in caplog.text
    assert _same_samples(got, _samples_of(lesson))


def test_packets_read_again_start_at_the_mark_by_seek_or_from_the_start(samples: Path) -> None:
    import av

    lesson = samples / "lesson.mp4"
    with av.open(str(lesson)) as container:
        packets = [(p.dts, p.pts, p.pos, bytes(p)) for p in container.demux(container.streams.video[0]) if p.size]
    dts, pts, pos, _ = packets[len(packets) // 2]
    one = MediaPass(lesson, {VIDEO})
    for mark in (_Spilled(dts, pts, pos), _Spilled(None, pts, pos), _Spilled(dts, pts, -1)):
        again = [(p.dts, p.pts, p.pos, bytes(p)) for p in one._packets_from_file(mark)]
        assert again == packets[len(packets) // 2:]
    with pytest.raises(MediaError, match="could not be found"):
        list(one._packets_from_file(_Spilled(dts, pts, 1)))  # no packet starts at byte 1
    one.close()


def test_a_full_queue_is_emptied_when_the_video_reader_goes(samples: Path) -> None:
    one = MediaPass(samples / "lesson.mp4", {AUDIO, VIDEO}, max_queued_bytes=1)  # blocks after a packet
    one.video_packets()  # never read
    one.release(VIDEO)  # the OCR stage ended without reading: the demuxer goes on
    assert one.audio().size > 0
    one.close()


def test_audio_of_a_silent_video_is_a_no_audio_error(samples: Path) -> None:
    one = MediaPass(samples / "silent.mp4", {AUDIO, VIDEO})
    with pytest.raises(NoAudioError):
        one.audio()
    _, frames = read_samples(samples / "silent.mp4", 2.0, source=one)
    assert sum(1 for _ in frames) > 0
    one.close()


def test_progress_may_stop_the_wait(samples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader waiting for audio the demuxer has not got to (a slow disk: here a demuxer held
    back) is asked ``progress`` and may stop."""
    go = threading.Event()
    demux = MediaPass._run

    def held_back(self: MediaPass) -> None:
        go.wait(10)
        demux(self)

    monkeypatch.setattr(MediaPass, "_run", held_back)
    one = MediaPass(samples / "lesson.mp4", {AUDIO, VIDEO})
    fractions: list[float] = []

    def cancel(fraction: float) -> None:
        fractions.append(fraction)
        raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        one.audio(cancel)
    assert fractions == [0.0]
    go.set()
    one.close()


def test_the_frames_decoded_for_ocr_give_the_shot_changes(samples: Path) -> None:
    lesson = samples / "lesson.mp4"
    one = MediaPass(lesson, {AUDIO, VIDEO, SHOTS})
    tracker = one.shots()
    assert tracker is not None and MediaPass(lesson, {AUDIO, SHOTS}).shots() is None  # none without the frames
    _, frames = read_samples(lesson, 2.0, source=one)
    assert sum(1 for _ in frames) > 10
    one.release(VIDEO)  # as the stage graph does when OCR ends: after the end, nothing changes
    assert tracker.cuts() == detect_shot_changes(lesson) != ()
    one.close()


def test_every_frame_the_pass_decodes_has_its_time(samples: Path) -> None:
    """PyAV leaves the time base off the frames a decoder's flush returns; the pass's stream sets it."""
    import math

    one = MediaPass(samples / "lesson.mp4", {VIDEO})
    stream = one.video_stream()
    times = [frame.time for packet in one.video_packets() for frame in stream.decode(packet)]
    last = stream.decode(None)
    assert last and len(times) > 100
    assert all(math.isfinite(t) for t in times + [f.time for f in last])
    assert [f.time for f in last] == sorted(f.time for f in last) and last[0].time > times[-1]
    one.close()


@pytest.mark.parametrize("queue_bytes", [32 << 20, 1])  # the packets kept, or read from the file again
def test_shots_of_a_decode_that_stopped_early_are_no_answer(samples: Path, queue_bytes: int) -> None:
    lesson = samples / "lesson.mp4"
    one = MediaPass(lesson, {AUDIO, VIDEO, SHOTS}, max_queued_bytes=queue_bytes)
    tracker = one.shots()
    assert tracker is not None
    one.audio()
    frames = iter(read_samples(lesson, 2.0, source=one)[1])
    next(frames)
    next(frames)
    one.release(VIDEO)  # OCR stopped before the end
    rest = sum(1 for _ in frames)  # what the decoder still had; then it stops, not at the end
    assert rest < 10
    assert tracker.cuts() is None and one.shots() is None  # the caller reads the file itself
    one.close()
