"""Makes the sample media lessonlens ships: a short "lesson" video and friends.

Everything is generated here from text: slides drawn with Pillow (DejaVu Sans), narration
spoken by espeak-ng, assembled by ffmpeg. The script is the reference: ``lesson.json`` holds
the narration per slide and each slide's text with its start and end time.

    python -m samples.make_samples            # writes samples/build/
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILD = HERE / "build"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
SIZE = (1280, 720)
VERSION = 1  # bump when the content changes, so stale builds are remade

SLIDES = [
    {
        "title": "Welcome to the Team",
        "bullets": ["Your first week at Northwind", "Tools, people and policies"],
        "narration": "Welcome to your first week at Northwind. In this short course, "
        "you will learn how our tools work and who to ask for help.",
    },
    {
        "title": "Reset Your Password",
        "bullets": ["Open Settings", "Choose Security", "Click Change Password"],
        "narration": "First, open the settings page and choose security. "
        "Then click change password and follow the steps on the screen.",
    },
    {
        "title": "Data Protection Basics",
        "bullets": ["Lock your screen", "Never share customer data"],
        "narration": "Always lock your screen when you leave your desk, "
        "and never share customer data outside the company.",
    },
    {
        "title": "Quiz Time",
        "bullets": ["Answer three questions", "Pass mark: 80 percent"],
        "narration": "Now answer three short questions to complete the module. "
        "You need eighty percent to pass.",
    },
]


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        raise SystemExit(f"{tool} is missing: run ./scripts/setup (it installs ffmpeg and espeak-ng).")


def _draw_slide(slide: dict[str, object], path: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", SIZE, (250, 250, 247))
    draw = ImageDraw.Draw(img)
    title_font = ImageFont.truetype(str(FONT_BOLD), 64)
    body_font = ImageFont.truetype(str(FONT), 44)
    draw.rectangle([0, 0, SIZE[0], 150], fill=(31, 78, 121))
    draw.text((80, 40), str(slide["title"]), font=title_font, fill=(255, 255, 255))
    y = 230
    for bullet in slide["bullets"]:  # type: ignore[attr-defined]
        draw.ellipse([90, y + 18, 106, y + 34], fill=(31, 78, 121))
        draw.text((130, y), str(bullet), font=body_font, fill=(30, 30, 30))
        y += 90
    img.save(path)


def _speak(text: str, path: Path) -> float:
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True, capture_output=True
    )
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def _run(cmd: list[str]) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *cmd], check=True)


def make_lesson(
    out: Path, tmp: Path, slides: list[dict[str, object]] = SLIDES, name: str = "lesson.mp4"
) -> dict[str, object]:
    """The lesson video: one slide per narration paragraph, 0.5 s of silence around each."""
    pad = 0.5
    concat_video, concat_audio, reference = [], [], []
    t = 0.0
    for n, slide in enumerate(slides):
        png, wav = tmp / f"slide{n}.png", tmp / f"speech{n}.wav"
        _draw_slide(slide, png)
        speech = _speak(str(slide["narration"]), wav)
        length = round(speech + 2 * pad, 3)
        padded = tmp / f"padded{n}.wav"
        _run(
            [
                "-i",
                str(wav),
                "-af",
                f"adelay={int(pad * 1000)},apad=whole_dur={length}",
                "-ar",
                "16000",
                "-ac",
                "1",
                str(padded),
            ]
        )
        concat_video.append(f"file '{png}'\nduration {length}\n")
        concat_audio.append(f"file '{padded}'\n")
        reference.append(
            {
                "start": round(t, 3),
                "end": round(t + length, 3),
                "title": slide["title"],
                "bullets": slide["bullets"],
                "narration": slide["narration"],
                "speech_start": round(t + pad, 3),
                "speech_end": round(t + pad + speech, 3),
            }
        )
        t += length
    concat_video.append(f"file '{tmp / f'slide{len(slides) - 1}.png'}'\n")
    (tmp / "video.txt").write_text("".join(concat_video))
    (tmp / "audio.txt").write_text("".join(concat_audio))
    _run(
        [
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(tmp / "video.txt"),
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(tmp / "audio.txt"),
            "-vf",
            "fps=24,format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "28",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            "-shortest",
            "-movflags",
            "+faststart",
            str(out / name),
        ]
    )
    return {
        "version": VERSION,
        "duration": round(t, 3),
        "fps": 24,
        "size": list(SIZE),
        "slides": reference,
        "narration": " ".join(str(s["narration"]) for s in slides),
    }


def make_silent(out: Path) -> None:
    """A video with no audio track (the subtitles stage answers "no speech track")."""
    _run(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=24:duration=3",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            str(out / "silent.mp4"),
        ]
    )


def build(out: Path = BUILD, *, force: bool = False) -> Path:
    """Build every sample into ``out`` unless an up-to-date build is there."""
    stamp = out / "lesson.json"
    if not force and stamp.is_file() and (out / "lesson.mp4").is_file() and (out / "silent.mp4").is_file():
        try:
            if json.loads(stamp.read_text()).get("version") == VERSION:
                return out
        except ValueError:
            pass
    for tool in ("ffmpeg", "espeak-ng"):
        _need(tool)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        reference = make_lesson(out, Path(tmp))
        make_silent(out)
    stamp.write_text(json.dumps(reference, indent=2) + "\n")  # written last: marks a complete build
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=BUILD)
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    out = build(args.out, force=args.force)
    if not args.quiet:
        print(f"samples in {out}")


if __name__ == "__main__":
    main()
