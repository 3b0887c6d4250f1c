"""The OCR stage: options and pipeline logic with a fake engine (fast), real engines (slow)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipelines.demux import SHOTS, VIDEO, MediaPass
from pipelines.exceptions import (
    EngineNotInstalledError,
    ModelNotInstalledError,
    OptionsError,
    UnsupportedLanguageError,
)
from pipelines.ocr.engines import DETECT_SCALE, OcrEngine, Reading, join_line_boxes, load_engine, read_knowing
from pipelines.ocr.frames import ChangeOptions
from pipelines.ocr.reader import OcrOptions, OcrResult, load_image, read_image, run_ocr
from pipelines.ocr.tracking import SCRIPT_UNCERTAIN, similarity, to_webvtt
from pipelines.shots import detect_shot_changes

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared" / "testdata"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
EASYOCR_PYTHON = ROOT / ".venv-easyocr" / "bin" / "python"


def shared(relative: str) -> Path:
    path = SHARED / relative
    if not path.is_file():
        pytest.skip(f"shared test data {path} not found (only present on the project's machines)")
    return path


# ---------------------------------------------------------------- options (fast)


def test_uncovered_language_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Korean and Russian are read through Tesseract's packs: refused, naming the package, without them.
    monkeypatch.setattr("pipelines.ocr.scripts.installed_packs", lambda: frozenset({"eng"}))
    with pytest.raises(UnsupportedLanguageError, match=r"ko needs Tesseract's 'kor' pack.*tesseract-ocr-kor"):
        OcrOptions(languages=("en", "ko"))
    with pytest.raises(UnsupportedLanguageError, match=r"'easyocr' cannot read zh.*Engine 'rapidocr' covers it"):
        OcrOptions(engine="easyocr", languages=("zh",))
    with pytest.raises(UnsupportedLanguageError, match="ru"):
        OcrOptions(languages=("ru",))
    with pytest.raises(UnsupportedLanguageError, match="pl"):  # its alphabet lacks ś and ź
        OcrOptions(languages=("pl",))
    monkeypatch.setattr("pipelines.ocr.scripts.installed_packs", lambda: frozenset({"eng", "kor", "rus"}))
    assert OcrOptions(languages=("en", "ko", "ru")).languages == ("en", "ko", "ru")
    with pytest.raises(UnsupportedLanguageError, match=r"'rapidocr' cannot read pl offline; it covers .*en"):
        OcrOptions(languages=("pl",))
    assert OcrOptions(languages=("fr", "de", "ja", "zh")).languages == ("fr", "de", "ja", "zh")


@pytest.mark.parametrize(
    "kwargs",
    [{"engine": "tesseract"}, {"sample_rate": 0}, {"min_confidence": 1.5}, {"roi": (0.5, 0.5, 0.4, 1.0)},
     {"min_text_height": -1}, {"languages": ()}],
)
def test_bad_options_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(OptionsError):
        OcrOptions(**kwargs)  # type: ignore[arg-type]


def test_missing_weights_say_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(ModelNotInstalledError, match=r"ppocrv5.*Install it with"):
        load_engine("rapidocr", tmp_path)


def test_easyocr_outside_its_extra_says_how_to_get_it(tmp_path: Path) -> None:
    if importlib.util.find_spec("easyocr") is not None:
        pytest.skip("running in the EasyOCR extra's venv")
    with pytest.raises(EngineNotInstalledError, match="setup-easyocr"):
        load_engine("easyocr", tmp_path)


def test_join_line_boxes_joins_split_words_not_menu_items_or_lines() -> None:
    split_line = [(0, 0, 100, 40), (104, 2, 160, 40)]  # "Frame" "= 2": a 4 px gap
    menu = [(300, 0, 360, 40), (380, 0, 440, 40)]  # "Insert"  "Format": a 20 px gap (half a line)
    below = [(0, 60, 100, 100)]
    groups = join_line_boxes(split_line + menu + below)
    assert sorted(groups) == [[0, 1], [2], [3], [4]]


# ---------------------------------------------------------------- pipeline with a fake engine (fast)

LABELS = {40: "Title A", 70: "Line A1", 100: "Title B", 130: "Line B1", 160: "Saved"}


class GreyLevelEngine:
    """Reads "text" drawn as solid grey bars: each grey level stands for one label."""

    name = "rapidocr"

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def read(self, image: np.ndarray) -> list[Reading]:
        self.calls.append(image.shape[:2])
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        count, labels, stats, _ = cv2.connectedComponentsWithStats((gray < 185).astype(np.uint8))
        out = []
        for i in range(1, count):
            x, y, w, h, area = stats[i]
            level = int(np.median(gray[labels == i]))
            text = next((t for g, t in LABELS.items() if abs(g - level) <= 12), None)
            if text and area > 50:
                out.append(Reading((int(x), int(y), int(x + w), int(y + h)), text, 0.9))
        return out

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        return " ".join(r.text for r in self.read(image)), 0.9


def fake_video(path: Path) -> Path:
    """8 s at 10 fps: slide A (0-3 s), slide B (3 s-), "Saved" appears at 4.5 s; a cursor moves."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10, (320, 240))
    for i in range(80):
        t = i / 10
        if t < 3:
            f = np.full((240, 320, 3), 255, np.uint8)
            f[20:40, 20:200] = 40
            f[80:96, 20:260] = 70
        else:
            f = np.full((240, 320, 3), 215, np.uint8)
            f[30:50, 40:220] = 100
            f[120:136, 40:280] = 130
            if t >= 4.5:
                f[200:216, 200:280] = 160
        cx, cy = 300 + (i * 5) % 14, 10 + (i * 23) % 220  # a cursor moving about (beside the bars)
        f[cy : cy + 6, cx : cx + 4] = 0
        writer.write(f)
    writer.release()
    return path


