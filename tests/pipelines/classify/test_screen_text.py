"""Which on-screen text is screen content (pipelines/classify/screen_text.py).

The events are shaped as the OCR stage wrote them for real clips: a fansub watermark and a
channel logo read a little differently from frame to frame, captions in the band its
``hardsubs`` section found, a slide that stays, a terminal that scrolls.
"""

from __future__ import annotations

import pytest

from pipelines.classify.screen_text import ScreenTextOptions, split_screen_text
from pipelines.exceptions import OptionsError
from pipelines.ocr.tracking import Box, TextEvent

BAND: Box = (0.0, 0.8, 1.0, 1.0)


def event(start: float, end: float, box: Box, text: str) -> TextEvent:
    return TextEvent(start, end, box, text, 0.95, 0)


def test_captions_in_the_band_are_not_screen_text() -> None:
    """Re:Zero, 6 s, 12 samples: a caption and the fansub's watermark; the OCR stage's own
    share said "100 % of frames show text" on footage with no slide, code or UI at all."""
    watermark = event(0.0, 6.0055, (0.7617, 0.0375, 0.957, 0.0875), "Yami Sukehiro")
    caption = event(0.5005, 3.0025, (0.3617, 0.8819, 0.6328, 0.9569), "Ive decided, Rem.")
    split = split_screen_text([watermark, caption], duration=6.006, samples=12, caption_bands=[BAND])
    assert split.captions == (caption,) and split.overlays == (watermark,)
    assert split.content == () and split.text_frame_share == 0.0
    everything = split_screen_text(
        [watermark, caption], duration=6.006, samples=12, options=ScreenTextOptions(overlay_share=1.0)
    )
    assert everything.text_frame_share == 1.0  # the share as the OCR stage counts it


def test_a_watermark_read_differently_at_the_edge_is_one_overlay() -> None:
    """Léon, 13 s: the watermark "微信公众号：一分钟…" was read three ways, in boxes of three
    widths; together they are on screen all along. A road sign read once is content."""
    readings = [
        event(0.0, 0.5, (0.022, 0.136, 0.13, 0.197), "商信公众号：一分钟系列"),
        event(0.5, 9.5, (0.022, 0.139, 0.078, 0.192), "微售公众号："),
        event(9.5, 13.0, (0.016, 0.128, 0.13, 0.2), "微售公众号：一分钟春"),
    ]
    sign = event(11.5, 13.0, (0.612, 0.442, 0.686, 0.481), "STANCPIPE")
    split = split_screen_text([*readings, sign], duration=13.0, samples=26)
    assert split.overlays == tuple(readings) and split.content == (sign,)
    assert split.text_frame_share == pytest.approx(3 / 26)


def test_text_that_stays_in_the_middle_is_a_slide_not_an_overlay() -> None:
    title = event(0.0, 30.0, (0.1, 0.05, 0.9, 0.15), "Week 3: Linear equations")  # at the edge: an overlay
    body = event(0.0, 30.0, (0.1, 0.3, 0.9, 0.6), "Isolate the variable, then check by substituting")
    split = split_screen_text([title, body], duration=30.0, samples=60)
    assert split.content == (body,) and split.overlays == (title,)
    assert split.text_frame_share == 1.0


def test_changing_text_at_one_place_is_not_an_overlay() -> None:
    """Lines that follow one another at the same place (captions found without a band, a
    terminal's last line) are not one text that stays."""
    lines = [
        event(2.0 * k, 2.0 * k + 2.0, (0.2, 0.85, 0.8, 0.93), text)
        for k, text in enumerate(
            ["躲我", "你这辈子都躲不掉", "不准再看別人", "不准想着别人", "只能有我一个人"]
        )
    ]
    split = split_screen_text(lines, duration=10.0, samples=20)
    assert split.content == tuple(lines) and split.overlays == ()


def test_an_overlay_must_be_there_nearly_all_along() -> None:
    logo = event(0.0, 8.0, (0.82, 0.03, 0.98, 0.16), "好看视频")
    assert split_screen_text([logo], duration=10.0, samples=20).overlays == ()  # 80 % of the time
    assert split_screen_text([logo], duration=8.5, samples=17).overlays == (logo,)


def test_unknown_sample_count_gives_no_share_and_bad_options_are_refused() -> None:
    assert split_screen_text([], duration=5.0, samples=0).text_frame_share is None
    with pytest.raises(OptionsError, match="overlay_share"):
        ScreenTextOptions(overlay_share=0.0)
