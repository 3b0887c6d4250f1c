"""Fitting the cues of SRT and WebVTT files to their own slots."""

from __future__ import annotations

import pysubs2
import pytest

from pipelines.exceptions import SubtitleFormatError
from pipelines.fit.sentence import FitOptions, FitResult, SentenceFitter
from pipelines.fit.subtitle_file import SubtitleFitOptions, fit_subtitles
from tests.pipelines.fit.test_sentence import BagOfWords

LONG = "So basically, what we are going to do now is take a look at how the settings page works."
SRT = f"""1
00:00:01,000 --> 00:00:03,000
Save your work.

2
00:00:03,500 --> 00:00:06,000
{LONG[:44]}
{LONG[45:]}

3
00:00:06,500 --> 00:00:07,000
This cue is far too long to read in half a second, whatever we do with it.
"""

VTT = f"""WEBVTT

NOTE translated by the team; keep this note

intro
00:00:01.000 --> 00:00:03.000 align:start line:10%
Save your <i>work</i>.

settings
00:00:03.500 --> 00:00:06.000 align:start
<i>{LONG}</i>
"""


@pytest.fixture()
def fitter() -> SentenceFitter:
    return SentenceFitter(BagOfWords())  # rules and trims only: fast and deterministic


def test_srt_long_cue_is_shortened_and_the_rest_is_untouched(fitter: SentenceFitter) -> None:
    result = fit_subtitles(SRT, SubtitleFitOptions(), fitter)
    assert result.format == "srt" and result.preserved_layout
    assert [c.status for c in result.cues] == ["ok", "shortened", "over"]
    assert result.counts == {"ok": 1, "shortened": 1, "over": 1}
    second = result.cues[1]
    assert second.slot_s == pytest.approx(2.5)
    assert second.estimate_after <= second.slot_s < second.estimate_before
    assert second.similarity >= 0.8 and second.text != second.original
    third = result.cues[2]
    assert third.overrun > 0 and third.text  # honest: still too long, never empty

    before, after = pysubs2.SSAFile.from_string(SRT), pysubs2.SSAFile.from_string(result.text)
    assert [(e.start, e.end) for e in before] == [(e.start, e.end) for e in after]  # timings unchanged
    assert after[0].plaintext == "Save your work."
    assert " ".join(after[1].plaintext.split()) == second.text
    assert all(len(line) <= 42 for line in after[1].plaintext.splitlines())
    assert result.text.startswith(SRT.split("\n\n")[0] + "\n\n")  # cue 1 byte-identical


def test_vtt_keeps_ids_settings_and_notes(fitter: SentenceFitter) -> None:
    result = fit_subtitles(VTT, SubtitleFitOptions(), fitter)
    assert result.format == "vtt" and result.preserved_layout
    assert result.cues[1].status == "shortened" and result.cues[1].markup_dropped
    text = result.text
    assert "NOTE translated by the team; keep this note" in text
    assert "intro\n00:00:01.000 --> 00:00:03.000 align:start line:10%\nSave your <i>work</i>." in text
    assert "settings\n00:00:03.500 --> 00:00:06.000 align:start\n" in text
    assert LONG not in text
    parsed = pysubs2.SSAFile.from_string(text)
    assert [(e.start, e.end) for e in parsed] == [(1000, 3000), (3500, 6000)]


def test_speaking_mode_and_crlf(fitter: SentenceFitter) -> None:
    crlf = SRT.replace("\n", "\r\n")
    result = fit_subtitles(crlf, SubtitleFitOptions(mode="speaking"), fitter)
    assert "\r\n" in result.text and "\n\n" not in result.text.replace("\r\n", "")
    assert result.cues[1].status in ("shortened", "ok")


def test_progress_is_reported(fitter: SentenceFitter) -> None:
    seen: list[float] = []
    fit_subtitles(SRT, SubtitleFitOptions(), fitter, progress=seen.append)
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_not_subtitles(fitter: SentenceFitter) -> None:
    with pytest.raises(SubtitleFormatError, match="SRT or WebVTT"):
        fit_subtitles("just some text\nwithout cues", SubtitleFitOptions(), fitter)


class Recording:
    """A fitter that notes the language each cue is fitted in."""

    def __init__(self, inner: SentenceFitter) -> None:
        self.inner = inner
        self.languages: list[str] = []

    def fit(self, text: str, options: FitOptions) -> FitResult:
        self.languages.append(options.language)
        return self.inner.fit(text, options)


def test_a_cue_in_another_language_is_fitted_in_its_own(fitter: SentenceFitter) -> None:
    recording = Recording(fitter)
    result = fit_subtitles(SRT, SubtitleFitOptions(), recording, languages={3: "de"})  # type: ignore[arg-type]
    assert recording.languages == ["en", "en", "de"] and len(result.cues) == 3
    # Speaking time has no known rate for Russian: that cue is left as it is, the others fitted.
    speaking = Recording(fitter)
    result = fit_subtitles(SRT, SubtitleFitOptions(mode="speaking"), speaking, languages={2: "ru"})  # type: ignore[arg-type]
    assert speaking.languages == ["en", "en"]
    assert result.cues[1].text == result.cues[1].original and result.cues[1].method == "original"
