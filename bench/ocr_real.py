"""The OCR stage on real UI screen recordings nobody here made (``../shared/testdata/video``).

Each recording has an OBSERVED reference: the main on-screen text at a few timestamps (``t text``
lines, a screen's lines joined with " / ", read off single frames, +-1 s, not exhaustive). Per
recording this prints word recall (the reference's words found in the events shown within 1 s of
its timestamp; words are lower-cased runs of letters and digits, so punctuation and spacing do not
count), the share of sampled frames OCR'd, and the stage's CPU and wall time as a multiple of the
duration. The engine reads as in a job: other scripts looked for with no language but English said
(``pipelines.ocr.scripts``), Tesseract's CPU counted with the stage's (it runs as a child process).
Also printed: Tesseract's runs, the events flagged (``script-uncertain``) and those with nothing
to translate (``pipelines.ocr.scene_text.has_words``: icons read as letters, numbers), the texts
``onscreen_text.txt`` lists, the icons read as text and the texts' other readings set apart from them
(``glyphs``, ``variants``: ``pipelines.ocr.scene_text``), with the reference's words found only among
those (none wanted). Used by ``bench/bench_ocr.py`` (``--real``), reported
apart from the generated video.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.ocr import tesseract
from pipelines.ocr.engines import OcrEngine
from pipelines.ocr.reader import OcrOptions, run_ocr
from pipelines.ocr.scene_text import has_words, unique_text
from pipelines.ocr.scripts import with_scripts
from pipelines.ocr.tracking import normalise_text

SHARED = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "video"
RECORDINGS = ("screencast_jupyterhub_quota", "screencast_jupyterlab_ghcreds", "screencast_terminal_demotape")
WINDOW_S = 1.0  # the references' own timing tolerance


@dataclass(frozen=True)
class Shown:
    time: float
    text: str


def words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.lower())


_COMMENT = re.compile(r"\s{2,}#\s.*$")  # "... / Other   # zoomed and blurred": the observer's note


def read_reference(path: Path) -> list[Shown]:
    """The timestamps and their text; a note after the text (two spaces or more, then "# ") is
    not text on screen (before it was cut, jupyterhub_quota counted "zoomed and blurred" as
    three words to find)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        t, _, text = line.partition(" ")
        out.append(Shown(float(t), _COMMENT.sub("", text)))
    return out


def recall(reference: list[Shown], events: list[tuple[float, float, str]]) -> tuple[int, int]:
    """(reference words found, reference words) over every timestamp; a word counts as often as
    the reference has it at that moment and the events shown then have it."""
    found = total = 0
    for shown in reference:
        want = Counter(words(shown.text))
        have = Counter(w for start, end, text in events
                       if start - WINDOW_S <= shown.time <= end + WINDOW_S for w in words(text))
        total += sum(want.values())
        found += sum(min(n, have[w]) for w, n in want.items())
    return found, total


class _CountedTesseract:
    """``pipelines.ocr.tesseract._tesseract`` counted while a recording is read."""

    def __init__(self) -> None:
        self.runs = 0
        self._run = tesseract._tesseract

    def __call__(self, *args: object, **kwargs: object) -> bytes:
        self.runs += 1
        return self._run(*args, **kwargs)  # type: ignore[arg-type]


def _cpu() -> float:
    """CPU seconds of this process and its finished children (Tesseract)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_real(engine: OcrEngine, rate: float, folder: Path = SHARED) -> list[dict[str, object]]:
    """One row per recording found in ``folder`` (none when the test data is absent)."""
    rows: list[dict[str, object]] = []
    engine.read(np.full((64, 256, 3), 255, np.uint8))  # the models load outside the first recording's time
    for name in RECORDINGS:
        video, ref = folder / f"{name}.mp4", folder / f"{name}.txt"
        if not (video.is_file() and ref.is_file()):
            continue
        counted = _CountedTesseract()
        tesseract._tesseract = counted  # type: ignore[assignment]
        try:
            cpu, wall = _cpu(), time.perf_counter()
            options = OcrOptions(engine=engine.name, sample_rate=rate)
            result = run_ocr(video, with_scripts(engine, options.languages), options)
            cpu, wall = _cpu() - cpu, time.perf_counter() - wall
        finally:
            tesseract._tesseract = counted._run  # type: ignore[assignment]
        reference = read_reference(ref)
        found, total = recall(reference, [(e.start, e.end, e.text) for e in result.events])
        # onscreen_text.txt's texts and the icons read as text set apart from them: none should hold
        # a word of the reference that the texts lack
        scenes = unique_text(result.events)
        words = {w for scene in scenes for t in scene.texts for w in normalise_text(t).split()}
        glyph_only = {w for scene in scenes for t in scene.glyphs for w in normalise_text(t).split()} - words
        variant_only = {w for scene in scenes for t in scene.variants for w in normalise_text(t).split()} - words
        reference_words = {w for shown in reference for w in normalise_text(shown.text).split()}
        rows.append({
            "clip": name, "video_s": round(result.duration, 1), "recall": round(found / max(1, total), 4),
            "words": total, "frames_sampled": result.frames_sampled, "frames_ocred": result.frames_ocred,
            "share_ocred": round(result.frames_ocred / max(1, result.frames_sampled), 3),
            "area_ocred": round(result.area_ocred / max(1, result.frames_sampled), 3),
            "cpu_x_duration": round(cpu / result.duration, 3), "wall_x_duration": round(wall / result.duration, 3),
            "tesseract_runs": counted.runs, "lines_kept": result.lines_kept, "events": len(result.events),
            "flagged": sum(1 for e in result.events if e.flags),
            "nothing_to_translate": sum(1 for e in result.events if not has_words(e.text)),
            "texts": sum(len(scene.texts) for scene in scenes),
            "glyphs": sum(len(scene.glyphs) for scene in scenes),
            "glyph_reference_words": len(glyph_only & reference_words),
            "variants": sum(len(scene.variants) for scene in scenes),
            "variant_reference_words": len(variant_only & reference_words),
        })
    return rows


def print_rows(rows: list[dict[str, object]]) -> None:
    if not rows:
        print(f"real UI recordings: skipped ({SHARED} not found)", flush=True)
        return
    print(f"{'real recording':32} {'recall':>7} {'words':>5} {'OCRd':>9} {'area':>5} {'cpu xRT':>8} {'wall xRT':>8} {'tesseract':>9} "
          f"{'kept':>5} {'events':>6} {'flagged':>7} {'no words':>8} {'texts':>5} {'glyphs':>6} {'glyph ref words':>15} "
          f"{'variants':>8} {'variant ref words':>17}")
    for r in rows:
        print(f"{r['clip']!s:32} {r['recall']:>7} {r['words']:>5} {r['frames_ocred']!s:>4}/{r['frames_sampled']!s:<4} "
              f"{r['area_ocred']!s:>5} {r['cpu_x_duration']:>8} {r['wall_x_duration']:>8} {r['tesseract_runs']!s:>9} {r['lines_kept']!s:>5} "
              f"{r['events']!s:>6} {r['flagged']!s:>7} {r['nothing_to_translate']!s:>8} {r['texts']!s:>5} "
              f"{r['glyphs']!s:>6} {r['glyph_reference_words']!s:>15} {r['variants']!s:>8} "
              f"{r['variant_reference_words']!s:>17}", flush=True)
    found = sum(float(r["recall"]) * int(r["words"]) for r in rows)  # type: ignore[call-overload]
    total = sum(int(r["words"]) for r in rows)  # type: ignore[call-overload]
    print(f"{'all':32} {found / max(1, total):>7.4f} {total:>5}", flush=True)
