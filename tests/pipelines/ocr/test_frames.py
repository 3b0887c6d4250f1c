"""Frame sampling and change detection (fast: synthetic frames and tiny generated videos)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from pipelines.exceptions import MediaError, OptionsError
from pipelines.ocr.frames import (
    Change,
    ChangeDetector,
    ChangeKind,
    ChangeOptions,
    decoded_ahead,
    open_video,
    read_samples,
    sample_frames,
)

W, H = 640, 360


def blank(value: int = 255) -> np.ndarray:
    return np.full((H, W, 3), value, np.uint8)


def with_rect(frame: np.ndarray, x: int, y: int, w: int, h: int, value: int = 0) -> np.ndarray:
    out = frame.copy()
    out[y : y + h, x : x + w] = value
    return out


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def test_sample_frames_takes_the_requested_rate(tmp_path: Path) -> None:
    frames = [blank(i * 4) for i in range(50)]  # 5 s at 10 fps
    video = write_video(tmp_path / "v.mp4", frames)
    got = list(sample_frames(video, rate=2.0))
    assert [i for i, _, _ in got] == [0, 5, 10, 15, 20, 25, 30, 35, 40, 45]
    assert [t for _, t, _ in got] == pytest.approx([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5])
    # The frames are the right ones (each frame has its own grey level).
    assert [int(f.mean()) for _, _, f in got] == pytest.approx([i * 4 for i in range(0, 50, 5)], abs=8)


def test_sample_rate_above_fps_takes_every_frame_once(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", [blank()] * 12, fps=4)
    assert [i for i, _, _ in sample_frames(video, rate=10)] == list(range(12))


def test_open_video_reports_size_and_duration(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", [blank()] * 25, fps=10)
    cap, info = open_video(video)
    cap.release()
    assert (info.width, info.height, info.frame_count) == (W, H, 25)
    assert info.duration == pytest.approx(2.5)


def test_bad_inputs_raise_media_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no such file"):
        list(sample_frames(tmp_path / "missing.mp4"))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video at all" * 100)
    with pytest.raises(MediaError):
        list(sample_frames(junk))
    with pytest.raises(OptionsError):
        list(sample_frames(junk, rate=0))


def started(frame: np.ndarray, options: ChangeOptions | None = None) -> ChangeDetector:
    """A detector that has seen ``frame`` and whose caller read it."""
    d = ChangeDetector(options or ChangeOptions())
    assert d.update(frame).kind is ChangeKind.SCENE
    d.absorb_all()
    return d


def test_first_sample_is_a_scene_and_an_unchanged_one_is_nothing() -> None:
    d = ChangeDetector()
    first = d.update(blank())
    assert (first.kind, first.regions) == (ChangeKind.SCENE, ((0, 0, W, H),))
    d.absorb_all()
    assert d.update(blank()) == Change(ChangeKind.NONE)
    # Compression-like noise below the threshold is no change.
    noisy = np.clip(blank().astype(int) - np.random.default_rng(0).integers(0, 20, (H, W, 3)), 0, 255)
    assert d.update(noisy.astype(np.uint8)).kind is ChangeKind.NONE


def test_a_changed_line_is_reported_until_read_and_moving_only_while_it_changes() -> None:
    d = started(blank(), ChangeOptions(margin=4))
    line = with_rect(blank(), 100, 200, 120, 16)
    change = d.update(line)
    assert change.kind is ChangeKind.REGIONS
    ((x0, y0, x1, y1),) = change.regions
    assert x0 <= 100 and y0 <= 200 and x1 >= 220 and y1 >= 216
    assert (x1 - x0) * (y1 - y0) < 0.05 * W * H
    assert len(change.moving) == 1  # it changed since the previous sample
    settled = d.update(line)  # not read yet: still reported, but no longer moving
    assert settled.regions == change.regions and settled.moving == ()
    d.absorb(settled.regions)
    assert d.update(line) == Change(ChangeKind.NONE)


def test_most_of_the_frame_changing_is_a_new_scene() -> None:
    d = started(blank())
    assert d.update(blank(40)).kind is ChangeKind.SCENE


def test_a_moving_cursor_is_ignored_and_a_parked_one_is_reported_apart() -> None:
    d = started(blank(), ChangeOptions(small_persist=3))
    for step in range(6):
        cursor = with_rect(blank(), 50 + 60 * step, 80 + 30 * step, 8, 12)
        change = d.update(cursor)
        assert (change.kind, change.regions, change.moving, change.small) == (ChangeKind.NONE, (), (), ()), step
    parked = with_rect(blank(), 500, 300, 8, 12)
    assert d.update(parked).small == ()  # there for one sample: may still be moving
    assert d.update(parked).small == ()
    stayed = d.update(parked)
    assert stayed.kind is ChangeKind.NONE and stayed.moving == ()
    ((x0, y0, x1, y1),) = stayed.small  # for the caller to read if it is on text
    assert x0 <= 500 <= 508 <= x1 and y0 <= 300 <= 312 <= y1
    d.absorb(stayed.small)
    assert d.update(parked) == Change(ChangeKind.NONE)


def test_two_separate_changes_give_two_regions() -> None:
    d = started(blank())
    frame = with_rect(with_rect(blank(), 20, 20, 100, 14), 400, 300, 150, 14)
    change = d.update(frame)
    assert change.kind is ChangeKind.REGIONS
    assert len(change.regions) == 2


def test_a_cursor_moving_while_a_frame_is_read_leaves_no_ghost() -> None:
    d = ChangeDetector()
    for step in range(3):
        d.update(with_rect(blank(), 100 + 80 * step, 100, 8, 12))
    d.absorb_all()
    # The cursor has gone: nothing differs from the reference (it never took the cursor in).
    assert d.update(blank()) == Change(ChangeKind.NONE)


def test_a_change_read_at_once_is_taken_in_as_it_is() -> None:
    d = started(blank())
    d.update(blank())
    line = with_rect(blank(), 100, 200, 120, 16)
    d.update(line)
    d.absorb(((0, 0, W, H),))  # read at once, before it settled
    assert d.update(line) == Change(ChangeKind.NONE)


def test_a_small_change_shaped_like_a_word_counts_once_it_held_a_second_sample() -> None:
    """A "Home" link appearing in a menu bar is as small as a cursor, but wide and low: it is read
    once it held for ``word_persist`` samples, not ``small_persist``; a cursor-shaped change of
    about the same area waits as before."""
    d = started(blank(), ChangeOptions(small_persist=6))
    word = with_rect(blank(), 100, 40, 18, 4)  # 24 x 6 as the dilated mask has it: 4 times wider than high
    first = d.update(word)
    assert first.kind is ChangeKind.NONE and first.regions == ()  # may still be passing by
    held = d.update(word)
    assert held.kind is ChangeKind.REGIONS
    ((x0, y0, x1, y1),) = held.regions
    assert x0 <= 100 and x1 >= 118 and y0 <= 40 and y1 >= 44
    d.absorb(held.regions)
    assert d.update(word) == Change(ChangeKind.NONE)
    e = started(blank(), ChangeOptions(small_persist=6))
    cursor = with_rect(blank(), 100, 40, 6, 12)  # taller than wide
    assert all(e.update(cursor).regions == () for _ in range(5))


def test_unchanged_compares_a_box_with_what_was_last_read() -> None:
    detector = ChangeDetector(ChangeOptions(diff_width=W))
    first = with_rect(with_rect(blank(), 20, 20, 200, 20), 20, 60, 200, 20)
    detector.update(first)
    detector.absorb_all()
    second = with_rect(first, 60, 60, 40, 20, value=200)  # the second line changed, the first did not
    detector.update(with_rect(second, 20, 20, 200, 20, value=20))  # noise of 20 grey levels on the first
    assert detector.unchanged((10, 10, 230, 45), threshold=32)
    assert not detector.unchanged((10, 10, 230, 45), threshold=16)
    assert not detector.unchanged((10, 50, 230, 85), threshold=32)
    assert not detector.unchanged((10, 10, 230, 85), threshold=32)  # a box over both lines
    detector.absorb([(10, 50, 230, 85)])  # read: the second line is what was read now
    assert detector.unchanged((10, 50, 230, 85), threshold=32)


class _Counting:
    """A frame tap that counts the frames decoded and keeps the grey levels of those it wants."""

    def __init__(self, wanted: set[int]) -> None:
        self.wanted = wanted
        self.offered: list[int] = []
        self.kept: dict[int, np.ndarray] = {}

    def wants(self, index: int) -> bool:
        return index in self.wanted

    def offer(self, index: int, bgr: Callable[[], np.ndarray]) -> None:
        self.offered.append(index)
        if index in self.wanted:
            self.kept[index] = bgr()


def test_samples_are_the_frames_decoding_every_frame_gives_without_decoding_every_frame(tmp_path: Path) -> None:
    """H.264 with B-frames (x264's defaults): the frames no other frame refers to are decoded only
    when they are a sample or a tap wants them; the samples and the tap's frames are the same
    pixels as decoding every frame gives."""
    import av
    from av.video.frame import PictureType

    from pipelines.ocr.frames import read_samples
    from tests.pipelines.ocr.test_caption_frames import x264_clip

    clip = x264_clip(tmp_path / "clip.mp4", seconds=6.0)
    with av.open(str(clip)) as container:
        every = list(container.decode(video=0))
    assert sum(f.pict_type == PictureType.B for f in every) > len(every) // 3
    tap = _Counting({7, 31, 113})
    info, samples = read_samples(clip, 2.0, tap=tap)
    got = [(s.index, s.gray) for s in samples]
    assert [i for i, _ in got] == [round(k * info.fps / 2.0) for k in range(12)]
    assert all(np.array_equal(g, every[i].to_ndarray(format="gray")) for i, g in got)
    assert all(np.array_equal(tap.kept[i], every[i].to_ndarray(format="bgr24")) for i in tap.wanted)
    assert len(tap.offered) < 0.75 * len(every), (len(tap.offered), len(every))


def _numbers(n: int, taken: list[int], threads: list[str], closed: list[bool], fail_at: int | None = None) -> Any:
    """0..n-1, noting what was taken and on which thread; raises at ``fail_at``; notes its close."""
    try:
        for k in range(n):
            if k == fail_at:
                raise MediaError(f"broken at {k}")
            taken.append(k)
            threads.append(threading.current_thread().name)
            yield k
    finally:
        closed.append(True)


def test_decoded_ahead_gives_the_samples_in_order_from_a_thread_of_its_own() -> None:
    taken: list[int] = []
    threads: list[str] = []
    closed: list[bool] = []
    assert list(decoded_ahead(_numbers(20, taken, threads, closed), depth=2)) == list(range(20))
    assert set(threads) == {"ocr-decode"} and closed == [True]


def test_decoded_ahead_runs_at_most_depth_samples_ahead() -> None:
    taken: list[int] = []
    closed: list[bool] = []
    ahead = decoded_ahead(_numbers(50, taken, [], closed), depth=3)
    assert next(ahead) == 0
    time.sleep(0.3)  # the thread has all the time it needs to run on
    # the one given, 3 waiting in the queue and 1 the thread holds while it waits for room
    assert len(taken) <= 1 + 3 + 1
    ahead.close()  # the caller stops early: the thread ends and closes the samples
    assert closed == [True] and len(taken) <= 1 + 3 + 1


def test_decoded_ahead_raises_the_decoders_error_after_the_samples_before_it() -> None:
    got: list[int] = []
    closed: list[bool] = []
    with pytest.raises(MediaError, match="broken at 4"):
        for k in decoded_ahead(_numbers(10, [], [], closed, fail_at=4), depth=2):
            got.append(k)
    assert got == [0, 1, 2, 3] and closed == [True]


def test_samples_decoded_ahead_are_those_decoded_in_line(tmp_path: Path) -> None:
    frames = [with_rect(blank(), 40 * k, 60, 30, 20) for k in range(12)]
    video = write_video(tmp_path / "moving.mp4", frames, fps=4)
    _, in_line = read_samples(video, rate=2.0)
    _, ahead = read_samples(video, rate=2.0)
    expected = [(s.index, s.time, s.gray.tobytes(), s.bgr().tobytes()) for s in in_line]
    got = [(s.index, s.time, s.gray.tobytes(), s.bgr().tobytes()) for s in decoded_ahead(ahead, depth=2)]
    assert got == expected and len(got) == 6