def test_only_changes_are_read_and_events_are_timed(tmp_path: Path) -> None:
    engine = GreyLevelEngine()
    progress: list[float] = []
    result = run_ocr(fake_video(tmp_path / "fake.mp4"), engine, OcrOptions(), progress=progress.append)
    got = {e.text: (e.start, e.end) for e in result.events}
    assert got == {
        "Title A": (0.0, 3.0), "Line A1": (0.0, 3.0),
        "Title B": (3.0, 8.0), "Line B1": (3.0, 8.0), "Saved": (4.5, 8.0),
    }
    assert result.frames_sampled == 16
    # The first frame, the new slide and the "Saved" region; the cursor never triggers a read.
    assert result.frames_ocred == 3
    assert result.regions_ocred == 1
    # Two whole frames and the "Saved" region (a small share of a frame): the area read.
    assert 2.0 < result.area_ocred < 2.25
    assert engine.calls[-1] != (240, 320)  # a region (with a border), not the frame
    assert [s.texts for s in result.scenes] == [("Title A", "Line A1"), ("Title B", "Line B1", "Saved")]
    assert progress[-1] == 1.0 and progress == sorted(progress)


def test_text_of_a_clip_shorter_than_a_sampling_step_ends_with_the_clip(tmp_path: Path) -> None:
    path = tmp_path / "short.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10, (320, 240))
    for _ in range(3):  # 0.3 s
        frame = np.full((240, 320, 3), 255, np.uint8)
        frame[20:40, 20:200] = 40
        writer.write(frame)
    writer.release()
    result = run_ocr(path, GreyLevelEngine(), OcrOptions())
    assert [(e.text, e.start, e.end) for e in result.events] == [("Title A", 0.0, 0.3)]  # 0.5 s before
    assert result.duration == pytest.approx(0.3)


def test_region_of_interest_limits_reading_to_it(tmp_path: Path) -> None:
    engine = GreyLevelEngine()
    result = run_ocr(fake_video(tmp_path / "fake.mp4"), engine, OcrOptions(roi=(0.0, 0.0, 1.0, 0.3)))
    assert sorted({e.text for e in result.events}) == ["Title A", "Title B"]
    title_b = next(e for e in result.events if e.text == "Title B")
    assert title_b.box == pytest.approx((40 / 320, 30 / 240, 220 / 320, 50 / 240), abs=0.01)


class LookAlikeEngine(GreyLevelEngine):
    """Reads as ``GreyLevelEngine``, each reading flagged as maybe another script's look-alikes."""

    def read(self, image: np.ndarray) -> list[Reading]:
        return [replace(r, script="LATIN", flags=(SCRIPT_UNCERTAIN,)) for r in super().read(image)]


def test_a_region_of_interest_keeps_each_readings_script_and_flags(tmp_path: Path) -> None:
    # Moving the readings of the region back onto the frame dropped them: look-alikes passed silently.
    video = fake_video(tmp_path / "fake.mp4")
    for roi in (None, (0.05, 0.05, 1.0, 0.3)):
        events = run_ocr(video, LookAlikeEngine(), OcrOptions(roi=roi)).events
        assert events and all(e.script == "LATIN" and SCRIPT_UNCERTAIN in e.flags for e in events), (roi, events)
    slide = np.full((240, 320, 3), 255, np.uint8)
    slide[20:40, 20:200] = 40
    found = read_image(slide, LookAlikeEngine(), OcrOptions(roi=(0.05, 0.05, 1.0, 0.3)))
    assert [(d.text, d.script, SCRIPT_UNCERTAIN in d.flags) for d in found] == [("Title A", "LATIN", True)]


CHINESE = {"Title A": "第一课：安装软件", "Line A1": "點击这里开始", "Title B": "选择你的语言",
           "Line B1": "然后保存设置", "Saved": "已经保存"}


