"""Caption frames: the band's rows converted alone are the whole frame's rows, and the band
search's spread frames are the ones decoding every frame gives (real ffmpeg/x264 clips)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from pipelines.exceptions import MediaError
from pipelines.ocr.caption_frames import BandRows, band_frames, bands_frames, frames_at
from pipelines.ocr.frames import open_video, read_samples, sample_frames


def x264_clip(path: Path, size: str = "320x180", seconds: float = 4.0, colour: str = "bt709") -> Path:
    """Moving test footage in H.264 with B-frames (x264's defaults), tagged with a colour space."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"mandelbrot=size={size}:rate=25",
                    "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                    "-colorspace", colour, "-color_primaries", colour, "-color_trc", colour, str(path)],
                   check=True)
    return path


@pytest.mark.parametrize("colour", ["bt709", "smpte170m"])
def test_band_rows_are_the_whole_frames_rows(tmp_path: Path, colour: str) -> None:
    clip = x264_clip(tmp_path / "clip.mp4", colour=colour)
    with av.open(str(clip)) as container:
        frames = [f for _, f in zip(range(5), container.decode(video=0), strict=False)]
    for top, bottom in ((0, 180), (121, 180), (120, 147), (37, 38)):
        rows = BandRows(top, bottom)
        for frame in frames:
            want = frame.to_ndarray(format="bgr24")[top:bottom]
            got = rows(frame)
            assert got.shape == want.shape and np.array_equal(got, want), (top, bottom)


def sideways_clip(path: Path) -> Path:
    """A portrait clip (180x320 as shown, a white block at its top left) stored sideways with a
    rotation to show it by, as a phone writes one."""
    stored = path.with_name("stored.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=black:size=180x320:rate=10", "-t", "1",
                    "-vf", "drawbox=x=0:y=0:w=90:h=60:color=white:t=fill,transpose=2", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", str(stored)], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(stored), "-c", "copy", "-metadata:s:v:0", "rotate=270",
                    str(path)], check=True)
    return path


def test_frames_of_a_video_stored_sideways_come_upright(tmp_path: Path) -> None:
    # PyAV hands frames out as stored: a phone's portrait video was read sideways, and no text found.
    clip = sideways_clip(tmp_path / "phone.mp4")

    def upright(image: np.ndarray) -> bool:
        return image.shape[:2] == (320, 180) and image[:60, :90].mean() > 200 and image[:60, 90:].mean() < 50

    _, samples = read_samples(clip, 2.0)
    sample = next(samples)
    assert upright(sample.gray) and upright(sample.bgr())
    _, frame = next(sample_frames(clip, 2.0))[1:]
    assert upright(frame)  # as OpenCV shows it
    (rows,) = next(bands_frames(clip, [(0, 60)]))
    assert rows.shape == (60, 180, 3) and rows[:, :90].mean() > 200 and rows[:, 90:].mean() < 50
    assert upright(next(frames_at(clip, [3]))[1])


def test_band_frames_gives_every_frame(tmp_path: Path) -> None:
    clip = x264_clip(tmp_path / "clip.mp4", seconds=2.0)
    cap, info = open_video(clip)
    cap.release()
    rows = list(band_frames(clip, 100, 160))
    assert len(rows) == info.frame_count == 50 and rows[0].shape == (60, 320, 3)
    with pytest.raises(MediaError):
        next(band_frames(tmp_path / "missing.mp4", 0, 10))


def test_spread_frames_are_the_ones_decoding_every_frame_gives(tmp_path: Path) -> None:
    # 12 s with a keyframe every 50 frames: the decoder seeks, skips frames nothing refers to,
    # and still hands out exactly the frames that decoding them all gives.
    clip = tmp_path / "long.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "mandelbrot=size=320x180:rate=25", "-t", "12",
                    "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-pix_fmt", "yuv420p", str(clip)], check=True)
    with av.open(str(clip)) as container:
        assert sum(p.is_keyframe for p in container.demux(video=0)) >= 6
    for rate in (0.7, 2.0):
        want = list(sample_frames(clip, rate))
        got = list(frames_at(clip, [index for index, _, _ in want]))
        assert [i for i, _ in got] == [i for i, _, _ in want]
        assert all(np.array_equal(g, w[2]) for (_, g), w in zip(got, want, strict=True))


def test_bands_frames_gives_each_band_as_band_frames_does(tmp_path: Path) -> None:
    clip = x264_clip(tmp_path / "clip.mp4", seconds=1.0)
    both = list(bands_frames(clip, [(100, 160), (0, 40)]))
    for k, (top, bottom) in enumerate(((100, 160), (0, 40))):
        alone = list(band_frames(clip, top, bottom))
        assert len(alone) == len(both) == 25
        assert all(np.array_equal(a, b[k]) for a, b in zip(alone, both, strict=True))


def test_the_reader_keeps_the_band_searchs_frames_as_they_go_by(tmp_path: Path) -> None:
    # The frames the band search reads, kept while the reader decodes every frame: the same
    # pixels as decoding them on their own, downscaled as the search reads them, kept losslessly.
    from pipelines.ocr.band import BandOptions, SearchFrames, spread_indices
    from pipelines.ocr.frames import read_samples

    clip = x264_clip(tmp_path / "clip.mp4", size="480x270", seconds=10.0)
    options = BandOptions(read_width=320)
    keep = SearchFrames(options)
    info, samples = read_samples(clip, 2.0, tap=keep)
    keep.plan(info.fps, info.frame_count)
    assert not keep.complete
    wanted = spread_indices(info.fps, info.frame_count, options)
    assert sorted(keep.wanted) == wanted and len(wanted) == 8
    assert len(list(samples)) == 20
    assert keep.complete
    got = list(keep.frames())
    want = [cv2.resize(frame, (320, 180), interpolation=cv2.INTER_AREA) for _, frame in frames_at(clip, wanted)]
    assert len(got) == len(want) == 8
    assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))


def test_a_video_shorter_than_it_said_leaves_the_search_to_decode_its_own(tmp_path: Path) -> None:
    from pipelines.ocr.band import BandOptions, SearchFrames
    from pipelines.ocr.frames import read_samples

    clip = x264_clip(tmp_path / "clip.mp4", seconds=2.0)
    keep = SearchFrames(BandOptions())
    info, samples = read_samples(clip, 2.0, tap=keep)
    keep.plan(info.fps, info.frame_count * 3)  # frames promised that never come
    list(samples)
    assert keep.kept and not keep.complete
