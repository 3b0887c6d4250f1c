"""Benchmark of the OCR stage on a generated 10-minute 720p screencast.

The video (made once, cached in ``out/bench/``) has slides and application screens that change
every 5-20 s, UI text that appears or is typed while a screen is shown, a document that scrolls,
and a mouse cursor that moves and parks. Its text and timings are known, so the benchmark
prints, per engine:

- the share of sampled frames that were OCR'd (target <= 10 %),
- the OCR stage's wall time as a fraction of the video's duration (target <= 0.25x),
- word recall and precision of the unique text per scene against the known text (recall >= 95 %),
- event timing error: |start| and |end| differences for the lines whose times are known.

Known artefact: the generated menu bar spaces some items less than a word gap apart ("Insert
Format Tools"); PP-OCRv5's detector reads them as one line, so those items count as missed timed
lines (their words are still found). ``--explain ENGINE`` lists the missed and mistimed lines.

Usage::

    .venv/bin/python bench/bench_ocr.py                 # rapidocr, and easyocr if .venv-easyocr exists
    .venv/bin/python bench/bench_ocr.py --engine rapidocr --minutes 2
    .venv/bin/python bench/bench_ocr.py --engine rapidocr --no-generated --rec-batch 1 --rec-batch 6
    .venv/bin/python bench/bench_ocr.py --engine rapidocr --runtime onnxruntime --runtime openvino

Real data: the three real UI screen recordings of ``../shared/testdata/video`` (``bench/ocr_real.py``:
word recall at the referenced moments, share OCR'd, CPU and wall time), printed apart, first.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ocr_real import print_rows, run_real  # noqa: E402
from pipelines.models import DEFAULT_MODEL_DIR  # noqa: E402
from pipelines.ocr.engines import load_engine  # noqa: E402
from pipelines.ocr.onnx_sessions import RUNTIMES  # noqa: E402
from pipelines.ocr.reader import OcrOptions, run_ocr  # noqa: E402
from pipelines.ocr.tracking import similarity  # noqa: E402

VERSION = 4  # bump when the generator changes (the cached video is rebuilt)
W, H, FPS = 1280, 720, 25
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
EASYOCR_PYTHON = ROOT / ".venv-easyocr" / "bin" / "python"

VERBS = ["Open", "Select", "Choose", "Export", "Import", "Review", "Update", "Delete", "Create", "Share",
         "Archive", "Restore", "Schedule", "Approve", "Assign", "Configure", "Enable", "Rename"]
ADJS = ["monthly", "shared", "private", "default", "recent", "pending", "archived", "current", "new",
        "weekly", "public", "advanced", "primary", "linked", "draft", "final"]
NOUNS = ["report", "invoice", "project", "account", "folder", "template", "dashboard", "customer",
         "schedule", "message", "document", "workspace", "contract", "budget", "profile", "order"]
PLACES = ["the sidebar", "the toolbar", "Settings", "the main menu", "the project list", "this window",
          "the admin panel", "your profile"]
MENUS = ["File", "Edit", "View", "Insert", "Format", "Tools", "Help"]


def sentence(rng: random.Random) -> str:
    return f"{rng.choice(VERBS)} the {rng.choice(ADJS)} {rng.choice(NOUNS)} in {rng.choice(PLACES)}"


@dataclass
class Truth:
    """A line of text with its place and time span; ``timed`` lines are scored for timing."""

    text: str
    scene: int
    start: float
    end: float
    timed: bool = True
    x: int = 0
    y: int = 0


@dataclass
class Scene:
    start: float
    end: float
    base: np.ndarray
    overlays: list[tuple[float, np.ndarray, tuple[int, int]]] = field(default_factory=list)
    scroll: tuple[np.ndarray, tuple[int, int, int, int], float, float] | None = None


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(BOLD if bold else FONT, size)


def _to_bgr(img: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)


def _text_patch(text: str, size: int, bg: tuple[int, int, int], fg: tuple[int, int, int]) -> np.ndarray:
    font = _font(size)
    right, bottom = font.getbbox(text)[2:]
    img = Image.new("RGB", (int(right) + 12, int(bottom) + 10), bg)
    ImageDraw.Draw(img).text((6, 4), text, font=font, fill=fg)
    return _to_bgr(img)


def make_scene(index: int, start: float, end: float, rng: random.Random, truth: list[Truth]) -> Scene:
    kind = ("slide", "app", "doc")[index % 3]
    img = Image.new("RGB", (W, H), (248, 248, 244) if kind == "slide" else (236, 238, 242))
    draw = ImageDraw.Draw(img)

    def line(text: str, xy: tuple[int, int], size: int, fill: tuple[int, int, int], bold: bool = False) -> None:
        draw.text(xy, text, font=_font(size, bold), fill=fill)
        truth.append(Truth(text, index, start, end, x=xy[0], y=xy[1]))

    scene = Scene(start, end, np.zeros(0))
    if kind == "slide":
        draw.rectangle((0, 0, W, 120), fill=(28, 56, 110))
        line(f"Lesson {index // 3 + 1}: {rng.choice(VERBS)} a {rng.choice(NOUNS)}", (60, 34), 44,
             (255, 255, 255), bold=True)
        for i in range(rng.randint(3, 5)):
            line(sentence(rng), (90, 190 + 80 * i), 30, (30, 30, 30))
    else:
        draw.rectangle((0, 0, W, 40), fill=(250, 250, 250))
        for i, menu in enumerate(MENUS[: rng.randint(4, 7)]):
            line(menu, (16 + 90 * i, 8), 20, (20, 20, 20))
        draw.rectangle((0, 40, 240, H), fill=(222, 226, 232))
        for i in range(rng.randint(4, 7)):
            line(f"{rng.choice(ADJS).capitalize()} {rng.choice(NOUNS)}s", (20, 70 + 44 * i), 22, (40, 40, 60))
        line(f"{rng.choice(NOUNS).capitalize()} details", (280, 64), 32, (20, 20, 20), bold=True)
    if kind == "app":
        labels = ["Name", "Email address", "Department", "Start date"]
        for i, label in enumerate(labels):
            line(label, (280, 140 + 70 * i), 22, (60, 60, 60))
            draw.rectangle((480, 132 + 70 * i, 1000, 172 + 70 * i), fill=(255, 255, 255), outline=(160, 160, 160))
        # Typed into the first field a little after the scene starts, one character at a time.
        typed = f"{rng.choice(ADJS)} {rng.choice(NOUNS)} {rng.randint(10, 99)}"
        t0 = start + min(2.0, (end - start) / 4)
        for k in range(1, len(typed) + 1):
            scene.overlays.append((t0 + 0.1 * k, _text_patch(typed[:k], 22, (255, 255, 255), (10, 10, 10)),
                                   (486, 136)))
        truth.append(Truth(typed, index, t0 + 0.1, end, x=486, y=136))
        # A status message appears halfway.
        msg = f"{rng.choice(NOUNS).capitalize()} saved successfully"
        t1 = start + (end - start) / 2
        scene.overlays.append((t1, _text_patch(msg, 24, (214, 240, 220), (20, 90, 40)), (280, 460)))
        truth.append(Truth(msg, index, t1, end, x=280, y=460))
    if kind == "doc":
        # A document panel that scrolls by 8 lines over 2 s in the middle of the scene.
        lines = [sentence(rng) for _ in range(18)]
        doc = Image.new("RGB", (900, 46 * len(lines) + 40), (255, 255, 255))
        dd = ImageDraw.Draw(doc)
        for i, text in enumerate(lines):
            dd.text((20, 20 + 46 * i), text, font=_font(26), fill=(25, 25, 25))
        view = (280, 120, 1180, 120 + 46 * 10)
        t_scroll = start + (end - start) / 2 - 1.0
        scene.scroll = (_to_bgr(doc), view, t_scroll, 46 * 8)
        for i, text in enumerate(lines):
            first = start if i < 10 else t_scroll
            last = end if i >= 8 else t_scroll + 2.0
            truth.append(Truth(text, index, first, last, timed=False))
    scene.base = _to_bgr(img)
    return scene


def render(scene: Scene, t: float) -> np.ndarray:
    frame = scene.base.copy()
    if scene.scroll is not None:
        doc, (x0, y0, x1, y1), t_scroll, distance = scene.scroll
        offset = int(distance * min(1.0, max(0.0, (t - t_scroll) / 2.0)))
        frame[y0:y1, x0:x1] = doc[offset : offset + (y1 - y0), : x1 - x0]
    for when, patch, (x, y) in scene.overlays:
        if t >= when:
            ph, pw = patch.shape[:2]
            frame[y : y + ph, x : x + pw] = patch
    return frame


CURSOR = np.array([[0, 0], [0, 17], [4, 13], [7, 20], [10, 19], [7, 12], [12, 12]], np.int32)


def cursor_path(duration: float, rng: random.Random) -> list[tuple[float, float, float, float, float]]:
    """Segments (t0, t1, x0->x1, y0->y1): moves of 0.5-1.5 s and parks of 0.5-4 s."""
    path = []
    t, x, y = 0.0, W / 2, H / 2
    while t < duration:
        move = rng.uniform(0.5, 1.5)
        nx, ny = rng.uniform(20, W - 40), rng.uniform(60, H - 40)
        path.append((t, t + move, x, nx, y, ny))
        t += move
        park = rng.uniform(0.5, 4.0)
        path.append((t, t + park, nx, nx, ny, ny))
        t, x, y = t + park, nx, ny
    return path  # type: ignore[return-value]


def make_video(path: Path, minutes: float, seed: int) -> list[Truth]:
    rng = random.Random(seed)
    duration = minutes * 60
    truth: list[Truth] = []
    scenes: list[Scene] = []
    t = 0.0
    while t < duration - 1:
        length = min(rng.uniform(5, 20), duration - t)
        scenes.append(make_scene(len(scenes), t, t + length, rng, truth))
        t += length
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.mp4")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (W, H))
    moves = cursor_path(duration, rng)
    si = mi = 0
    for i in range(int(duration * FPS)):
        now = i / FPS
        while scenes[si].end <= now and si < len(scenes) - 1:
            si += 1
        while moves[mi][1] <= now and mi < len(moves) - 1:
            mi += 1
        t0, t1, x0, x1, y0, y1 = moves[mi]  # type: ignore[misc]
        k = min(1.0, (now - t0) / max(1e-6, t1 - t0))
        frame = render(scenes[si], now)
        pts = CURSOR + np.array([int(x0 + (x1 - x0) * k), int(y0 + (y1 - y0) * k)], np.int32)
        cv2.fillPoly(frame, [pts], (0, 0, 0))
        cv2.polylines(frame, [pts], True, (255, 255, 255), 1)
        writer.write(frame)
    writer.release()
    tmp.replace(path)
    return truth


def join_across_cuts(truth: list[Truth]) -> list[Truth]:
    """The same text at the same place just before and after a cut (a menu bar) is one span on screen."""
    joined: list[Truth] = []
    open_at: dict[tuple[str, int, int], Truth] = {}
    for t in sorted(truth, key=lambda t: t.start):
        key = (t.text, t.x, t.y)
        prev = open_at.get(key)
        if t.timed and prev is not None and prev.timed and abs(prev.end - t.start) < 1e-6:
            prev.end = t.end
            continue
        t = Truth(**vars(t))
        joined.append(t)
        open_at[key] = t
    return joined


def words(text: str) -> list[str]:
    return re.findall(r"[\w@.]+", text.lower().replace(".", " "))


def score(truth: list[Truth], result: dict[str, object], period: float) -> dict[str, float]:
    """Word recall/precision of unique text per scene, and timing errors of timed lines."""
    events = result["events"]
    assert isinstance(events, list)
    # Bag of words of each scene's unique lines vs those of the events shown during that scene
    # (at least one sample of overlap: text that stays through a cut counts in both scenes).
    spans: dict[int, list[float]] = {}
    for t in truth:
        span = spans.setdefault(t.scene, [t.start, t.end])
        span[0], span[1] = min(span[0], t.start), max(span[1], t.end)
    expected: Counter[str] = Counter()
    got: Counter[str] = Counter()
    hit = 0
    for scene, (start, end) in sorted(spans.items()):
        want = Counter(w for text in {t.text for t in truth if t.scene == scene} for w in words(text))
        shown = {e["text"] for e in events if min(e["end"], end) - max(e["start"], start) >= 0.99 * period}
        have = Counter(w for text in shown for w in words(text))
        expected += want
        got += have
        hit += sum((want & have).values())
    errors = []
    for t in join_across_cuts(truth):
        if not t.timed:
            continue
        cands = [e for e in events if similarity(e["text"], t.text) >= 0.8 and e["end"] > t.start and e["start"] < t.end]
        if not cands:
            errors.append(float("inf"))
            continue
        best = min(cands, key=lambda e: abs(e["start"] - t.start) + abs(e["end"] - t.end))
        errors.append(max(abs(best["start"] - t.start), abs(best["end"] - t.end)))
    found = [e for e in errors if e != float("inf")]
    return {
        "word_recall": hit / max(1, sum(expected.values())),
        "word_precision": hit / max(1, sum(got.values())),
        "timed_lines": len(errors),
        "timed_lines_found": len(found),
        "timing_error_mean_s": float(np.mean(found)) if found else float("nan"),
        "timing_error_p95_s": float(np.percentile(found, 95)) if found else float("nan"),
        # One sampling period, plus a frame: 2 samples/s on 25 fps are 12 or 13 frames apart.
        "timing_within_one_period": sum(e <= period + 1 / FPS + 1e-6 for e in found) / max(1, len(errors)),
    }


def explain(truth: list[Truth], events: list[dict[str, object]], period: float) -> None:
    """Print the timed lines that were not found, or found more than one period off."""
    for t in join_across_cuts(truth):
        if not t.timed:
            continue
        cands = [e for e in events if similarity(str(e["text"]), t.text) >= 0.8
                 and float(e["end"]) > t.start and float(e["start"]) < t.end]  # type: ignore[arg-type]
        if not cands:
            near = sorted(events, key=lambda e: -similarity(str(e["text"]), t.text))[:2]
            print(f"MISSED {t.start:7.2f}-{t.end:7.2f} {t.text!r}; closest: {[e['text'] for e in near]}")
            continue
        best = min(cands, key=lambda e: abs(float(e["start"]) - t.start) + abs(float(e["end"]) - t.end))  # type: ignore[arg-type]
        if max(abs(float(best["start"]) - t.start), abs(float(best["end"]) - t.end)) > period + 1 / FPS + 1e-6:  # type: ignore[arg-type]
            print(f"OFF    {t.start:7.2f}-{t.end:7.2f} {t.text!r} -> {best}")


def run_engine(engine_name: str, video: Path, truth: list[Truth], model_dir: Path, rate: float,
               rec_batch: int = 6, runtime: str = "onnxruntime") -> dict[str, object]:
    started = time.perf_counter()
    engine = load_engine(engine_name, model_dir, rec_batch=rec_batch, runtime=runtime)
    engine.read(np.full((64, 256, 3), 255, np.uint8))  # load the model outside the timed stage
    load_s = time.perf_counter() - started
    cpu = time.process_time()
    result = run_ocr(video, engine, OcrOptions(engine=engine_name, sample_rate=rate))
    cpu = time.process_time() - cpu
    events = [{"text": e.text, "start": e.start, "end": e.end} for e in result.events]
    out: dict[str, object] = {
        "engine": engine_name,
        "rec_batch": rec_batch,
        "runtime": runtime if engine_name == "rapidocr" else "torch",
        "video_s": round(result.duration, 1),
        "model_load_s": round(load_s, 2),
        "frames_sampled": result.frames_sampled,
        "frames_ocred": result.frames_ocred,
        "regions_ocred": result.regions_ocred,
        "share_ocred": round(result.frames_ocred / result.frames_sampled, 4),
        "area_ocred": round(result.area_ocred / result.frames_sampled, 4),  # share of sampled pixels read
        "stage_s": result.timing.total,
        "stage_x_duration": round(result.timing.total / result.duration, 4),
        # CPU seconds of this process (all threads) during the stage: a figure that other work
        # on the machine does not inflate (wall time <= this when the stage gets both cores).
        "stage_cpu_s": round(cpu, 1),
        "stage_cpu_x_duration": round(cpu / result.duration, 4),
        "timing": vars(result.timing),
        "events": len(events),
    }
    out.update({k: round(v, 4) for k, v in score(truth, {"events": events}, 1.0 / rate).items()})
    (video.parent / f"{video.stem}.{engine_name}.events.json").write_text(json.dumps(events))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["rapidocr", "easyocr", "all"], default="all")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench")
    parser.add_argument("--real", action=argparse.BooleanOptionalAction, default=True,
                        help="the real UI recordings of ../shared/testdata/video (rapidocr)")
    parser.add_argument("--generated", action=argparse.BooleanOptionalAction, default=True,
                        help="the generated screencast")
    parser.add_argument("--rec-batch", type=int, action="append",
                        help="RapidOCR's lines per recogniser call (repeat to compare; default 1)")
    parser.add_argument("--runtime", choices=RUNTIMES, action="append",
                        help="what runs RapidOCR's models (repeat to compare; default onnxruntime)")
    parser.add_argument("--explain", choices=["rapidocr", "easyocr"],
                        help="do not run: list the timed lines that an earlier run missed or mistimed")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    batches = args.rec_batch or [1]
    runtimes = args.runtime or ["onnxruntime"]
    if args.real and args.engine != "easyocr":
        for runtime in runtimes:
            for batch in batches:
                print(f"rapidocr on {runtime}, recogniser batch {batch}:", flush=True)
                print_rows(run_real(load_engine("rapidocr", args.model_dir, rec_batch=batch, runtime=runtime),
                                    args.rate))
    if not args.generated:
        return

    video = args.out / f"screencast-v{VERSION}-{args.minutes:g}min-seed{args.seed}.mp4"
    truth_file = video.with_suffix(".truth.json")
    if not (video.is_file() and truth_file.is_file()):
        started = time.perf_counter()
        truth = make_video(video, args.minutes, args.seed)
        truth_file.write_text(json.dumps([vars(t) for t in truth]))
        print(f"generated {video} in {time.perf_counter() - started:.0f} s", flush=True)
    truth = [Truth(**t) for t in json.loads(truth_file.read_text())]

    if args.explain:
        explain(truth, json.loads((video.parent / f"{video.stem}.{args.explain}.events.json").read_text()),
                1.0 / args.rate)
        return
    engines = ["rapidocr", "easyocr"] if args.engine == "all" else [args.engine]
    for name in engines:
        if name == "easyocr":
            try:
                import easyocr  # noqa: F401
            except ImportError:
                if not EASYOCR_PYTHON.is_file():
                    print("easyocr: skipped (extra not installed: ./scripts/setup-easyocr)", flush=True)
                    continue
                cmd = [str(EASYOCR_PYTHON), __file__, "--engine", "easyocr", "--minutes", str(args.minutes),
                       "--seed", str(args.seed), "--rate", str(args.rate), "--model-dir", str(args.model_dir),
                       "--out", str(args.out)]
                subprocess.run(cmd, check=True)
                continue
        for runtime in runtimes if name == "rapidocr" else ["onnxruntime"]:
            for batch in batches if name == "rapidocr" else [1]:
                print(json.dumps(run_engine(name, video, truth, args.model_dir, args.rate, batch, runtime)), flush=True)


if __name__ == "__main__":
    main()
