"""A translated preview video: target subtitles burned in, source subtitles as a soft track.

Rendered by FFmpeg through ffmpeg-python: the ``subtitles`` filter (libass) draws the fitted
target SRT onto the picture, the source SRT goes in as an MP4 text track (``mov_text``) that a
player can switch on, and the audio is kept. A reviewer sees what viewers will see; the soft
track lets them compare with what was said.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.exceptions import MediaError
from pipelines.fit.estimates import normalize_language

log = logging.getLogger(__name__)

# ISO 639-2/B codes for the MP4 track language (players show them); others are "und".
ISO639_2 = {"en": "eng", "de": "ger", "fr": "fre", "es": "spa", "it": "ita", "pt": "por", "nl": "dut",
            "ja": "jpn", "zh": "chi", "ru": "rus", "pl": "pol", "sv": "swe", "da": "dan", "fi": "fin"}


@dataclass(frozen=True)
class PreviewOptions:
    """How the preview looks and how hard the encoder works.

    Attributes:
        font_size: libass font size of the burned-in subtitles (script units; 22 reads well at 720p).
        crf / preset: libx264 quality (lower is better) and speed preset.
        max_height: scale the picture down to at most this many lines (0: keep the size).
    """

    font_size: int = 22
    crf: int = 26
    preset: str = "veryfast"
    max_height: int = 720


@dataclass(frozen=True)
class PreviewResult:
    path: Path
    seconds: float
    bytes: int


def track_language(language: str) -> str:
    """The MP4 track language code for a language code (``de`` -> ``ger``)."""
    try:
        return ISO639_2.get(normalize_language(language), "und")
    except Exception:
        return "und"


def render_preview(
    media: Path,
    target_srt: str,
    source_srt: str,
    out_path: Path,
    target_language: str,
    source_language: str,
    has_audio: bool = True,
    options: PreviewOptions | None = None,
) -> PreviewResult:
    """Render ``out_path`` (MP4): ``media`` with ``target_srt`` burned in and ``source_srt`` as a soft track.

    Raises:
        MediaError: FFmpeg failed (its last lines are in the message).
    """
    import ffmpeg

    opts = options or PreviewOptions()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lessonlens-preview-") as tmp:
        work = Path(tmp)
        # Plain names in a private folder: the subtitles filter's own escaping of paths is fragile.
        (work / "target.srt").write_text(target_srt, encoding="utf-8")
        (work / "source.srt").write_text(source_srt, encoding="utf-8")
        video = ffmpeg.input(str(Path(media).resolve()))
        picture = video.video
        if opts.max_height:
            picture = picture.filter("scale", -2, f"min({opts.max_height},ih)")
        picture = picture.filter("subtitles", "target.srt", charenc="UTF-8",
                                 force_style=f"FontName=DejaVu Sans,FontSize={opts.font_size},Outline=2")
        streams = [picture, *([video.audio] if has_audio else []), ffmpeg.input("source.srt")]
        output = ffmpeg.output(
            *streams, str(work / "preview.mp4"), vcodec="libx264", crf=opts.crf, preset=opts.preset,
            pix_fmt="yuv420p", scodec="mov_text", movflags="+faststart",
            **({"acodec": "aac", "audio_bitrate": "128k"} if has_audio else {}),
            **{"metadata:s:s:0": f"language={track_language(source_language)}",
               "metadata:s:v:0": f"language={track_language(target_language)}"},
        ).overwrite_output()
        # ffmpeg-python builds the command; it runs in the private folder (run() takes no cwd).
        done = subprocess.run(output.compile(cmd="ffmpeg"), cwd=work, capture_output=True, check=False)
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
            raise MediaError(f"Rendering the preview failed: {' / '.join(tail)}")
        out_path.parent.mkdir(parents=True, exist_ok=True)
        tmp_out = out_path.with_name(f".{out_path.name}.part")
        shutil.move(str(work / "preview.mp4"), tmp_out)
        tmp_out.replace(out_path)
    seconds = time.monotonic() - started
    log.info("preview %s rendered in %.1f s", out_path.name, seconds)
    return PreviewResult(out_path, seconds, out_path.stat().st_size)
