"""Benchmark of burned-in caption extraction: real clips and generated ones, reported apart.

Real clips: ``../shared/testdata/video/*.txt`` with ``start-end text`` lines (OBSERVED references,
lines of one caption joined by " | "). Generated: captions burned into moving footage by libass
(``bench/caption_clips.py``) with exact times, in ``out/bench/captions/``: one clip of Latin,
Cyrillic, Greek and Arabic captions over a mandelbrot zoom, one of captions at the bottom and
the top at once (two bands), sets of six English captions (``ENGLISH_SETS``) each over
real footage (``BACKGROUND``) and over the zoom, six Chinese captions in simplified and in
traditional characters (``CHINESE_SETS``, with a CJK font), six with a pause between two phrases
(``CHINESE_PAUSES``: also how many pauses were read as a space), and per language of another script
(ru, uk, el, ar, he) a clip of six captions over real footage (``BACKGROUND``) and one over the
zoom, each read with its language said and without; and ten clips without captions, a name
that stays where captions sit (``STATIC_NAMES``: en ru ar hi ko) over real footage and over the
zoom, whose every cue is a false caption. Per clip it prints:

- word recall (Latin words without punctuation, each CJK character a word) against the reference,
- the share of reference cues found with start and end within 0.2 s,
- cues merged with other text (a cue with words of no reference caption: a watermark, a logo),
- frames decoded and OCR'd (band reads, with detection) per minute of video, lines recognised
  without detection per minute (a caption's lines checked where they are), wall and CPU time as a
  multiple of the duration.

Then, for the real clips together, how many reach word recall 0.95 and how many cues are timed
within 0.2 s.

Each clip goes the OCR stage's way (``stage_captions``): the on-screen text reader first (2
samples a second, ``run_ocr``), whose samples say whether and where to look for captions
(``extract_after_screen``). Wall and CPU time are given for the captions alone (``x_real_time``,
``cpu_x_real_time``) and for the stage, reader included (``stage_x_real_time``,
``stage_cpu_x_real_time``).

Usage::

    .venv/bin/python bench/bench_captions.py                 # every real clip, then the generated one
    .venv/bin/python bench/bench_captions.py --only vsr_rezero_en --no-generated
    .venv/bin/python bench/bench_captions.py --no-real --no-generated --cost 60   # 720p cost, generated
    .venv/bin/python bench/bench_captions.py --only --no-generated --cost 60   # and on real 720p footage
    .venv/bin/python bench/bench_captions.py --no-real --no-generated --scripts ar he --show
    .venv/bin/python bench/bench_captions.py --no-real --no-generated --scripts --static   # false cues
    .venv/bin/python bench/bench_captions.py --no-real --no-generated --pauses --show      # CJK pauses
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.caption_clips import (  # noqa: E402
    CHINESE_PAUSES,
    CHINESE_SETS,
    DEFAULT_CAPTIONS,
    ENGLISH_SETS,
    SCRIPT_FONTS,
    SCRIPT_SENTENCES,
    STATIC_NAMES,
    TWO_BANDS,
    Caption,
    make_clip,
    script_captions,
    static_name,
    staying_captions,
    turns,
)
from pipelines.media import probe  # noqa: E402
from pipelines.models import DEFAULT_MODEL_DIR  # noqa: E402
from pipelines.ocr.caption_cues import CaptionCue  # noqa: E402
from pipelines.ocr.captions import CaptionOptions, CaptionResult, extract_after_screen  # noqa: E402
from pipelines.ocr.engines import OcrEngine, PixelBox, Reading, find_lines, load_engine  # noqa: E402
from pipelines.ocr.onnx_sessions import RUNTIMES  # noqa: E402
from pipelines.ocr.reader import OcrOptions, run_ocr  # noqa: E402
from pipelines.ocr.scripts import with_scripts  # noqa: E402

SHARED = ROOT.parent / "shared" / "testdata" / "video"
REAL = ("vsr_rezero_en", "emk_cartoon_en", "emk_kdrama_en", "rvo_leon_zh_en", "rvo_coldwar_zh", "rvo_anime_zh",
        "svocr_drama_2line_zh", "svocr_drama_faint_zh")
GENERATED_VERSION = 1
SCRIPTS_VERSION = 1
STATIC_VERSION = 1
BACKGROUND = SHARED / "mdn_friday.mp4"
"""Real footage under the per-script clips (a 1940 film clip with no burned-in text; looped)."""


@dataclass(frozen=True)
class RefCue:
    start: float
    end: float
    text: str


def tokens(text: str) -> list[str]:
    """Words: Latin/Cyrillic/Greek/Arabic/Hebrew/Devanagari/Hangul words lower-cased without
    punctuation (Devanagari's vowel signs inside the word); CJK and Thai (written without spaces
    between words) one a character."""
    text = text.lower().replace("'", "").replace("’", "").replace("…", " ")
    out: list[str] = []
    for chunk in re.findall(r"[\w\u0900-\u0963\u0e00-\u0e7f]+", text):
        word = ""
        for ch in chunk:
            if "\u3000" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\u0e00" <= ch <= "\u0e7f":
                if word:
                    out.append(word)
                    word = ""
                out.append(ch)
            else:
                word += ch
        if word:
            out.append(word)
    return out


def read_reference(path: Path) -> list[RefCue]:
    cues = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([\d.]+)-([\d.]+)\s+(.*)$", line.strip())
        if m and not line.startswith("#"):
            cues.append(RefCue(float(m[1]), float(m[2]), m[3].replace(" | ", "\n")))
    return cues


def score(reference: list[RefCue], result: CaptionResult, tolerance: float = 0.2) -> dict[str, object]:
    want: Counter[str] = Counter(t for c in reference for t in tokens(c.text))
    got: Counter[str] = Counter(t for c in result.cues for t in tokens(c.text))
    timed = 0
    for ref in reference:
        ref_tokens = Counter(tokens(ref.text))

        def shared(cue_text: str, ref_tokens: Counter[str] = ref_tokens) -> int:
            return sum((ref_tokens & Counter(tokens(cue_text))).values())

        cands = [c for c in result.cues if shared(c.text) >= 0.5 * max(1, sum(ref_tokens.values()))]
        if any(abs(c.start - ref.start) <= tolerance and abs(c.end - ref.end) <= tolerance for c in cands):
            timed += 1
    ref_words = set(want)
    merged = [c.text for c in result.cues
              if sum(1 for t in tokens(c.text) if t not in ref_words) >= max(2, 0.3 * len(tokens(c.text)))]
    minutes = max(result.duration, 1e-6) / 60
    return {
        "word_recall": round(sum((want & got).values()) / max(1, sum(want.values())), 3),
        "word_precision": round(sum((want & got).values()) / max(1, sum(got.values())), 3),
        "cues": f"{len(result.cues)} for {len(reference)}",
        "cues_timed_within_0.2s": round(timed / max(1, len(reference)), 3),
        "merged_with_other_text": len(merged),
        "decoded_per_min": round(result.frames_decoded / minutes),
        "ocred_per_min": round(result.frames_ocred / minutes),
    }


class CountingEngine:
    """An engine whose line recognitions without detection (``read_line``) are counted."""

    def __init__(self, engine: OcrEngine) -> None:
        self.engine, self.name, self.lines = engine, engine.name, 0

    def read(self, image: np.ndarray) -> list[Reading]:
        return self.engine.read(image)

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        self.lines += 1
        return self.engine.read_line(image)

    def find_lines(self, image: np.ndarray, scale: float) -> list[PixelBox] | None:
        return find_lines(self.engine, image, scale)


def stage_captions(video: Path, engine: OcrEngine,
                   languages: tuple[str, ...]) -> tuple[CaptionResult, float, float, float]:
    """The captions as the OCR stage extracts them (on-screen text first, then captions where
    its samples show some): the result, the CPU seconds of the captions and of the on-screen
    text pass, and the wall seconds of that pass."""
    cpu, wall = time.process_time(), time.perf_counter()
    screen = run_ocr(video, engine, OcrOptions(engine=engine.name, languages=languages))
    screen_cpu, screen_wall = time.process_time() - cpu, time.perf_counter() - wall
    cpu = time.process_time()
    result = extract_after_screen(video, engine, screen.samples, CaptionOptions(languages=languages),
                                  frames=screen.search_frames)
    return result, time.process_time() - cpu, screen_cpu, screen_wall


def run_clip(name: str, video: Path, reference: list[RefCue], engine: OcrEngine, show: bool) -> dict[str, object]:
    counting = CountingEngine(with_scripts(engine, ("en",)))
    result, cpu, screen_cpu, screen_wall = stage_captions(video, counting, ("en",))
    lines = round(counting.lines / max(result.duration / 60, 1e-6))
    duration = max(result.duration, 1e-6)
    row: dict[str, object] = {"clip": name, "band": result.band, "other_bands": result.bands[1:],
                              **score(reference, result),
                              "lines_recognised_per_min": lines,
                              "x_real_time": round(result.seconds / duration, 2),
                              "cpu_x_real_time": round(cpu / duration, 2),
                              "stage_x_real_time": round((result.seconds + screen_wall) / duration, 2),
                              "stage_cpu_x_real_time": round((cpu + screen_cpu) / duration, 2)}
    if show:
        for c in result.cues:
            print(f"    {c.start:6.2f}-{c.end:6.2f} {c.text!r}", flush=True)
    return row


def real_summary(rows: list[dict[str, object]]) -> dict[str, object]:
    """The real clips together: how many reach word recall 0.95, cues timed within 0.2 s of all."""
    timed = total = 0
    for row in rows:
        cues = int(str(row["cues"]).split(" for ")[1])
        total += cues
        timed += round(float(str(row["cues_timed_within_0.2s"])) * cues)
    recalled = sum(1 for row in rows if float(str(row["word_recall"])) >= 0.95)
    cpu = sum(float(str(row["cpu_x_real_time"])) for row in rows) / len(rows)
    stage = sum(float(str(row["stage_cpu_x_real_time"])) for row in rows) / len(rows)
    stage_wall = sum(float(str(row["stage_x_real_time"])) for row in rows) / len(rows)
    return {"kind": "real (OBSERVED), all", "clips_word_recall_0.95": f"{recalled} of {len(rows)}",
            "cues_timed_within_0.2s": f"{timed} of {total}", "mean_cpu_x_real_time": round(cpu, 2),
            "mean_stage_cpu_x_real_time": round(stage, 2), "mean_stage_x_real_time": round(stage_wall, 2)}


def run_cost(out: Path, seconds: float, engine: OcrEngine, show: bool) -> None:
    """Cost on 720p footage: a generated clip of ``seconds`` with a caption every 2.5 s."""
    words = ["Open", "the", "settings", "page", "choose", "a", "new", "password", "and", "save", "it", "now"]
    captions = tuple(Caption(0.5 + 2.5 * k, 2.5 + 2.5 * k, (" ".join(words[(k + i) % 12] for i in range(5)),))
                     for k in range(int((seconds - 1) / 2.5)))
    video = out / f"cost-720p-{seconds:g}s.mp4"
    if not video.is_file():
        make_clip(video, captions, size=(1280, 720))
    reference = [RefCue(c.start, c.end, c.lines[0]) for c in captions]
    row = run_clip(video.name, video, reference, engine, show)
    print(json.dumps({"kind": "generated 720p (cost)", **row,
                      "load_average": [round(x, 1) for x in os.getloadavg()]}, ensure_ascii=False), flush=True)


COST_REAL = ("rvo_coldwar_zh", "vsr_rezero_en")
"""The real caption clips of 1280x720 footage (as delivered: 0.5-0.9 Mbit/s), looped for ``--cost``."""


def _video_frames(path: Path) -> tuple[int, float]:
    """The frames of a file's video stream (its packets counted: a container's own count may be
    missing or stale) and their rate (``pipelines.media.probe``)."""
    counted = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries",
                              "stream=nb_read_packets", "-of", "csv=p=0", str(path)],
                             capture_output=True, text=True, check=True).stdout.strip()
    fps = probe(path).fps
    if not fps:
        raise SystemExit(f"{path}: no frame rate")
    return int(counted), fps


def run_cost_real(out: Path, seconds: float, engine: OcrEngine, show: bool) -> None:
    """Cost on real 720p footage: each ``COST_REAL`` clip played over and over (its packets copied,
    not encoded again) for at least ``seconds``, scored against its reference repeated at each
    play. The generated cost clip's zoom is a worst case for the decoder (10.7 Mbit/s at 720p);
    footage as delivered is not."""
    for name in COST_REAL:
        source = SHARED / f"{name}.mp4"
        if not source.is_file():
            print(json.dumps({"kind": "real 720p looped (cost)", "clip": name,
                              "skipped": f"{source} not found"}), flush=True)
            continue
        frames, fps = _video_frames(source)
        loops = max(1, int(-(-seconds * fps // frames)))
        video = out / f"cost-real-{name}-x{loops}.mp4"
        if not video.is_file():
            out.mkdir(parents=True, exist_ok=True)
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops - 1), "-i", str(source),
                            "-map", "0:v:0", "-c", "copy", str(video)], check=True)
        played, _ = _video_frames(video)
        if played != loops * frames:
            raise SystemExit(f"{video}: {played} frames, not {loops} x {frames}: delete it and run again")
        length = frames / fps
        reference = [RefCue(c.start + k * length, c.end + k * length, c.text)
                     for k in range(loops) for c in read_reference(source.with_suffix(".txt"))]
        row = run_clip(video.name, video, reference, engine, show)
        print(json.dumps({"kind": "real 720p looped (cost)", **row,
                          "load_average": [round(x, 1) for x in os.getloadavg()]}, ensure_ascii=False), flush=True)


def pauses_spaced(reference: list[RefCue], cues: tuple[CaptionCue, ...]) -> tuple[int, int]:
    """Of the reference's pauses between two phrases (a space between two CJK characters), those
    read as a space: in the cue that overlaps the reference cue most, the two characters with
    only spaces between them."""
    found = total = 0
    for ref in reference:
        pauses = re.findall(r"(\w)[ \u3000]+(\w)", ref.text)
        if not pauses:
            continue
        total += len(pauses)
        overlap = [(min(c.end, ref.end) - max(c.start, ref.start), c) for c in cues]
        best = max(overlap, key=lambda o: o[0], default=(0.0, None))
        if best[1] is not None and best[0] > 0:
            found += sum(1 for a, b in pauses if re.search(f"{a}[ \u3000]+{b}", best[1].text))
    return found, total


def run_chinese(out: Path, engine: OcrEngine, show: bool,
                sets: dict[str, tuple[tuple[str, ...], ...]]) -> None:
    """Sets of Chinese captions (``CHINESE_SETS``: simplified, traditional; ``CHINESE_PAUSES``)
    over real footage (or the zoom), read as the OCR stage reads them with ``en`` said, and for a
    set with pauses between phrases how many were read as a space (``pauses_spaced``); skipped,
    saying why, without a CJK font for libass."""
    if not subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout.strip():
        print(json.dumps({"kind": "generated zh", "skipped": "no CJK font for libass: apt-get install "
                          "fonts-wqy-microhei"}), flush=True)
        return
    background = BACKGROUND if BACKGROUND.is_file() else None
    footage = "film" if background else "mandelbrot"
    for form, sentences in sets.items():
        captions = turns(sentences)
        video = out / f"chinese-{form}-{footage}-v1.mp4"
        if not video.is_file():
            make_clip(video, captions, background=background)
        reference = [RefCue(c.start, c.end, "\n".join(c.lines)) for c in captions]
        result = stage_captions(video, with_scripts(engine, ("en",)), ("en",))[0]
        row = {"kind": f"generated zh, {form}", "clip": video.name, **score(reference, result)}
        spaced, pauses = pauses_spaced(reference, result.cues)
        if pauses:
            row["pauses_read_as_a_space"] = f"{spaced} of {pauses}"
        print(json.dumps(row, ensure_ascii=False), flush=True)
        if show:
            for c in result.cues:
                print(f"    {c.start:6.2f}-{c.end:6.2f} {c.text!r}", flush=True)


def run_scripts(out: Path, engine: OcrEngine, languages: list[str], show: bool) -> None:
    """Per language of another script, a clip of its ``script_captions`` over real footage (without
    ``../shared``, none) and one over the mandelbrot zoom (whose pink and yellow are as bright as
    the letters), each read twice: with the language said (``en`` and it: lines re-read by
    Tesseract), and with ``en`` alone (its script found from the pixels, or flagged)."""
    footages = [("film", BACKGROUND)] if BACKGROUND.is_file() else []
    for lang in [lang for lang in languages if lang in SCRIPT_FONTS]:
        if not subprocess.run(["fc-list", f":lang={lang}"], capture_output=True, text=True).stdout.strip():
            print(json.dumps({"kind": f"generated {lang}", "skipped": f"no font for {lang} for libass: "
                              f"apt-get install {SCRIPT_FONTS[lang]}"}), flush=True)
            languages = [other for other in languages if other != lang]
    for lang, (footage, background) in [(lang, f) for lang in languages for f in [*footages, ("mandelbrot", None)]]:
        captions = script_captions(lang)
        video = out / f"scripts-{lang}-{footage}-v{SCRIPTS_VERSION}.mp4"
        if not video.is_file():
            make_clip(video, captions, background=background)
        reference = [RefCue(c.start, c.end, "\n".join(c.lines)) for c in captions]
        for said in (("en", lang), ("en",)):
            result = stage_captions(video, with_scripts(engine, said), said)[0]
            row = {"kind": f"generated {lang} over {footage}, languages {' '.join(said)}", "clip": video.name,
                   **score(reference, result), "cues_flagged": sum(1 for c in result.cues if c.flags),
                   "x_real_time": round(result.seconds / max(result.duration, 1e-6), 2)}
            print(json.dumps(row, ensure_ascii=False), flush=True)
            if show:
                for c in result.cues:
                    print(f"    {c.start:6.2f}-{c.end:6.2f} {c.text!r} {' '.join(c.flags)}", flush=True)


def run_static(out: Path, engine: OcrEngine, show: bool) -> None:
    """Per language of ``STATIC_NAMES``, a 20 s clip of its name shown all along where captions
    sit, no caption, over real footage (without ``../shared``: none) and over the mandelbrot zoom,
    read with ``en`` said: every cue found is a false caption (target: none). Then two clips of
    captions that stay long or are of about one length (``staying_captions``), whose captions must
    all be found (target: word recall 1.0, none taken for static text)."""
    backgrounds = [("film", BACKGROUND)] if BACKGROUND.is_file() else []
    false_cues = clips = 0
    for lang, (footage, background) in [(lang, f) for lang in STATIC_NAMES
                                        for f in [*backgrounds, ("mandelbrot", None)]]:
        video = out / f"static-{lang}-{footage}-v{STATIC_VERSION}.mp4"
        if not video.is_file():
            make_clip(video, static_name(lang), background=background)
        result = stage_captions(video, with_scripts(engine, ("en",)), ("en",))[0]
        clips, false_cues = clips + 1, false_cues + len(result.cues)
        print(json.dumps({"kind": f"generated static name ({lang}) over {footage}, no caption", "clip": video.name,
                          "false_cues": len(result.cues), "band": result.band,
                          "static": [s.text for s in result.static], "reason": result.reason},
                         ensure_ascii=False), flush=True)
        if show:
            for c in result.cues:
                print(f"    {c.start:6.2f}-{c.end:6.2f} {c.text!r}", flush=True)
    print(json.dumps({"kind": "generated static names, all", "clips": clips, "false_cues": false_cues}), flush=True)
    # And the other way: captions that stay long, or of about one length at one place, stay captions.
    for kind in ("long", "steady"):
        captions = staying_captions(kind)
        video = out / f"staying-{kind}-{'film' if backgrounds else 'mandelbrot'}-v1.mp4"
        if not video.is_file():
            make_clip(video, captions, size=(1280, 720), background=backgrounds[0][1] if backgrounds else None)
        reference = [RefCue(c.start, c.end, "\n".join(c.lines)) for c in captions]
        result = stage_captions(video, with_scripts(engine, ("en",)), ("en",))[0]
        print(json.dumps({"kind": f"generated captions that stay ({kind}), kept as captions", "clip": video.name,
                          **score(reference, result), "static": [s.text for s in result.static]},
                         ensure_ascii=False), flush=True)


def run_english(out: Path, engine: OcrEngine, show: bool) -> None:
    """Each of ``ENGLISH_SETS`` over real footage (without ``../shared``: none) and over the
    mandelbrot zoom, as the OCR stage reads them with ``en`` said; a row per clip and the mean."""
    backgrounds = [("film", BACKGROUND)] if BACKGROUND.is_file() else []
    recalls: dict[str, list[float]] = {}
    for k, sentences in enumerate(ENGLISH_SETS):
        captions = turns(sentences)
        reference = [RefCue(c.start, c.end, "\n".join(c.lines)) for c in captions]
        for footage, background in [*backgrounds, ("mandelbrot", None)]:
            video = out / f"english-{k}-{footage}-v{SCRIPTS_VERSION}.mp4"
            if not video.is_file():
                make_clip(video, captions, background=background)
            result = stage_captions(video, with_scripts(engine, ("en",)), ("en",))[0]
            row = {"kind": f"generated en, set {k}, {footage}", "clip": video.name, **score(reference, result)}
            recalls.setdefault(footage, []).append(float(row["word_recall"]))  # type: ignore[arg-type]
            print(json.dumps(row, ensure_ascii=False), flush=True)
            if show:
                for c in result.cues:
                    print(f"    {c.start:6.2f}-{c.end:6.2f} {c.text!r}", flush=True)
    for footage, values in recalls.items():
        print(json.dumps({"kind": f"generated en, {footage}, all", "sets": len(values),
                          "mean_word_recall": round(sum(values) / len(values), 3),
                          "sets_at_0.95": sum(v >= 0.95 for v in values)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="real clips to run (default: all eight; none given: none)")
    parser.add_argument("--no-generated", action="store_true")
    parser.add_argument("--no-real", action="store_true")
    parser.add_argument("--scripts", nargs="*", choices=sorted(SCRIPT_SENTENCES), default=None,
                        help="per-script generated clips to run (given alone: all of them; by default all, none with --no-generated)")
    parser.add_argument("--show", action="store_true", help="print the cues found")
    parser.add_argument("--pauses", action="store_true",
                        help="run the generated Chinese captions with pauses between phrases (with --no-generated too)")
    parser.add_argument("--static", action="store_true",
                        help="the clips of a name that stays where captions sit (also without --no-generated)")
    parser.add_argument("--cost", type=float, default=0.0, metavar="SECONDS",
                        help="also a generated 720p clip this long (a caption every 2.5 s) and, unless "
                             "--no-real, the real 720p clips played over and over as long: frames decoded and "
                             "OCR'd per minute, x real time")
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--runtime", choices=RUNTIMES, default="onnxruntime", help="what runs RapidOCR's models")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench" / "captions")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    engine = load_engine("rapidocr", args.model_dir, runtime=args.runtime)
    rows = []
    if not args.no_real:
        if not SHARED.is_dir():
            print(f"real clips: skipped ({SHARED} not found)", flush=True)
        for name in REAL if args.only is None else args.only:
            video = SHARED / f"{name}.mp4"
            if video.is_file():
                row = run_clip(name, video, read_reference(video.with_suffix(".txt")), engine, args.show)
                rows.append({"kind": "real (OBSERVED)", **row})
                print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    if rows:
        print(json.dumps(real_summary(rows)), flush=True)
    if args.cost > 0:
        run_cost(args.out, args.cost, engine, args.show)
        if not args.no_real:
            run_cost_real(args.out, args.cost, engine, args.show)
    if not args.no_generated:
        video = args.out / f"two-bands-v{GENERATED_VERSION}.mp4"
        if not video.is_file():
            make_clip(video, TWO_BANDS)
        reference = [RefCue(c.start, c.end, "\n".join(c.lines)) for c in TWO_BANDS]
        row = run_clip(video.name, video, reference, engine, args.show)
        print(json.dumps({"kind": "generated two bands (bottom and top at once)", **row}), flush=True)
    if not args.no_generated:
        run_english(args.out, engine, args.show)
        run_chinese(args.out, engine, args.show, {**CHINESE_SETS, "pauses": CHINESE_PAUSES})
    elif args.pauses:
        run_chinese(args.out, engine, args.show, {"pauses": CHINESE_PAUSES})
    if not args.no_generated or args.static:
        run_static(args.out, engine, args.show)
    if not args.no_generated or args.scripts is not None:
        run_scripts(args.out, engine, args.scripts or sorted(SCRIPT_SENTENCES), args.show)
    if not args.no_generated:
        video = args.out / f"generated-v{GENERATED_VERSION}.mp4"
        if not video.is_file():
            make_clip(video)
        plain = stage_captions(video, with_scripts(engine, ("en",)), ("en",))[0]
        # With the languages said (en, ru, el, ar), lines are re-read by Tesseract in their script.
        languages = ("en", "ru", "el", "ar")
        said = stage_captions(video, with_scripts(engine, languages), languages)[0]
        for label, cues, result in (
                ("generated latin", [c for c in DEFAULT_CAPTIONS if c.lines[0].isascii()], plain),
                ("generated other scripts, no languages", [c for c in DEFAULT_CAPTIONS if not c.lines[0].isascii()],
                 plain),
                ("generated latin, languages en ru el ar", [c for c in DEFAULT_CAPTIONS if c.lines[0].isascii()],
                 said),
                ("generated other scripts, languages en ru el ar",
                 [c for c in DEFAULT_CAPTIONS if not c.lines[0].isascii()], said)):
            reference = [RefCue(c.start, c.end, "\n".join(c.lines)) for c in cues]
            span = (min(c.start for c in cues) - 0.3, max(c.end for c in cues) + 0.3)
            inside = tuple(c for c in result.cues if span[0] <= c.start <= span[1]
                           and any(c.start < r.end and r.start < c.end for r in reference))
            scoped = CaptionResult(inside, result.band, result.band_source, result.static, result.reason,
                                   result.frames_decoded, result.frames_sampled, result.frames_ocred,
                                   result.duration, result.seconds)
            flagged = sum(1 for c in inside if c.flags)
            row = {"kind": label, "clip": video.name, **score(reference, scoped), "cues_flagged": flagged,
                   "x_real_time": round(result.seconds / max(result.duration, 1e-6), 2)}
            print(json.dumps(row, ensure_ascii=False), flush=True)
            if args.show:
                for c in inside:
                    print(f"    {c.start:6.2f}-{c.end:6.2f} {c.text!r}", flush=True)


if __name__ == "__main__":
    main()
