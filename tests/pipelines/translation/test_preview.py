"""The preview video: target subtitles burned in, source subtitles as a soft track."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipelines.subtitle_formats import to_srt
from pipelines.subtitles import Cue
from pipelines.translation.preview import render_preview, track_language

TARGET = to_srt([Cue(1, 0.2, 2.8, ("Willkommen im Team",), ())])
SOURCE = to_srt([Cue(1, 0.2, 2.8, ("Welcome to the team",), ())])


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=640x360:d=4:r=10",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=4", "-shortest",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)], check=True)
    return path


def _streams(path: Path) -> list[dict[str, object]]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return list(json.loads(out)["streams"])


def _frame(path: Path, at: float) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(at), "-i", str(path), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "gray", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(360, 640)


def test_preview_has_burned_target_and_a_soft_source_track(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "preview.de.mp4"
    result = render_preview(clip, TARGET, SOURCE, out, "de", "en")
    assert result.path == out and result.bytes == out.stat().st_size > 0
    kinds = {s["codec_type"]: s for s in _streams(out)}
    assert set(kinds) == {"video", "audio", "subtitle"}
    assert kinds["subtitle"]["codec_name"] == "mov_text"
    assert kinds["subtitle"]["tags"]["language"] == "eng"  # type: ignore[index]
    # The picture is plain grey: subtitle glyphs (white with a black outline) change the bottom third
    # while the cue is on, and nothing once it is off.
    during, after = _frame(out, 1.5)[240:], _frame(out, 3.5)[240:]
    assert during.std() > 10 and after.std() < 3
    assert not list(tmp_path.glob(".*part"))  # written whole


def test_no_audio_track_is_fine(tmp_path: Path, clip: Path) -> None:
    silent = tmp_path / "silent.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip), "-an", "-c", "copy", str(silent)], check=True)
    out = render_preview(silent, TARGET, SOURCE, tmp_path / "p.mp4", "fr", "en", has_audio=False).path
    assert {s["codec_type"] for s in _streams(out)} == {"video", "subtitle"}


def test_track_language_codes() -> None:
    assert (track_language("de-DE"), track_language("fr"), track_language("xx")) == ("ger", "fre", "und")


@pytest.mark.slow
def test_the_burned_in_text_reads_as_the_target(clip: Path, tmp_path: Path, model_dir: Path) -> None:
    import cv2

    from pipelines.ocr.engines import load_engine

    out = render_preview(clip, TARGET, SOURCE, tmp_path / "p.mp4", "de", "en").path
    frame = cv2.cvtColor(_frame(out, 1.5), cv2.COLOR_GRAY2BGR)
    text = " ".join(r.text for r in load_engine("rapidocr", model_dir).read(frame))
    assert "Willkommen im Team" in text and "Welcome" not in text