class ChineseEngine(GreyLevelEngine):
    """Reads the bars as simplified Chinese (``CHINESE``), one line with a traditional character."""

    def read(self, image: np.ndarray) -> list[Reading]:
        return [replace(r, text=CHINESE[r.text]) for r in super().read(image)]


def test_chinese_on_screen_is_kept_in_one_written_form(tmp_path: Path) -> None:
    result = run_ocr(fake_video(tmp_path / "fake.mp4"), ChineseEngine(), OcrOptions(languages=("zh",)))
    texts = {e.text for e in result.events}
    assert "点击这里开始" in texts and "點击这里开始" not in texts  # 點: traditional for 点


def test_min_text_height_and_confidence_filter(tmp_path: Path) -> None:
    video = fake_video(tmp_path / "fake.mp4")
    tall_only = run_ocr(video, GreyLevelEngine(), OcrOptions(min_text_height=18))
    assert sorted({e.text for e in tall_only.events}) == ["Title A", "Title B"]
    assert run_ocr(video, GreyLevelEngine(), OcrOptions(min_confidence=0.95)).events == ()


def test_readings_without_letters_or_digits_are_dropped() -> None:
    from pipelines.ocr.engines import Reading
    from pipelines.ocr.reader import _filter

    box = (0, 0, 100, 20)
    readings = [Reading(box, "•", 0.99), Reading(box, "— —", 0.99), Reading(box, "Step 1", 0.99)]
    assert [r.text for r in _filter(readings, OcrOptions())] == ["Step 1"]


# ---------------------------------------------------------------- real engines (slow)

SLIDES = [  # (start, end, lines): times not on the sampling grid on purpose
    (0.0, 3.3, ["Welcome to the course", "Open the Settings menu", "Choose Account details"]),
    (3.3, 6.1, ["Step two: add a user", "Type the user's email address", "Click Save to finish"]),
    (6.1, 9.4, ["Exporting reports", "Select a date range", "Press Export as PDF"]),
    (9.4, 12.0, ["Summary", "You can now manage users", "Questions? Contact support"]),
]


