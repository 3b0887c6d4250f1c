"""Shot changes on generated videos with cuts at known frames, with and without key frames there."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pipelines.exceptions import MediaError
from pipelines.shots import ShotOptions, ShotTracker, _spaced, detect_shot_changes

FPS = 25


def make_video(path: Path, *, key_frames_at_cuts: bool) -> tuple[float, float]:
    """2 s of a test pattern, 38 frames of colour bars, 1.5 s of a fractal zoom; the two cut times."""
    graph = ("[2:v]trim=duration=1.5,setpts=PTS-STARTPTS[m];"
             "[0:v][1:v][m]concat=n=3:v=1:a=0,format=yuv420p[out]")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=s=320x180:r={FPS}:d=2",
         "-f", "lavfi", "-i", f"smptebars=s=320x180:r={FPS}:d=1.52",
         "-f", "lavfi", "-i", f"mandelbrot=s=320x180:r={FPS}",
         "-filter_complex", graph, "-map", "[out]", "-c:v", "libx264", "-preset", "ultrafast", "-g", "250",
         *([] if key_frames_at_cuts else ["-sc_threshold", "0"]), str(path)],
        check=True,
    )
    return 2.0, 2.0 + 38 / FPS


@pytest.mark.parametrize("key_frames_at_cuts", [True, False])
def test_cuts_found_to_the_frame(tmp_path: Path, key_frames_at_cuts: bool) -> None:
    video = tmp_path / "cuts.mp4"
    expected = make_video(video, key_frames_at_cuts=key_frames_at_cuts)
    found = detect_shot_changes(video)
    assert len(found) == len(expected)
    for got, want in zip(found, expected, strict=True):
        assert got == pytest.approx(want, abs=0.5 / FPS)


def test_a_still_picture_has_no_cut(tmp_path: Path) -> None:
    video = tmp_path / "still.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=navy:s=320x180:r=24:d=12",
                    "-c:v", "libx264", "-preset", "ultrafast", str(video)], check=True)
    assert detect_shot_changes(video) == ()


def test_slide_changes_of_the_sample_lesson(samples: Path) -> None:
    slides = json.loads((samples / "lesson.json").read_text())["slides"]
    found = detect_shot_changes(samples / "lesson.mp4")
    assert len(found) == len(slides) - 1
    for got, slide in zip(found, slides[1:], strict=True):
        assert got == pytest.approx(slide["start"], abs=1.5 / 24)


def _tracked(video: Path) -> ShotTracker:
    import av

    tracker = ShotTracker()
    with av.open(str(video)) as container:
        for frame in container.decode(container.streams.video[0]):
            tracker.add(frame)
    return tracker


@pytest.mark.parametrize("key_frames_at_cuts", [True, False])
def test_a_tracker_fed_every_frame_finds_the_same_cuts(tmp_path: Path, key_frames_at_cuts: bool) -> None:
    video = tmp_path / "cuts.mp4"
    expected = make_video(video, key_frames_at_cuts=key_frames_at_cuts)
    tracker = _tracked(video)
    tracker.end(complete=True)
    found = tracker.cuts()
    assert found is not None and found == detect_shot_changes(video)
    assert found == pytest.approx(expected, abs=0.5 / FPS)


def test_a_tracker_on_the_sample_lesson_finds_its_slide_changes(samples: Path) -> None:
    tracker = _tracked(samples / "lesson.mp4")
    tracker.end(complete=True)
    assert tracker.cuts() == detect_shot_changes(samples / "lesson.mp4") != ()


def test_a_cut_among_the_frames_a_flush_returns_is_timed(tmp_path: Path) -> None:
    """The last frames come out of the decoder's flush, where PyAV gives them no time base (their
    time is not a number): the tracker times them on from the frame before, so a cut there is
    found where it is, as a plain decode finds it (it came out NaN, and changed the other cuts)."""
    import av

    video = tmp_path / "late.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s=320x180:r={FPS}:d=2",
         "-f", "lavfi", "-i", f"smptebars=s=320x180:r={FPS}:d=0.24",
         "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0,format=yuv420p[out]", "-map", "[out]",
         "-c:v", "libx264", "-preset", "ultrafast", str(video)],
        check=True,
    )
    tracker = ShotTracker()
    flushed = []
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "FRAME"
        stream.codec_context.thread_count = 8  # the decoder holds several frames at the end
        for packet in container.demux(stream):
            for frame in stream.decode(packet) if packet.size else []:
                tracker.add(frame)
        for frame in stream.decode(None):
            flushed.append(frame.time)
            tracker.add(frame)
    tracker.end(complete=True)
    assert flushed  # the frames the flush returned, a cut among them
    assert tracker.cuts() == detect_shot_changes(video) == pytest.approx((2.0,), abs=0.5 / FPS)


def test_cuts_are_spaced_in_order_whatever_else_came_with_them() -> None:
    for _ in range(20):  # each NaN hashes by its identity: a set of them iterates in another order
        found = [3.0, float("nan"), 1.2, float("nan"), 1.0, 2.0, float("inf")]
        assert _spaced(found, ShotOptions(min_shot_s=0.5)) == (1.0, 2.0, 3.0)


def test_a_tracker_that_did_not_see_the_end_has_no_answer(tmp_path: Path) -> None:
    video = tmp_path / "cuts.mp4"
    make_video(video, key_frames_at_cuts=True)
    tracker = _tracked(video)
    tracker.end(complete=False)  # the decoder stopped before the end of the stream
    tracker.end(complete=True)  # ignored: it ended once
    assert tracker.cuts() is None


def test_waiting_for_a_tracker_may_be_stopped() -> None:
    def cancel() -> None:
        raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        ShotTracker().cuts(cancel, poll_s=0.01)


def test_audio_only_is_refused(tmp_path: Path) -> None:
    audio = tmp_path / "tone.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=d=1", str(audio)], check=True)
    with pytest.raises(MediaError, match="no video stream"):
        detect_shot_changes(audio)
