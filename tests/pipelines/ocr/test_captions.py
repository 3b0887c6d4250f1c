"""Burned-in captions: band search, text layer, change search, merging (fast, generated frames),
a generated burned-in clip through real ffmpeg/libass and the real OCR (slow), and a real clip."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.caption_clips import Caption, make_clip
from pipelines.exceptions import OptionsError
from pipelines.ocr.band import BandOptions, analyse
from pipelines.ocr.caption_cues import Span, loosely_same, merge_spans, same_caption
from pipelines.ocr.caption_layer import find_change, layer_difference, lost_and_new, text_mask
from pipelines.ocr.caption_options import CaptionOptions
from pipelines.ocr.caption_tracker import caption_lines
from pipelines.ocr.captions import extract_captions
from pipelines.ocr.engines import OcrEngine, Reading, load_engine
from pipelines.ocr.scripts import installed_packs, script_of, with_scripts
from pipelines.ocr.tracking import SCRIPT_UNCERTAIN

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared" / "testdata" / "video"
NANUM = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"


def caption_frame(text: str, background: np.ndarray) -> np.ndarray:
    """White outlined text on a background, as burned-in captions look."""
    frame = background.copy()
    cv2.putText(frame, text, (40, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 6, cv2.LINE_AA)
    cv2.putText(frame, text, (40, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2, cv2.LINE_AA)
    return frame


def test_band_is_the_changing_centred_line_and_the_watermark_is_static() -> None:
    readings = []
    for k in range(10):
        readings.append((k, (0.75, 0.02, 0.95, 0.06), "Watermark"))  # every sample, off-centre
        readings.append((k, (0.40, 0.3, 0.6, 0.34), ["MV", "NV", "VV"][k % 3]))  # a logo read three ways
        if k % 3:
            readings.append((k, (0.3 + 0.01 * k, 0.85, 0.7 - 0.01 * k, 0.9), f"caption number {k}"))
    found = analyse(readings, 10)
    assert found.band is not None
    assert found.band.box[1] < 0.85 and found.band.box[3] > 0.9 and found.band.box[1] > 0.7
    assert {s.text for s in found.static} >= {"Watermark"}
    assert any(s.box == (0.40, 0.3, 0.6, 0.34) for s in found.static)


def test_screen_content_has_no_caption_band() -> None:
    readings = []
    for k in range(8):
        # Each sample a new screen: a centred heading and a list of lines, all at new places.
        words = ["Settings", "Profile", "Billing", "Reports", "Import", "Export", "Sharing", "Users"]
        readings.append((k, (0.45 - 0.03 * k, 0.5, 0.55 + 0.03 * k, 0.55), words[k] * 2))
        readings += [(k, (0.05, 0.1 + 0.05 * i, 0.12 + 0.04 * ((i + k) % 5), 0.14 + 0.05 * i), words[(i + k) % 8])
                     for i in range(8)]
    found = analyse(readings, 8, BandOptions())
    assert found.band is None and "screen content" in found.reason


def test_text_layer_follows_the_caption_not_the_moving_picture() -> None:
    rng = np.random.default_rng(1)
    backgrounds = [rng.integers(60, 140, (100, 640, 3), dtype=np.uint8) for _ in range(3)]
    a1, a2 = caption_frame("Hello there", backgrounds[0]), caption_frame("Hello there", backgrounds[1])
    b = caption_frame("Something else", backgrounds[2])
    opts = CaptionOptions()
    m1, m2 = text_mask(a1, None, opts), text_mask(a2, a1, opts)
    m3 = text_mask(b, a2, opts)
    assert m1.sum() > 200
    same = layer_difference(m1, m2)
    other = layer_difference(m2, m3)
    assert same[1] < 0.1 < other[1]


def test_first_and_last_frames_of_a_caption_keep_their_layer() -> None:
    # Over moving footage, a caption's first frame differs from the frame before it and its last
    # frame from the one after: steady with either neighbour, both belong to the caption.
    rng = np.random.default_rng(2)
    backgrounds = [rng.integers(60, 140, (100, 640, 3), dtype=np.uint8) for _ in range(3)]
    before = caption_frame("Old words", backgrounds[0])
    first = caption_frame("Hello there", backgrounds[1])
    after = caption_frame("Hello there", backgrounds[2])
    opts = CaptionOptions()
    settled = text_mask(after, first, opts)
    alone = text_mask(first, before, opts)
    with_next = text_mask(first, before, opts, after)
    assert layer_difference(with_next, settled)[1] < 0.1 < layer_difference(alone, settled)[1]


def footage(rng: np.random.Generator) -> np.ndarray:
    """Moving footage with strokes of its own: thin bright lines on dark, new at every sample."""
    frame = rng.integers(20, 90, (100, 640, 3), dtype=np.uint8)
    for _ in range(12):
        x, y = int(rng.integers(0, 600)), int(rng.integers(0, 90))
        cv2.line(frame, (x, y), (x + int(rng.integers(10, 40)), y + int(rng.integers(-8, 8))), (230, 230, 230), 2)
    return frame


def test_a_change_counts_once_it_held_for_two_samples_and_footage_strokes_do_not() -> None:
    rng = np.random.default_rng(3)
    opts = CaptionOptions()
    frames = [caption_frame(t, footage(rng)) for t in ("Hello there",) * 4 + ("Something else",) * 3]
    masks = [text_mask(f, p, opts, n) for p, f, n in zip([None, *frames[:-1]], frames, [*frames[1:], None], strict=True)]
    ref = masks[1]
    same = sum(int(m.sum()) for m in lost_and_new(ref, masks[1], masks[2], masks[3]))
    changed = sum(int(m.sum()) for m in lost_and_new(ref, masks[3], masks[4], masks[5]))
    # The same caption over new footage: its footage strokes did not hold; a new caption did.
    assert same < 0.02 * ref.sum() and changed > 0.2 * ref.sum(), (same, changed, ref.sum())
    # Seen at the change itself (one sample), nothing new has held yet.
    assert int(lost_and_new(ref, masks[3], masks[3], masks[4])[1].sum()) == 0


def test_change_search_finds_the_switch_frame() -> None:
    frames = [0] * 7 + [1] * 5  # the caption changes at frame 7
    calls = []

    def distance(i: int) -> tuple[float, float]:
        calls.append(i)
        return (float(frames[i] != frames[0]), float(frames[i] != frames[-1]))

    assert find_change(0, 11, distance) == 7
    assert len(calls) <= 4


def test_identical_readings_merge_and_different_ones_do_not() -> None:
    spans = [Span(0.0, 1.0, ("Fading inand out",), 0.9), Span(1.0, 1.2, (". Fading in and out",), 0.8),
             Span(1.2, 3.0, ("Fading in and out",), 0.95), Span(3.0, 4.0, ("不准再看别人",), 0.9),
             Span(4.0, 5.0, ("不准想着别人",), 0.9), Span(6.0, 7.0, ("不准想着别人",), 0.9)]
    cues = merge_spans(spans, gap=0.25, same_text=0.9)
    assert [(c.start, c.end, c.lines) for c in cues] == [
        (0.0, 3.0, ("Fading in and out",)), (3.0, 4.0, ("不准再看别人",)), (4.0, 5.0, ("不准想着别人",)),
        (6.0, 7.0, ("不准想着别人",))]
    assert same_caption("I'm okay.", "Im okay") and not same_caption("Step 1", "Step 2")


def test_a_brief_misreading_inside_a_caption_joins_it() -> None:
    spans = [Span(5.0, 6.5, ("Two lines of text", "kept apart"), 0.9), Span(6.5, 6.7, ("TwolInesof text",), 0.6),
             Span(6.7, 7.0, ("Two lines of text", "kept apart"), 0.9), Span(7.0, 7.3, ("Save it",), 0.9)]
    cues = merge_spans(spans, gap=0.25, same_text=0.9)
    assert [(c.start, c.end, c.lines) for c in cues] == [
        (5.0, 7.0, ("Two lines of text", "kept apart")), (7.0, 7.3, ("Save it",))]
    assert loosely_same("Two lines of text kept apart", "TwolInesof text")
    # A line that stays on its own for two stretches of 0.3 s is a caption of its own.
    alone = merge_spans([Span(0.9, 2.4, ("躲不掉", "躲不掉"), 0.9), Span(2.4, 2.7, ("躲不掉",), 0.9),
                         Span(2.7, 3.0, ("躲不掉",), 0.9)], gap=0.25, same_text=0.9)
    assert [(c.start, c.end, len(c.lines)) for c in alone] == [(0.9, 2.4, 2), (2.4, 3.0, 1)]
    assert not loosely_same("Choose a new password", "Save it")


def test_a_flash_of_a_fading_caption_joins_the_caption_it_touches() -> None:
    # Fragments read in the first frames of a fade-in (as the Russian and Hebrew generated clips
    # gave them): no reading matches, but 0.08 s is no caption of its own.
    spans = [Span(6.28, 8.32, ("Этот урок длится",), 0.9), Span(8.96, 9.04, (". ‚е ез сатещё раз",), 0.6),
             Span(9.04, 10.44, ("Проверьте результат ещё раз",), 0.9), Span(10.44, 10.52, ("xq",), 0.5),
             Span(11.12, 12.52, ("Запишите ответ",), 0.9), Span(14.0, 14.1, ("Alone",), 0.9)]
    cues = merge_spans(spans, gap=0.25, same_text=0.9)
    assert [(c.start, c.end, c.lines) for c in cues] == [
        (6.28, 8.32, ("Этот урок длится",)), (8.96, 10.52, ("Проверьте результат ещё раз",)),
        (11.12, 12.52, ("Запишите ответ",)), (14.0, 14.1, ("Alone",))]
    # The nearer neighbour takes it: here the caption fading out before it.
    fading = merge_spans([Span(0.0, 2.0, ("One",), 0.9), Span(2.0, 2.1, ("zz",), 0.5), Span(2.3, 4.0, ("Two",), 0.9)],
                         gap=0.25, same_text=0.9)
    assert [(c.start, c.end, c.lines) for c in fading] == [(0.0, 2.1, ("One",)), (2.3, 4.0, ("Two",))]
    # A run of 0.3 s is no flash.
    kept = merge_spans([Span(0.0, 2.0, ("One",), 0.9), Span(2.0, 2.3, ("Two",), 0.9)], gap=0.25, same_text=0.9)
    assert len(kept) == 2


def test_two_lines_stay_apart_and_words_keep_their_spaces() -> None:
    readings = [Reading((300, 50, 420, 80), "kept apart", 0.9), Reading((100, 10, 250, 40), "Two lines", 0.9),
                Reading((260, 12, 330, 40), "of text", 0.8)]
    assert [(line.text, line.confidence) for line in caption_lines(readings)] == [
        ("Two lines of text", 0.8), ("kept apart", 0.9)]


def test_a_right_to_left_line_found_in_parts_keeps_its_reading_order() -> None:
    readings = [Reading((20, 10, 90, 40), "لاحقا", 0.9), Reading((120, 12, 300, 40), "حاول مرة أخرى", 0.8),
                Reading((40, 50, 200, 80), "נסו שוב", 0.9), Reading((210, 50, 300, 80), "Save", 0.9)]
    assert [line.text for line in caption_lines(readings)] == ["حاول مرة أخرى لاحقا", "Save נסו שוב"]


def test_bad_band_is_refused() -> None:
    with pytest.raises(OptionsError, match="band"):
        CaptionOptions(band=(0.5, 0.9, 0.4, 1.0))
    with pytest.raises(OptionsError, match="sample_rate"):
        CaptionOptions(sample_rate=2)


@pytest.fixture(scope="module")
def rapid(require_model: Callable[[str], Path], model_dir: Path) -> OcrEngine:
    require_model("ppocrv5")
    return load_engine("rapidocr", model_dir)


@pytest.mark.slow
def test_generated_burned_in_clip_gives_timed_cues(tmp_path: Path, rapid: OcrEngine) -> None:
    captions = (Caption(0.5, 2.0, ("Open the settings page",), "outline"),
                Caption(2.0, 3.6, ("Choose a new password",), "box"),
                Caption(4.0, 4.5, ("Save it now",), "shadow"),
                Caption(5.0, 7.0, ("Two lines of text", "kept apart"), "outline"))
    clip = make_clip(tmp_path / "clip.mp4", captions)
    result = extract_captions(clip, rapid)
    assert result.band_source == "auto" and result.band is not None
    got = [(c.start, c.end, c.lines) for c in result.cues]
    assert len(got) == len(captions), got
    for want, (start, end, lines) in zip(captions, got, strict=True):
        assert abs(start - want.start) <= 0.2 and abs(end - want.end) <= 0.2, (want, start, end)
        assert len(lines) == len(want.lines)
        assert same_caption(" ".join(lines), " ".join(want.lines), 0.8), (want.lines, lines)
    assert result.frames_sampled >= 8 * 7  # at least 8 a second


class CountingEngine:
    """A real engine whose band reads (detection) and line recognitions are counted."""

    def __init__(self, engine: OcrEngine) -> None:
        self.engine, self.name, self.reads, self.lines = engine, engine.name, 0, 0

    def read(self, image: np.ndarray) -> list[Reading]:
        self.reads += 1
        return self.engine.read(image)

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        self.lines += 1
        return self.engine.read_line(image)


@pytest.mark.slow
def test_footage_moving_behind_captions_is_not_read_again(tmp_path: Path, rapid: OcrEngine) -> None:
    # Three captions of 3 s over a zooming fractal, whose strokes change all the time: each
    # caption is read about once; the footage behind it is checked by recognising its line.
    captions = (Caption(0.5, 3.5, ("Open the settings page",)), Caption(3.5, 6.5, ("Choose a new password",)),
                Caption(7.0, 10.0, ("Save it and close the window",)))
    clip = make_clip(tmp_path / "moving.mp4", captions)
    counting = CountingEngine(rapid)
    result = extract_captions(clip, counting, CaptionOptions(band=(0.0, 0.75, 1.0, 1.0)))
    got = [(c.start, c.end, c.text) for c in result.cues]
    assert len(got) == 3, got
    for want, (start, end, text) in zip(captions, got, strict=True):
        assert abs(start - want.start) <= 0.2 and abs(end - want.end) <= 0.2, (want, got)
        assert same_caption(text, want.lines[0], 0.8), (want, got)
    # A caption, a gap or two; each gap whose footage leaves a layer is read again as its bright
    # strokes alone (``CaptionTracker.stroke_lines``).
    assert counting.reads == result.frames_ocred <= 3 + 2 * 3, got
    # Lines recognised (checks, and each caption's edges): fewer than one a sample.
    assert counting.lines < result.frames_sampled, (counting.lines, result.frames_sampled)


@pytest.mark.slow
def test_real_clip_watermark_is_not_a_caption(rapid: OcrEngine) -> None:
    clip = SHARED / "rvo_coldwar_zh.mp4"
    if not clip.is_file():
        pytest.skip(f"shared test data {clip} not found (only present on the project's machines)")
    result = extract_captions(clip, rapid)
    texts = [c.text for c in result.cues]
    assert len(texts) == 4, texts
    assert texts[2] == "到现在依然经久不息"
    assert abs(result.cues[2].start - 3.9) <= 0.2 and abs(result.cues[2].end - 5.7) <= 0.2
    assert not any("好" in t and "视频" in t for t in texts)  # the channel logo
    assert any("视频" in s.text or "小蔡" in s.text for s in result.static)


def test_band_from_the_readers_samples_needs_no_ocr() -> None:
    from pipelines.ocr.band import band_from_samples
    from pipelines.ocr.tracking import Detection, FrameDetections

    said = ["Where is the fruit?", "Over there.", "I have decided.", "Yes?", "Please, June.", "One or two?"]
    samples = [FrameDetections(k / 2, (Detection((0.8, 0.02, 0.95, 0.06), "LOGO", 0.9),
                                       Detection((0.35, 0.85, 0.65, 0.9), said[(k // 3) % 6], 0.9)))
               for k in range(60)]
    found = band_from_samples(samples)
    assert found.band is not None and found.band.box[1] < 0.85 < 0.9 < found.band.box[3]
    assert [s.text for s in found.static] == ["LOGO"] and found.frames_ocred == 0


def test_samples_without_captions_cost_no_read(tmp_path: Path) -> None:
    from pipelines.ocr.captions import extract_after_screen
    from pipelines.ocr.tracking import Detection, FrameDetections

    clip = make_clip(tmp_path / "plain.mp4", (Caption(0.5, 1.5, ("Hello",)),))

    class Refusing:
        name = "rapidocr"

        def read(self, image: np.ndarray) -> list[Reading]:
            raise AssertionError("a screen without captions must not be read again")

        def read_line(self, image: np.ndarray) -> tuple[str, float]:
            raise AssertionError("a screen without captions must not be read again")

    # A screencast's samples: many lines at fixed places, none centred and changing.
    samples = [FrameDetections(k / 2, tuple(Detection((0.05, 0.1 * i, 0.4, 0.1 * i + 0.05), f"menu item {i}", 0.9)
                                            for i in range(1, 9))) for k in range(4)]
    result = extract_after_screen(clip, Refusing(), samples)
    assert result.band is None and result.cues == () and result.frames_ocred == 0 and result.reason


class WhiteLetters:
    """Reads the white pixels of an image, if any, as one line "Hello there" (the reader's samples
    saw none: PP-OCRv5 reads a Hebrew caption over moving footage as nothing)."""

    name = "rapidocr"

    def read(self, image: np.ndarray) -> list[Reading]:
        ys, xs = np.nonzero((image > 200).all(axis=2))
        if len(xs) < 50:
            return []
        return [Reading((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1), "Hello there", 0.9)]

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        return ("Hello there", 0.9) if (image > 200).all(axis=2).sum() >= 50 else ("", 0.0)


def test_captions_said_to_be_there_are_searched_for_though_the_reader_saw_none(tmp_path: Path) -> None:
    # ``hardsubs`` ``on`` read nothing where the reader's samples held no caption-like text.
    from pipelines.ocr.captions import extract_after_screen
    from pipelines.ocr.tracking import FrameDetections

    plain = tmp_path / "plain.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x336699:size=640x360:rate=25",
                    "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(plain)], check=True)
    clip = make_clip(tmp_path / "captioned.mp4", (Caption(0.5, 1.5, ("Hello there",)), Caption(2.0, 3.0, ("Hello there",))),
                     background=plain)
    samples = [FrameDetections(k / 2, ()) for k in range(8)]
    assert extract_after_screen(clip, WhiteLetters(), samples).cues == ()  # auto: not looked for
    found = extract_after_screen(clip, WhiteLetters(), samples, always=True)
    assert found.band is not None and found.band[1] > 0.8, found.band
    assert [(c.start, c.end, c.lines) for c in found.cues] == [
        (pytest.approx(0.5, abs=0.1), pytest.approx(1.5, abs=0.1), ("Hello there",)),
        (pytest.approx(2.0, abs=0.1), pytest.approx(3.0, abs=0.1), ("Hello there",))]


@pytest.mark.parametrize(("read", "meant", "off"), [
    # PP-OCRv5 reads bold captions with a drop shadow as "Pressit" (pipelines.ocr.word_spacing)...
    ("Pressit now", "Press it now", CaptionOptions(split_words=False)),
    # ...and slips a traditional character into simplified captions (pipelines.ocr.han_variants).
    ("我们这里说的別人", "我们这里说的别人", CaptionOptions(unify_chinese=False)),
])
def test_caption_lines_are_cleaned_unless_asked_not_to(tmp_path: Path, read: str, meant: str,
                                                       off: CaptionOptions) -> None:
    from pipelines.ocr.captions import extract_after_screen
    from pipelines.ocr.tracking import FrameDetections

    class Reads(WhiteLetters):
        def read(self, image: np.ndarray) -> list[Reading]:
            return [replace(r, text=read) for r in super().read(image)]

        def read_line(self, image: np.ndarray) -> tuple[str, float]:
            text, confidence = super().read_line(image)
            return (read if text else text), confidence

    plain = tmp_path / "plain.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x336699:size=640x360:rate=25",
                    "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(plain)], check=True)
    clip = make_clip(tmp_path / "captioned.mp4", (Caption(0.5, 1.5, ("Press it now",)),), background=plain)
    samples = [FrameDetections(k / 2, ()) for k in range(4)]
    assert [c.lines for c in extract_after_screen(clip, Reads(), samples, always=True).cues] == [(meant,)]
    assert [c.lines for c in extract_after_screen(clip, Reads(), samples, off, always=True).cues] == [(read,)]


@pytest.mark.slow
def test_the_stage_path_places_the_band_of_a_real_faint_clip(rapid: OcrEngine) -> None:
    # The on-screen reader's boxes placed this band a line too high (one cue of three found);
    # the caption search on frames read for it places it where the captions are.
    from pipelines.ocr.captions import extract_after_screen
    from pipelines.ocr.reader import OcrOptions, run_ocr

    clip = SHARED / "svocr_drama_faint_zh.mp4"
    if not clip.is_file():
        pytest.skip(f"shared test data {clip} not found (only present on the project's machines)")
    screen = run_ocr(clip, rapid, OcrOptions())
    assert screen.search_frames is not None and screen.search_frames.complete
    result = extract_after_screen(clip, rapid, screen.samples, frames=screen.search_frames)
    assert result.band is not None and result.band[1] > 0.6 and result.band[3] > 0.78, result.band
    assert len(result.cues) == 3, [(c.start, c.end, c.text) for c in result.cues]
    # The search read the frames the reader kept: only the dense pass decoded any.
    assert result.frames_decoded == 302 and result.frames_ocred >= len(screen.search_frames.wanted)


def test_hardsubs_option_is_checked() -> None:
    from pipelines.ocr.reader import OcrOptions

    assert OcrOptions().hardsubs == "auto"
    with pytest.raises(OptionsError, match="hardsubs"):
        OcrOptions(hardsubs="maybe")  # type: ignore[arg-type]
    with pytest.raises(OptionsError, match="band"):
        OcrOptions(caption_band=(0.0, 0.9, 1.0, 0.8))


@pytest.mark.slow
def test_pixel_checks_give_the_same_cues_with_fewer_recognitions(tmp_path: Path, rapid: OcrEngine) -> None:
    # Over a zooming fractal the text layer changes all the time; each change is checked. Told
    # by the caption's pixels where they plainly hold, most checks need no recognition.
    captions = (Caption(0.5, 3.0, ("Open the settings page",)), Caption(3.5, 6.0, ("Choose a new password",)),
                Caption(6.5, 9.0, ("Save it and close the window",), "box"))
    clip = make_clip(tmp_path / "moving.mp4", captions)
    runs = {}
    for pixels in (False, True):
        counting = CountingEngine(rapid)
        result = extract_captions(clip, counting, CaptionOptions(pixel_checks=pixels))
        runs[pixels] = ([(c.start, c.end, c.lines) for c in result.cues], counting.lines, counting.reads)
    assert runs[True][0] == runs[False][0] and len(runs[True][0]) == 3, runs
    assert runs[True][2] == runs[False][2]
    assert runs[True][1] < 0.5 * runs[False][1], runs


def two_band_readings(top_texts: list[str]) -> list[tuple[int, tuple[float, float, float, float], str]]:
    """Ten samples: a changing caption at the bottom in most, and at the top ``top_texts`` in turn
    (every other sample)."""
    readings = []
    for k in range(10):
        if k % 4:
            readings.append((k, (0.3, 0.85, 0.7, 0.9), f"caption number {k}"))
        if k % 2:
            readings.append((k, (0.35, 0.08, 0.65, 0.12), top_texts[(k // 2) % len(top_texts)]))
    return readings


def test_captions_that_persist_at_the_top_are_a_second_band() -> None:
    found = analyse(two_band_readings(["Notes for this lesson", "Keep the file open", "Use a clean copy"]), 10)
    assert found.band is not None and found.band.box[1] > 0.7
    assert len(found.others) == 1 and found.others[0].box[1] < 0.08 < 0.12 < found.others[0].box[3] < 0.3


def test_a_title_at_the_top_is_no_band_nor_is_text_seen_once() -> None:
    # The same title in every other sample (read with a slip once): not changing, not captions.
    title = analyse(two_band_readings(["Chapter one: setting up", "Chapter one: setting up", "Chapter one: settinq up"]),
                    10)
    assert title.band is not None and title.others == ()
    once = [r for r in two_band_readings(["Notes for this lesson", "Keep the file open"]) if r[1][1] > 0.5 or r[0] == 1]
    assert analyse(once, 10).others == ()


@pytest.mark.slow
def test_captions_in_two_bands_at_once_are_both_followed(tmp_path: Path, rapid: OcrEngine) -> None:
    captions = (Caption(0.5, 2.5, ("Open the project folder",)), Caption(1.0, 3.5, ("Notes for this lesson",), "top"),
                Caption(3.0, 5.0, ("Run the first cell",), "box"), Caption(4.0, 6.5, ("Keep the file open",), "top"),
                Caption(5.5, 7.5, ("Check the output below",)), Caption(7.0, 9.5, ("Use a clean copy",), "top"))
    result = extract_captions(make_clip(tmp_path / "bands.mp4", captions), rapid)
    assert len(result.bands) == 2 and result.bands[0] == result.band
    assert [round(c.start, 1) for c in result.cues] == [c.start for c in captions]
    for cue, caption in zip(result.cues, captions, strict=True):
        assert same_caption(cue.text, caption.lines[0], 0.8) and abs(cue.end - caption.end) <= 0.2


def test_a_layer_like_the_last_captions_is_read_anew_once_its_lines_were_seen_gone() -> None:
    # A caption that differs from the one before by a character or two a line changes the text
    # layer too little for the layer cache to tell them apart; recognition said the lines before
    # are gone, so their cached reading is not given again: the band is read.
    from pipelines.ocr.caption_tracker import CaptionTracker, _Stretch

    class OneReading:
        name = "rapidocr"

        def __init__(self) -> None:
            self.reads = 0

        def read(self, image: np.ndarray) -> list[Reading]:
            self.reads += 1
            return [Reading((60, 10, 260, 40), "不准想着别人", 0.95)]

        def read_line(self, image: np.ndarray) -> tuple[str, float]:
            return "不准想着别人", 0.95

    engine = OneReading()
    tracker = CaptionTracker(engine, CaptionOptions(pixel_checks=False), [], (0, 300, 320, 360), (320, 360), 25.0,
                             1.0, 30.0, 0.5)
    mask = np.zeros((60, 320), bool)
    mask[15:40, 60:260:3] = True
    before = [Reading((60, 10, 260, 40), "不准再看别人", 0.95)]
    tracker.cache.append((mask.copy(), before))
    crop = np.zeros((60, 320, 3), np.uint8)
    same_layer = _Stretch(10, crop, mask.copy(), int(mask.sum()), mask.copy())
    assert tracker.read(same_layer) is before and engine.reads == 0
    after_gone = _Stretch(10, crop, mask.copy(), int(mask.sum()), mask.copy(), gone=before)
    assert [r.text for r in tracker.read(after_gone)] == ["不准想着别人"] and engine.reads == 1


@pytest.mark.slow
def test_a_two_character_change_of_a_real_caption_is_a_new_cue_wherever_the_band_starts(rapid: OcrEngine) -> None:
    # At 5.9 s 不准再看别人 becomes 不准想着别人 (both lines). With the band 3 pixels higher than
    # the search placed it on other frames (0.6156 instead of 0.618 of 1280) the new caption was
    # given the old one's cached reading and the two merged into one cue (7 cues for 8).
    from pipelines.ocr.band import Band, BandSearch

    clip = SHARED / "svocr_drama_2line_zh.mp4"
    if not clip.is_file():
        pytest.skip(f"shared test data {clip} not found (only present on the project's machines)")
    for top in (0.6156, 0.618):
        band = Band((0.0, top, 1.0, 0.8187), 0.0492, 0.3983, 8, 8)
        result = extract_captions(clip, rapid, search=BandSearch(band, (), "", 0, 0))
        starts = [round(c.start, 1) for c in result.cues]
        assert 5.9 in starts and len(result.cues) == 8, (top, [(c.start, c.end, c.text) for c in result.cues])


def test_a_latin_reading_of_a_caption_other_readings_flagged_as_another_script_is_flagged() -> None:
    """PP-OCRv5 was sure of one look-alike reading of a Russian caption over a bright sky (a
    quarter of its words spelt as no Latin word is) and held it longest; the caption's other
    readings were flagged: so is the cue. A caption read in its own script is not."""
    spans = [Span(0.5, 0.9, ("ChaHana oTkpoMTe MeHo φaina",), 0.83, (SCRIPT_UNCERTAIN,)),
             Span(0.9, 2.1, ("ChaHana OTkpoMTe MeHro paina",), 0.82),
             Span(3.0, 3.3, ("Выберите нужныйформат",), 0.6, (SCRIPT_UNCERTAIN,)),
             Span(3.3, 4.5, ("Выберите нужный формат",), 0.9),
             Span(5.0, 6.0, ("Open the settings page",), 0.95)]
    cues = merge_spans(spans, gap=0.25, same_text=0.9)
    assert [(c.lines[0], c.flags) for c in cues] == [("ChaHana OTkpoMTe MeHro paina", (SCRIPT_UNCERTAIN,)),
                                                     ("Выберите нужный формат", ()),
                                                     ("Open the settings page", ())]


def test_a_caption_first_read_as_a_few_garbled_letters_is_no_logo() -> None:
    """Ukrainian captions over a bright sky with the language said: the first read as "РРО п" in
    four samples, the next ones whole at the same place. A short reading that stays is a logo,
    but the long ones there are captions, and the band is theirs."""
    readings = [(k, (0.3, 0.88, 0.7, 0.96), "РРО п") for k in range(4)]
    captions = ["Зачекайте кілька секунд", "Наступний крок дуже простий", "Їхні відповіді збережено"]
    readings += [(k, (0.3 - 0.01 * (k % 3), 0.88, 0.7 + 0.01 * (k % 3), 0.96), captions[(k - 4) // 4])
                 for k in range(4, 12)]
    found = analyse(readings, 12)
    assert found.band is not None and found.band.box[1] < 0.88 < 0.96 < found.band.box[3]
    # A logo read three ways at one place stays static, and a short reading there stays with it.
    logo = [(k, (0.40, 0.3, 0.6, 0.34), ["MV", "NV", "VV", "MVV"][k % 4]) for k in range(12)]
    assert any(s.box == (0.40, 0.3, 0.6, 0.34) for s in analyse(readings + logo, 12).static)


def static_name_readings(samples: int, seconds: float) -> tuple[list[tuple[int, tuple[float, float, float, float], str]],
                                                               list[float]]:
    """A channel's name, centred at the bottom of every sample, read right in half of them and
    misread in the others (its letters over moving footage), samples spread over ``seconds``."""
    misread = ["카국교육봉송채글", "合", "ซิรรรพอ", "한국요육방송 채널"]
    readings = [(k, (0.38, 0.89, 0.62, 0.97), "한국교육방송 채널" if k % 2 else misread[(k // 2) % 4])
                for k in range(samples)]
    return readings, [k * seconds / (samples - 1) for k in range(samples)]


def test_a_name_that_stays_all_along_however_misread_is_static_not_a_caption_band() -> None:
    readings, times = static_name_readings(8, 20.0)
    found = analyse(readings, 8, BandOptions(), times)
    assert found.band is None and "no centred changing text" in found.reason
    assert [s.text for s in found.static] == ["한국교육방송 채널"]
    # Without the samples' times it cannot be told from captions (the search did not say).
    assert analyse(readings, 8, BandOptions()).band is not None


def test_a_name_read_as_a_different_garble_each_time_is_static_by_its_place() -> None:
    # "قناة التعليم" over the zoom, read right in three samples of eight.
    garbled = ["alkal ale", "Aukal le", "alllle", "Alxlll6", "llel6"] + ["قناة التعليم"] * 3
    readings = [(k, (0.444 + 0.002 * (k % 3), 0.886, 0.555, 0.969), t) for k, t in enumerate(garbled)]
    times = [k * 2.56 for k in range(8)]
    found = analyse(readings, 8, BandOptions(), times)
    assert found.band is None and [s.text for s in found.static] == ["قناة التعليم"]
    # Captions of other lengths at the bottom over the same 18 s are a band.
    said = ["Open the settings page", "Save it", "Choose a new password", "Close", "Type your name here",
            "Done", "Press the blue button now", "Wait"]
    captions = [(k, (0.5 - 0.012 * len(t), 0.886, 0.5 + 0.012 * len(t), 0.969), t) for k, t in enumerate(said)]
    assert analyse(captions, 8, BandOptions(), times).band is not None


def test_one_caption_filling_half_of_a_short_clip_stays_a_caption() -> None:
    # A clip of three seconds (rvo_anime_zh): one caption at one place in half the samples.
    readings, times = static_name_readings(8, 2.7)
    found = analyse(readings, 8, BandOptions(), times)
    assert found.band is not None and found.static == ()


def test_the_screen_samples_band_is_not_followed_where_the_search_saw_static_text_there() -> None:
    from pipelines.ocr.band import StaticText, band_from_samples
    from pipelines.ocr.tracking import Detection, FrameDetections

    name = StaticText((0.41, 0.9, 0.59, 0.97), "한국교육방송 채널", 1.0)
    # The screen reader read the name in 6 of 10 samples (the spacing read two ways), nothing else.
    samples = [FrameDetections(k / 2, (Detection(name.box, ["한국교육방송 채널", "한국교육방송채널"][k % 2], 0.9),)
                               if k % 5 > 1 else ()) for k in range(10)]
    assert band_from_samples(samples).band is not None  # the samples alone take it for captions
    assert band_from_samples(samples, static=[name]).band is None
    # Captions read there too: the band holds more than the static text.
    said = ["Open the settings page", "Choose a new password", "Save it now"]
    captioned = [FrameDetections(f.time, (*f.detections, Detection((0.3, 0.88, 0.7, 0.95), said[k % 3], 0.9)))
                 for k, f in enumerate(samples)]
    assert band_from_samples(captioned, static=[name]).band is not None


@pytest.mark.slow
@pytest.mark.skipif("kor" not in installed_packs() or not Path(NANUM).is_file(),
                    reason="Tesseract's Korean pack or the Nanum font is not installed (scripts/setup)")
def test_a_korean_channel_name_over_moving_footage_gives_no_caption(tmp_path: Path, rapid: OcrEngine) -> None:
    """A channel's name in Hangul, centred at the bottom over a moving picture, no language said:
    identified from its pixels in some samples only, misread in others; it is static text, not a
    20-second caption (before: one cue, "한국교육방송채글", over the whole clip)."""
    from pipelines.ocr.captions import extract_after_screen
    from pipelines.ocr.reader import OcrOptions, run_ocr

    clip = tmp_path / "channel.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "mandelbrot=size=640x360:rate=25", "-t", "20",
                    "-vf", f"drawtext=fontfile={NANUM}:text='한국교육방송 채널':fontsize=18:fontcolor=white:borderw=2:"
                    "x=(w-tw)/2:y=h-34", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(clip)],
                   check=True)
    engine = with_scripts(rapid, ("en",))
    screen = run_ocr(clip, engine, OcrOptions(languages=("en",)))
    assert any(script_of(d.text) == "HANGUL" for s in screen.samples for d in s.detections)  # it was read
    result = extract_after_screen(clip, engine, screen.samples, CaptionOptions(languages=("en",)),
                                  frames=screen.search_frames)
    assert result.cues == () and result.band is None, result.cues
    assert any(script_of(s.text) == "HANGUL" for s in result.static)