def slide_video(path: Path, fps: int = 10, size: tuple[int, int] = (1280, 720)) -> Path:
    """A lesson-like video whose slides change at the times of SLIDES."""
    title_font = ImageFont.truetype(str(FONT), 48)
    body_font = ImageFont.truetype(str(FONT), 32)
    images = []
    for _, _, lines in SLIDES:
        img = Image.new("RGB", size, (250, 250, 245))
        draw = ImageDraw.Draw(img)
        draw.rectangle((0, 0, size[0], 110), fill=(30, 60, 120))
        draw.text((60, 30), lines[0], font=title_font, fill=(255, 255, 255))
        for i, line in enumerate(lines[1:]):
            draw.text((80, 220 + 90 * i), line, font=body_font, fill=(20, 20, 20))
        images.append(cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    total = int(SLIDES[-1][1] * fps)
    for i in range(total):
        t = i / fps
        writer.write(next(img for (start, end, _), img in zip(SLIDES, images, strict=True) if start <= t < end))
    writer.release()
    return path


@pytest.fixture(scope="module")
def slides(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not FONT.is_file():
        pytest.skip(f"{FONT} not installed (apt-get install fonts-dejavu-core; ./scripts/setup does it)")
    return slide_video(tmp_path_factory.mktemp("ocr") / "slides.mp4")


@pytest.fixture(scope="module")
def rapid(require_model: Callable[[str], Path], model_dir: Path) -> OcrEngine:
    require_model("ppocrv5")
    return load_engine("rapidocr", model_dir)


def check_slides(events: list[dict[str, object]], period: float, min_similarity: float) -> None:
    """Every slide line is one event whose start/end are within one sampling period of the truth."""
    for start, end, lines in SLIDES:
        for line in lines:
            matches = [e for e in events if similarity(str(e["text"]), line) >= min_similarity]
            assert matches, f"{line!r} not found in {[e['text'] for e in events]}"
            best = max(matches, key=lambda e: similarity(str(e["text"]), line))
            assert abs(float(best["start"]) - start) <= period, (line, best)  # type: ignore[arg-type]
            assert abs(float(best["end"]) - end) <= period, (line, best)  # type: ignore[arg-type]


def events_as_dicts(result: OcrResult) -> list[dict[str, object]]:
    return [{"text": e.text, "start": e.start, "end": e.end} for e in result.events]


@pytest.mark.slow
def test_rapidocr_finds_every_slide_line_on_time(slides: Path, rapid: OcrEngine) -> None:
    result = run_ocr(slides, rapid, OcrOptions())
    check_slides(events_as_dicts(result), 0.5, 0.95)
    assert result.frames_sampled == 24
    assert result.frames_ocred == 4  # one read per slide
    assert len(result.events) == sum(len(lines) for _, _, lines in SLIDES)
    assert [s.texts[0] for s in result.scenes] == [lines[0] for _, _, lines in SLIDES]
    assert "Welcome to the course" in to_webvtt(result.events)


@pytest.mark.slow
def test_in_a_job_pass_the_samples_are_decoded_ahead_and_read_the_same(slides: Path, rapid: OcrEngine) -> None:
    """Beside Whisper every frame is decoded (the shot tracker's): on a thread of its own, ahead
    of the reads, with the same readings; a read that fails (a cancelled job) stops that thread."""
    alone = run_ocr(slides, rapid, OcrOptions())
    one = MediaPass(slides, {VIDEO, SHOTS})
    tracker = one.shots()
    seen: set[str] = set()
    result = run_ocr(slides, rapid, OcrOptions(), progress=lambda _: seen.update(t.name for t in threading.enumerate()),
                     source=one)
    one.release(VIDEO)
    assert "ocr-decode" in seen
    assert events_as_dicts(result) == events_as_dicts(alone) and result.frames_ocred == alone.frames_ocred
    assert tracker is not None and tracker.cuts() == detect_shot_changes(slides)  # every frame seen (None if not)
    one.close()

    def cancel(fraction: float) -> None:
        if fraction > 0.2:
            raise RuntimeError("cancelled")

    one = MediaPass(slides, {VIDEO, SHOTS})
    with pytest.raises(RuntimeError, match="cancelled"):
        run_ocr(slides, rapid, OcrOptions(), progress=cancel, source=one)
    assert not any(t.name == "ocr-decode" for t in threading.enumerate())  # stopped as the read failed
    one.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "min_similarity"),
    [("tessjs_testocr.png", 0.95), ("pytess_test.jpg", 0.95), ("easyocr_french.jpg", 0.75),
     ("tessjs_cosmic.png", 0.8), ("tessjs_simple.png", 1.0), ("easyocr_chinese.jpg", 1.0),
     ("tessjs_chinese.png", 1.0)],
)
def test_rapidocr_reads_the_reference_images(name: str, min_similarity: float, rapid: OcrEngine) -> None:
    image = shared(f"images/{name}")
    reference = [
        line.strip() for line in image.with_suffix(".txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    if name == "tessjs_chinese.png":  # the reference spaces the words; the image does not
        reference = ["".join(reference[0].split())]
    # easyocr_french.jpg: "Mairie du Ier" has a superscript "er" that reads as "1": 0.75 allows it.
    texts = [d.text for d in read_image(load_image(image), rapid, OcrOptions(languages=("en", "fr", "zh")))]
    for line in reference:
        best = max((similarity(t, line) for t in texts), default=0.0)
        assert best >= min_similarity, (line, texts)


@pytest.mark.slow
def test_rapidocr_reads_the_small_crop(rapid: OcrEngine) -> None:
    # The manifest's "contains 'The quick brown dog'" is the upstream assertion for the full page;
    # this 79x47 crop shows only the word "This" (checked by eye).
    image = shared("images/pytess_test-small.jpg")
    assert [d.text for d in read_image(load_image(image), rapid)] == ["This"]


@pytest.mark.slow
def test_psd_counter_every_frame_exact(rapid: OcrEngine) -> None:
    video = shared("video/psd_counter.mp4")
    reference = {
        int(parts[0]): parts[2]
        for parts in (line.split("\t") for line in video.with_suffix(".txt").read_text().splitlines())
        if parts[0].isdigit()
    }
    # Text that changes on every frame: read each change at once (by default a region that keeps
    # changing waits up to change.max_defer samples to settle, the saving on typing and scrolling).
    result = run_ocr(video, rapid, OcrOptions(sample_rate=10, change=ChangeOptions(max_defer=0)))
    assert result.frames_sampled == 30
    for index, sample in enumerate(result.samples):
        assert " | ".join(d.text for d in sorted(sample.detections, key=lambda d: d.box[1])) == reference[index]
    frame_events = sorted((e for e in result.events if e.text.startswith("Frame")), key=lambda e: e.start)
    assert [e.text for e in frame_events] == [f"Frame = {n}" for n in range(1, 31)]
    assert all(abs(e.start - i * 0.1) < 1e-6 and abs(e.end - (i + 1) * 0.1) < 1e-6 for i, e in enumerate(frame_events))


@pytest.mark.slow
def test_timecode_card_caption_is_one_event_and_timecodes_match_frames(rapid: OcrEngine) -> None:
    video = shared("video/moviepy_testcard_timecode.mp4")
    for options in (OcrOptions(), OcrOptions(change=ChangeOptions(max_defer=0))):
        result = run_ocr(video, rapid, options)
        caption = [e for e in result.events if similarity(e.text, "1024 x 768 25 fps Photo JPEG 75%") >= 0.9]
        assert len(caption) == 1
        assert caption[0].start == 0.0 and caption[0].end == pytest.approx(16.0, abs=0.5)
    # With max_defer=0 every sample's timecode is read as it is.
    right = 0
    for sample in result.samples:
        n = round(sample.time * 25)
        expected = f"00:00:{n // 25:02d}:{n % 25:02d}"
        right += any(d.text == expected for d in sample.detections)
    assert right >= 0.9 * len(result.samples), (right, len(result.samples))


# ---------------------------------------------------------------- EasyOCR (the optional extra)

EASYOCR_SCRIPT = """
import json, sys
from pathlib import Path
from pipelines.ocr.engines import load_engine
from pipelines.ocr.reader import OcrOptions, run_ocr
engine = load_engine("easyocr", Path(sys.argv[2]))
result = run_ocr(sys.argv[1], engine, OcrOptions(engine="easyocr"))
print(json.dumps({"events": [{"text": e.text, "start": e.start, "end": e.end} for e in result.events],
                  "ocred": result.frames_ocred}))
"""


@pytest.mark.slow
def test_easyocr_finds_every_slide_line_on_time(slides: Path, model_dir: Path) -> None:
    """Runs in .venv-easyocr (a subprocess when these tests run in the main venv)."""
    try:
        import easyocr  # noqa: F401

        python = Path(sys.executable)
    except ImportError:
        python = EASYOCR_PYTHON
        if not python.is_file():
            pytest.skip("EasyOCR extra not installed: run ./scripts/setup-easyocr (makes .venv-easyocr)")
    out = subprocess.run(
        [str(python), "-c", EASYOCR_SCRIPT, str(slides), str(model_dir)],
        capture_output=True, text=True, cwd=ROOT, timeout=600, check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    # EasyOCR drops some punctuation (the apostrophe, "?"): a slightly lower bar than RapidOCR's.
    check_slides(data["events"], 0.5, 0.85)
    assert data["ocred"] == 4


def test_the_real_recordings_bench_counts_the_words_shown_around_each_reference_moment() -> None:
    from bench.ocr_real import Shown, recall

    reference = [Shown(5.0, "File / Save as..."), Shown(20.0, "$ ls -la")]
    events = [(0.0, 4.2, "File"), (4.5, 9.0, "Save as"), (19.5, 30.0, "$ ls -1a"), (40.0, 50.0, "la")]
    assert recall(reference, events) == (4, 5)  # "la" read as "1a"; the later "la" is shown too late


def test_an_observers_note_after_a_reference_moment_is_not_text_to_find(tmp_path: Path) -> None:
    from bench.ocr_real import read_reference

    ref = tmp_path / "clip.txt"
    ref.write_text("# OBSERVED: header\n10 File Edit / Open Recent   # zoomed and blurred\n"
                   "12 $ echo '#1' # not a note\n", encoding="utf-8")
    assert [(s.time, s.text) for s in read_reference(ref)] == [
        (10.0, "File Edit / Open Recent"), (12.0, "$ echo '#1' # not a note")]


def panning_video(path: Path, blurred: bool) -> Path:
    """8 s at 10 fps of a striped view that pans from 2 s to 6 s (an animated zoom or pan of a
    screen recording); "Saved" is shown only while it pans (3-5 s). ``blurred``: motion blur on
    every frame of the pan."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10, (320, 240))
    for i in range(80):
        t = i / 10
        shift = 3 * (min(i, 60) - 20) if t >= 2 else 0  # the view moves 3 pixels a frame until 6 s
        f = np.full((240, 320, 3), 255, np.uint8)
        for x in range(-shift % 32 - 32, 320, 32):  # stripes the reader ignores (light), moved with the view
            f[:, max(0, x) : max(0, x + 16)] = 205
        f[20:40, 20 + shift // 8 : 200 + shift // 8] = 40
        if 3 <= t < 5:
            f[120:136, 40:200] = 160
        if blurred and 2 <= t < 6:
            f = cv2.GaussianBlur(f, (0, 0), 3)
        writer.write(f)
    writer.release()
    return path


def test_text_shown_only_while_the_view_moves_is_read_from_a_sharp_sample(tmp_path: Path) -> None:
    sharp = run_ocr(panning_video(tmp_path / "sharp.mp4", blurred=False), GreyLevelEngine(), OcrOptions())
    saved = [e for e in sharp.events if e.text == "Saved"]
    assert saved and saved[0].start <= 3.5 and saved[0].end >= 4.0
    # Blurred by the motion, no sample is as sharp as the last one read: it waits as before
    # (``max_defer``), and "Saved" is gone by then.
    blurred = run_ocr(panning_video(tmp_path / "blurred.mp4", blurred=True), GreyLevelEngine(), OcrOptions())
    assert "Saved" not in {e.text for e in blurred.events}
    assert {"Title A"} <= {e.text for e in blurred.events}
    no_motion_reads = run_ocr(panning_video(tmp_path / "sharp.mp4", blurred=False), GreyLevelEngine(),
                              OcrOptions(change=ChangeOptions(camera_fraction=1.01)))
    assert "Saved" not in {e.text for e in no_motion_reads.events}  # the rule is what reads it
    # Once per motion, not at every sharp sample (a film's camera is always moving): here the read
    # in motion takes the place of the one ``max_defer`` made before (3 reads either way; 4 when
    # every sharp sample two after a read was read).
    assert sharp.frames_ocred == no_motion_reads.frames_ocred == 3


class FindingEngine(GreyLevelEngine):
    """``GreyLevelEngine`` that can also say where lines are without reading them (``find_lines``)."""

    def __init__(self) -> None:
        super().__init__()
        self.looked = 0
        self.scales: list[float] = []  # the detection scale of each read (``DETECT_SCALE``)

    def read(self, image: np.ndarray) -> list[Reading]:
        self.scales.append(DETECT_SCALE.get())
        return super().read(image)

    def find_lines(self, image: np.ndarray, scale: float) -> list[tuple[int, int, int, int]]:
        self.looked += 1
        reads, found = self.calls, [r.box for r in self.read(image)]
        self.calls, self.scales = reads[:-1], self.scales[:-1]  # a look, not a read
        return found


def moving_video(path: Path, title_from: float) -> Path:
    """10 s at 10 fps of a view that pans all along (a camera over footage); "Title A" shows from
    ``title_from`` seconds on, moving with the view."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10, (320, 240))
    for i in range(100):
        shift = 3 * i
        f = np.full((240, 320, 3), 255, np.uint8)
        for x in range(-shift % 32 - 32, 320, 32):  # stripes the reader ignores (light), moved with the view
            f[:, max(0, x) : max(0, x + 16)] = 205
        if i / 10 >= title_from:
            f[20:40, 20 + shift // 8 : 200 + shift // 8] = 40
        writer.write(f)
    writer.release()
    return path


def test_moving_footage_without_text_is_looked_at_not_read(tmp_path: Path) -> None:
    video = moving_video(tmp_path / "moving.mp4", title_from=6.0)
    probing = FindingEngine()
    looked = run_ocr(video, probing, OcrOptions(change=ChangeOptions(probe_min_side=120)))  # half of 320x240
    always = FindingEngine()
    read = run_ocr(video, always, OcrOptions(change=ChangeOptions(probe_scale=0, probe_min_side=120)))
    assert always.looked == 0 and read.frames_probed == 0
    assert looked.frames_probed == probing.looked - 1 >= 2  # the look that found the title is read
    assert looked.frames_ocred < read.frames_ocred
    for result in (looked, read):  # the title found as soon either way
        titles = [e for e in result.events if e.text == "Title A"]
        assert len(titles) == 1 and 5.5 <= titles[0].start <= 6.5, result.events
    assert [e.start for e in looked.events] == [e.start for e in read.events]
    # Text on screen as last read: a look could not say whether it changed, so it is read.
    shown = FindingEngine()
    result = run_ocr(moving_video(tmp_path / "titled.mp4", title_from=0.0), shown,
                     OcrOptions(change=ChangeOptions(probe_min_side=120)))
    assert shown.looked == 0 == result.frames_probed and result.frames_ocred >= 2
    # A frame whose half is under ``probe_min_side`` (540) is read as it was: small text is lost there.
    small = FindingEngine()
    assert run_ocr(video, small, OcrOptions()).frames_ocred == read.frames_ocred and small.looked == 0


def test_moving_footage_with_text_is_read_with_lines_found_as_a_look_finds_them(tmp_path: Path) -> None:
    """Whole frames of a moving view are read with their lines found on a smaller copy
    (``DETECT_SCALE``, ``motion_read_scale``); the same events as reading at full size; still
    frames at full size."""
    video = moving_video(tmp_path / "titled.mp4", title_from=0.0)
    looked, full = FindingEngine(), FindingEngine()
    small = run_ocr(video, looked, OcrOptions(change=ChangeOptions(probe_min_side=120)))  # half of 320x240
    whole = run_ocr(video, full, OcrOptions(change=ChangeOptions(probe_scale=0)))
    assert full.scales and set(full.scales) == {1.0}
    moving = [s for s in looked.scales if s != 1.0]
    # At three quarters (``motion_read_scale``), not the look's half: the first and last at full size.
    assert moving and set(moving) == {0.75} and len(moving) >= len(looked.scales) - 2
    assert [(e.text, e.start, e.end) for e in small.events] == [(e.text, e.start, e.end) for e in whole.events]
    assert small.frames_ocred == whole.frames_ocred and small.frames_probed == 0
    # A still view: read at full size whatever the look's scale.
    still = FindingEngine()
    run_ocr(fake_video(tmp_path / "still.mp4"), still, OcrOptions(change=ChangeOptions(probe_min_side=120)))
    assert still.scales and set(still.scales) == {1.0}


def test_a_cut_looked_at_still_starts_a_new_scene(tmp_path: Path) -> None:
    """A still slide with "Title A" (0-2 s), then without it, a cut at 4 s to a moving view
    without text (looked at, not read), then "Title B" over it: B is of another scene than A, as
    when every sample there is read."""
    path = tmp_path / "cut.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10, (320, 240))
    for i in range(100):
        f = np.full((240, 320, 3), 255, np.uint8)
        if i < 20:
            f[20:40, 20:200] = 40
        elif i >= 40:
            f[:] = 235
            for x in range(-3 * i % 32 - 32, 320, 32):
                f[:, max(0, x) : max(0, x + 16)] = 190
            if i >= 70:
                f[120:140, 20 + i // 8 : 200 + i // 8] = 100
        writer.write(f)
    writer.release()
    change = ChangeOptions(probe_min_side=120)
    looked = run_ocr(path, FindingEngine(), OcrOptions(change=change))
    read = run_ocr(path, FindingEngine(), OcrOptions(change=replace(change, probe_scale=0)))
    assert looked.frames_probed >= 1 and read.frames_probed == 0
    for result in (looked, read):
        scenes = {e.text: e.scene for e in result.events}
        assert set(scenes) == {"Title A", "Title B"} and scenes["Title A"] != scenes["Title B"], result.events


@pytest.mark.slow
def test_a_title_over_a_zoom_is_read_and_the_zoom_before_it_only_looked_at(tmp_path: Path, rapid: OcrEngine) -> None:
    """The real detector, on a zoom into a fractal (the whole view moving) with a title from 6 s:
    before it, samples are looked at on a quarter of the pixels, not read; the title is read."""
    clip = tmp_path / "zoom.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "mandelbrot=size=640x360:rate=25", "-t", "10",
                    "-vf", f"drawtext=fontfile={FONT}:text='Welcome to the course':fontsize=30:fontcolor=white:"
                    "borderw=2:x=(w-tw)/2:y=60:enable='gte(t,6)'", "-c:v", "libx264", "-preset", "veryfast",
                    "-pix_fmt", "yuv420p", str(clip)], check=True)
    # Looked at three quarters of its size, as 720p is by default (``probe_min_side`` 540).
    looked = run_ocr(clip, rapid, OcrOptions(hardsubs="off", change=ChangeOptions(probe_min_side=270)))
    read = run_ocr(clip, rapid, OcrOptions(hardsubs="off", change=ChangeOptions(probe_scale=0)))
    assert looked.frames_probed >= 2 and looked.frames_ocred < read.frames_ocred
    for result in (looked, read):
        titles = [e for e in result.events if similarity(e.text, "Welcome to the course") >= 0.9]
        assert titles and 5.5 <= titles[0].start <= 6.5 and titles[-1].end >= 9.5, result.events


@pytest.mark.slow
def test_a_look_s_lines_are_read_without_looking_again(rapid: OcrEngine) -> None:
    """The real detector: a frame looked at (``find_lines``) and then read at the same scale is
    detected once, and reads the look's lines; another frame, or another scale, is looked at anew."""
    image = np.full((720, 1280, 3), 30, np.uint8)
    cv2.putText(image, "Open the settings page", (200, 600), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (255, 255, 255), 3)
    detector = rapid._detector  # type: ignore[attr-defined]
    calls = []
    real = detector.__call__

    class Counting:
        def __getattr__(self, name: str) -> object:
            return getattr(detector, name)

        def __call__(self, *args: object) -> object:
            calls.append(args[0].shape)
            return real(*args)

    rapid._detector = Counting()  # type: ignore[attr-defined]
    try:
        boxes = rapid.find_lines(image, 0.75)  # type: ignore[attr-defined]
        read = read_knowing(rapid, image, None, scale=0.75)
        assert len(calls) == 1 and calls[0][:2] == (540, 960)
        assert [r.box for r in read] == boxes and similarity(read[0].text, "Open the settings page") >= 0.9, read
        read_knowing(rapid, image.copy(), None, scale=0.75)  # an equal copy is another frame
        read_knowing(rapid, image, None)  # at full size
        assert len(calls) == 3 and calls[2][:2] == (720, 1280)
        assert read_knowing(rapid, image, None)[0].text == read[0].text
    finally:
        rapid._detector = detector  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_menu_opened_while_a_real_recording_zooms_is_read(rapid: OcrEngine) -> None:
    """jupyterhub_quota: the view zooms and pans from 9.5 s to the cut at 12.5 s, and the File menu
    opens meanwhile (sharp at 10.5 s). Read once the view settled (or after ``max_defer``), it was
    never read; the sample as sharp as the last one read is."""
    video = shared("video/screencast_jupyterhub_quota.mp4")
    result = run_ocr(video, rapid, OcrOptions(hardsubs="off"))
    shown = {e.text for e in result.events if e.start <= 11.0 and e.end >= 10.5}
    for item in ("Open from Path...", "Close All Tabs", "Save and Export Notebook As", "Log Out"):
        assert any(similarity(item, text) >= 0.8 for text in shown), (item, sorted(shown))
    assert result.frames_ocred <= 10  # no more reads than before: 10 then, without the menu


@pytest.mark.slow
def test_links_appearing_alone_in_a_real_menu_bar_are_read_when_they_appear(rapid: OcrEngine) -> None:
    """jupyterhub_quota: "Home" and "Token" appear in the menu bar with the page at 3.5 s. At the
    change detector's scale each word is as small as a cursor; shaped like words, they are read
    once they held a second sample (before, they waited 8 s as a cursor might, and the page was
    gone by then)."""
    video = shared("video/screencast_jupyterhub_quota.mp4")
    result = run_ocr(video, rapid, OcrOptions(hardsubs="off"))
    shown = " ".join(e.text for e in result.events if e.start <= 6.0 <= e.end).lower().split()
    assert "home" in shown and "token" in shown, shown


def terminal_video(path: Path) -> Path:
    """6 s at 10 fps of a terminal: two lines, a memory gauge below; at 2 s a command is typed under
    the two lines and the gauge changes, a region that takes in the line above the command."""
    font = ImageFont.truetype(str(FONT), 22)

    def screen(typed: bool) -> np.ndarray:
        img = Image.new("RGB", (640, 360), (24, 24, 28))
        draw = ImageDraw.Draw(img)
        draw.text((16, 20), "$ git clone https://example.com/repo", font=font, fill=(230, 230, 230))
        draw.text((16, 50), "Cloning into repo, done", font=font, fill=(230, 230, 230))
        if typed:
            draw.text((16, 80), "$ git commit -m fix", font=font, fill=(230, 230, 230))
        draw.text((16, 112), "Mem: 346.85 MB" if typed else "Mem: 329.39 MB", font=font, fill=(230, 230, 230))
        return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)

    before, after = screen(False), screen(True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10, (640, 360))
    for i in range(60):
        writer.write(before if i < 20 else after)
    writer.release()
    return path


@pytest.mark.slow
def test_unchanged_lines_keep_their_reading_and_changed_ones_are_read_again(tmp_path: Path, rapid: OcrEngine) -> None:
    if not FONT.is_file():
        pytest.skip(f"{FONT} not installed (apt-get install fonts-dejavu-core; ./scripts/setup does it)")
    video = terminal_video(tmp_path / "terminal.mp4")
    kept = run_ocr(video, rapid, OcrOptions())
    anew = run_ocr(video, rapid, OcrOptions(change=ChangeOptions(keep_threshold=0)))
    assert kept.lines_kept >= 1 and anew.lines_kept == 0
    for result in (kept, anew):
        got = {e.text: (e.start, e.end) for e in result.events}
        # The gauge changed inside the region read: recognised again, never kept.
        assert got.get("Mem: 329.39 MB") == (0.0, 2.0), got
        assert got.get("Mem: 346.85 MB") == (2.0, 6.0), got
        assert got.get("$ git commit -m fix") == (2.0, 6.0), got
        # The line above the command, read again or kept: one event all along.
        assert got.get("Cloning into repo, done") == (0.0, 6.0), got
    assert kept.frames_ocred == anew.frames_ocred == 2


def typing_video(path: Path) -> Path:
    """6 s at 10 fps: a title, and from 1 s a bar that grows as typing does (1.0, 1.5 s), pauses
    half a second, grows again (2.5, 3.0 s) and then stays."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10, (320, 240))
    widths = {1.0: 40, 1.5: 80, 2.5: 120, 3.0: 160}
    for i in range(60):
        t = i / 10
        f = np.full((240, 320, 3), 255, np.uint8)
        f[20:40, 20:200] = 40
        width = max((w for at, w in widths.items() if at <= t + 1e-9), default=0)
        if width:
            f[200:216, 40:40 + width] = 160
        writer.write(f)
    writer.release()
    return path


@pytest.mark.parametrize(("settle", "reads"), [(1, 3), (2, 2)])
def test_settle_reads_typing_at_pauses_that_long(tmp_path: Path, settle: int, reads: int) -> None:
    result = run_ocr(typing_video(tmp_path / "typing.mp4"), GreyLevelEngine(),
                     OcrOptions(change=ChangeOptions(settle=settle)))
    # The first sample, then the typing: at its half-second pause and at its end (settle 1), or
    # only once it stood still a second (settle 2); the line starts when the typing began either way.
    assert result.frames_ocred == reads
    assert {e.text: (e.start, e.end) for e in result.events} == {"Title A": (0.0, 6.0), "Saved": (1.0, 6.0)}
