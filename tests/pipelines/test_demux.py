"""One pass over a media file for its audio and its sampled frames (real PyAV, sample media)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.demux import AUDIO, SHOTS, VIDEO, MediaPass
from pipelines.exceptions import NoAudioError
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


def test_progress_may_stop_the_wait(samples: Path) -> None:
    one = MediaPass(samples / "lesson.mp4", {AUDIO, VIDEO}, max_queued_bytes=1)

    def cancel(fraction: float) -> None:
        raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        one.audio(cancel)  # the video is never read: the audio waits behind it
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


def test_shots_of_a_decode_that_stopped_early_are_no_answer(samples: Path) -> None:
    lesson = samples / "lesson.mp4"
    one = MediaPass(lesson, {AUDIO, VIDEO, SHOTS})
    tracker = one.shots()
    assert tracker is not None
    next(iter(read_samples(lesson, 2.0, source=one)[1]))
    one.release(VIDEO)  # OCR stopped before the end
    assert tracker.cuts() is None and one.shots() is None  # the caller reads the file itself
    one.close()
