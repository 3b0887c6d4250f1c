"""Text cut off at an edge (``pipelines.ocr.cut``): drawn lines (fast), a real recording (slow)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipelines.ocr.cut import cut_sides, flag_cut
from pipelines.ocr.engines import OcrEngine, Reading, load_engine
from pipelines.ocr.reader import read_image
from pipelines.ocr.tracking import CUT, SCRIPT_UNCERTAIN

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared" / "testdata"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
TEXT = "Text File"


def drawn(size: tuple[int, int] = (420, 140), at: tuple[int, int] = (40, 50), text: str = TEXT,
          background: int = 255, ink: int = 30) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A grey image with ``text`` at ``at``, and the box a detector would give it (a few pixels
    around the strokes)."""
    image = Image.new("L", size, background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 28)
    draw.text(at, text, fill=ink, font=font)
    x0, y0, x1, y1 = draw.textbbox(at, text, font=font)
    return image, (x0 - 4, y0 - 4, x1 + 4, y1 + 4)


def strokes_box(image: Image.Image, text: str = TEXT, at: tuple[int, int] = (40, 50)) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = ImageDraw.Draw(image).textbbox(at, text, font=ImageFont.truetype(str(FONT), 28))
    return x0, y0, x1, y1


def test_a_bar_over_the_lower_part_of_a_line_cuts_it_and_a_bar_below_it_does_not() -> None:
    image, box = drawn()
    _, top, _, bottom = strokes_box(image)
    assert cut_sides(np.asarray(image), box) == ()
    hidden = image.copy()
    ImageDraw.Draw(hidden).rectangle((0, top + (bottom - top) * 2 // 3, 419, 139), fill=188)  # a status bar
    assert cut_sides(np.asarray(hidden), box) == ("bottom",)
    below = image.copy()
    ImageDraw.Draw(below).rectangle((0, bottom + 5, 419, 139), fill=188)  # the same bar, clear of the strokes
    assert cut_sides(np.asarray(below), box) == ()


def test_a_header_over_the_upper_part_of_a_line_cuts_it() -> None:
    image, box = drawn()
    _, top, _, bottom = strokes_box(image)
    ImageDraw.Draw(image).rectangle((0, 0, 419, top + (bottom - top) // 3), fill=60)  # a sticky header, dark
    assert cut_sides(np.asarray(image), box) == ("top",)


def test_an_underline_or_a_tight_highlight_is_no_cut() -> None:
    image, box = drawn(text="Open the link")
    x0, top, x1, bottom = strokes_box(image, "Open the link")
    underlined = image.copy()
    ImageDraw.Draw(underlined).line((x0, bottom + 1, x1, bottom + 1), fill=30, width=2)
    assert cut_sides(np.asarray(underlined), box) == ()
    highlit = Image.new("L", image.size, 255)
    draw = ImageDraw.Draw(highlit)
    draw.rectangle((x0 - 3, top - 3, x1 + 3, bottom + 3), fill=170)  # a selection's background
    draw.text((40, 50), "Open the link", fill=30, font=ImageFont.truetype(str(FONT), 28))
    assert cut_sides(np.asarray(highlit), box) == ()


def test_a_line_running_off_the_frame_is_cut_where_it_runs_off() -> None:
    image, box = drawn(size=(200, 140), at=(60, 50), text="Would you like")  # off the right border
    assert box[2] >= 199
    assert cut_sides(np.asarray(image), (box[0], box[1], 200, box[3])) == ("right",)
    low, low_box = drawn(size=(420, 68), at=(40, 50))  # off the bottom border
    assert cut_sides(np.asarray(low), (low_box[0], low_box[1], low_box[2], 68)) == ("bottom",)
    # a whole word ending well before the border its box reaches is not cut
    whole, whole_box = drawn(size=(240, 140), at=(40, 50))
    assert cut_sides(np.asarray(whole), (whole_box[0], whole_box[1], 240, whole_box[3])) == ()


def test_colour_frames_and_dark_themes_are_read_alike() -> None:
    image, box = drawn(background=30, ink=230)
    _, top, _, bottom = strokes_box(image)
    ImageDraw.Draw(image).rectangle((0, top + (bottom - top) // 2, 419, 139), fill=90)
    colour = cv2.cvtColor(np.asarray(image), cv2.COLOR_GRAY2BGR)
    assert cut_sides(colour, box) == ("bottom",)


def test_flag_cut_adds_the_flag_to_cut_readings_only() -> None:
    image, box = drawn()
    _, top, _, bottom = strokes_box(image)
    ImageDraw.Draw(image).rectangle((0, top + (bottom - top) * 2 // 3, 419, 139), fill=188)
    readings = [Reading(box, "Tavt Cilo", 0.86, "LATIN", (SCRIPT_UNCERTAIN,)), Reading((300, 5, 400, 30), "", 0.0)]
    flagged = flag_cut(np.asarray(image), readings)
    assert flagged[0].flags == (SCRIPT_UNCERTAIN, CUT) and flagged[0].text == "Tavt Cilo"
    assert flagged[1] == readings[1]  # nothing read, nothing flagged


# ---------------------------------------------------------------- a real recording (slow)


@pytest.fixture(scope="module")
def rapid(model_dir: Path) -> OcrEngine:
    return load_engine("rapidocr", model_dir)


@pytest.mark.slow
def test_launcher_labels_half_under_a_bar_in_a_real_recording_are_flagged(rapid: OcrEngine) -> None:
    """At 10.5 s of the real JupyterHub recording the launcher's labels ("Terminal", "Text File",
    "Markdown File", "Python File", "Show ...") have their lower third under a grey bar and read
    as look-alikes ("Tavt Cilo"); the notification and a button running off the frame's right
    border are cut too. The other lines of that frame (a menu, the launcher's headings) are not."""
    video = SHARED / "video" / "screencast_jupyterhub_quota.mp4"
    if not video.is_file():
        pytest.skip(f"shared test data {video} not found (only present on the project's machines)")
    capture = cv2.VideoCapture(str(video))
    capture.set(cv2.CAP_PROP_POS_MSEC, 10_500)
    ok, frame = capture.read()
    capture.release()
    assert ok
    detections = read_image(frame, rapid)
    labels = [d for d in detections if d.box[1] >= 0.83 and d.box[3] <= 0.88 and d.box[2] < 0.9]
    assert len(labels) >= 4
    assert all(CUT in d.flags for d in labels), [(d.text, d.flags) for d in labels]
    at_border = [d for d in detections if d.box[2] >= 0.999]
    others = [d for d in detections if d not in labels and d not in at_border]
    assert len(others) >= 30
    assert not [d.text for d in others if CUT in d.flags]
