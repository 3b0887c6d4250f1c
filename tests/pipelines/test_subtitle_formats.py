"""SRT and WebVTT output checked against independent parsers and the specs' time formats."""

from __future__ import annotations

import html
import re

import pysubs2
import webvtt

from pipelines.asr import Word
from pipelines.subtitle_formats import format_timestamp, to_srt, to_vtt
from pipelines.subtitles import Cue


def cues() -> list[Cue]:
    w = Word(0.0, 1.0, "x", 1.0)
    return [
        Cue(1, 0.5, 2.25, ("Open the {settings} page,", "then choose Security."), (w,)),
        Cue(2, 3661.001, 3663.999, ("Zoë's café <b>& 80 % done",), (w,)),
    ]


def test_srt_matches_spec_and_round_trips() -> None:
    text = to_srt(cues())
    blocks = text.strip().split("\n\n")
    assert blocks[0].splitlines()[0] == "1"
    assert blocks[0].splitlines()[1] == "00:00:00,500 --> 00:00:02,250"
    assert blocks[1].splitlines()[1] == "01:01:01,001 --> 01:01:03,999"
    assert blocks[0].splitlines()[2:] == ["Open the {settings} page,", "then choose Security."]
    parsed = pysubs2.SSAFile.from_string(text, format_="srt")
    assert [(e.start, e.end) for e in parsed] == [(500, 2250), (3661001, 3663999)]
    assert "Zoë's café <b>& 80 % done" in blocks[1].splitlines()  # SRT has no escaping: kept as is


def test_vtt_is_valid_webvtt(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = to_vtt(cues())
    assert text.startswith("WEBVTT\n")
    assert re.search(r"^00:00:00\.500 --> 00:00:02\.250$", text, re.M)
    path = tmp_path / "s.vtt"
    path.write_text(text, encoding="utf-8")
    parsed = webvtt.read(str(path))
    assert [(c.start, c.end) for c in parsed] == [
        ("00:00:00.500", "00:00:02.250"),
        ("01:01:01.001", "01:01:03.999"),
    ]
    assert parsed[0].text == "Open the {settings} page,\nthen choose Security."
    assert "café &lt;b&gt;&amp; 80" in text  # W3C: & and < must be escaped in cue text
    assert html.unescape(parsed[1].text) == "Zoë's café <b>& 80 % done"


def test_one_timestamp_format_for_srt_vtt_and_the_ocr_track() -> None:
    assert format_timestamp(3661.2344) == "01:01:01.234"
    assert format_timestamp(3661.2344, ",") == "01:01:01,234"
    assert format_timestamp(-0.4) == "00:00:00.000"
    assert format_timestamp(59.9996) == "00:01:00.000"
