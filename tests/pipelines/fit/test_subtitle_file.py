"""Fitting the cues of SRT and WebVTT files to their own slots."""

from __future__ import annotations

from dataclasses import replace

import pysubs2
import pytest

from pipelines.exceptions import SubtitleFormatError, UnsupportedLanguageError
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


def cue(start: str, end: str, text: str, index: int = 1) -> str:
    return f"{index}\n00:00:{start} --> 00:00:{end}\n{text}\n"


def test_a_cue_that_continues_a_sentence_keeps_its_small_letter(fitter: SentenceFitter) -> None:
    """The fit wrote "Kann also ..." for a cue that continues the sentence of the cue before."""
    srt = cue("01,000", "03,900", "kann also im Grunde ja jeder selbst entscheiden, was er hier macht.")
    result = fit_subtitles(srt, SubtitleFitOptions(language="de"), fitter)
    assert result.cues[0].status == "shortened"
    assert result.cues[0].text == "kann also jeder selbst entscheiden, was er hier macht."
    assert "\nkann also jeder" in result.text


def test_lines_too_long_for_the_profile_are_laid_out_again(fitter: SentenceFitter) -> None:
    """A cue with a 45-character line (limit 42) was reported ok and written as it was."""
    srt = cue("01,000", "05,000", "This line of the subtitle has 45 characters!!\nAnd a short one.")
    (result,) = fit_subtitles(srt, SubtitleFitOptions(), fitter).cues
    assert (result.status, result.relaid, result.flags) == ("ok", True, ())
    assert result.lines == ("This line of the subtitle", "has 45 characters!! And a short one.")
    assert result.note.startswith("lines laid out again: the original's 2 line(s) of up to 45 characters")
    written = fit_subtitles(srt, SubtitleFitOptions(), fitter).text
    assert all(len(line) <= 42 for line in written.splitlines())
    # Inline tags would be lost by a layout of the plain text: such a cue keeps its lines, flagged.
    (tagged,) = fit_subtitles(srt.replace("This line", "<i>This line</i>"), SubtitleFitOptions(), fitter).cues
    assert not tagged.relaid and tagged.flags == ("max_line_chars",) and "the cue has markup" in tagged.note


def test_an_over_cue_says_which_limit_it_misses(fitter: SentenceFitter) -> None:
    """A German cue was "over" with an estimate of 3.95 s inside its 4.04 s slot, with no reason:
    no layout of its words fits in two lines of 42 characters."""
    srt = cue("01,000", "05,040", "Wir überprüfen die Telekommunikationsüberwachungsverordnung und ihre Anwendung.")
    (result,) = fit_subtitles(srt, SubtitleFitOptions(language="de"), fitter).cues
    assert result.status == "over" and result.estimate_after < result.slot_s
    assert "max_lines" in result.flags and "max_cps" not in result.flags
    assert result.note.startswith("lines: needs 3 lines of at most 42 characters, the profile allows 2")


def test_an_over_cue_says_why_its_candidates_were_refused_and_that_time_ran_out(fitter: SentenceFitter) -> None:
    srt = cue("01,000", "02,800", "We tested the new build on Monday, and it failed 25 times.")
    (result,) = fit_subtitles(srt, SubtitleFitOptions(), fitter).cues
    assert result.status == "over" and result.flags == ("max_cps",)
    assert result.note.startswith("reading speed: 2.90 s to read at 20 characters a second, the cue lasts 1.80 s; "
                                  "1 candidate(s) fit but were refused; the closest, 'We tested the new build on "
                                  "Monday.' (trim): drops or changes a number (25)")
    assert result.candidates[0].text == result.text and len(result.candidates) >= 3
    assert any(c.note.startswith("drops or changes a number") for c in result.candidates)

    class Hurried:
        """A fitter whose time budget is gone before its deletion search."""

        def fit(self, text: str, options: FitOptions) -> FitResult:
            return fitter.fit(text, replace(options, time_budget_s=1e-9))

    (hurried,) = fit_subtitles(srt, SubtitleFitOptions(), Hurried()).cues  # type: ignore[arg-type]
    assert "time budget of 1e-09 s ended before the deletion search" in hurried.note


def test_french_keeps_its_no_break_space_before_a_question_mark(fitter: SentenceFitter) -> None:
    srt = cue("01,000", "03,000", "Alors, en fait, c'est vraiment très simple à faire, n'est-ce pas\u202f?")
    result = fit_subtitles(srt, SubtitleFitOptions(language="fr"), fitter)
    assert result.cues[0].text.endswith("n'est-ce pas ?") and result.cues[0].text != result.cues[0].original
    assert "n'est-ce pas\u202f?" in result.text and "\n?" not in result.text


def test_an_unknown_language_is_refused_before_any_cue_is_fitted() -> None:
    """`lessonlens fit --language english` fitted the file by trims alone, as if it were a language."""
    with pytest.raises(UnsupportedLanguageError, match=r"Unknown fit language 'english'.*Supported: de, en, es, fr, it"):
        SubtitleFitOptions(language="english")
    for language in ("zz", ""):
        with pytest.raises(UnsupportedLanguageError, match=f"Unknown fit language {language!r}"):
            SubtitleFitOptions(language=language)
    assert SubtitleFitOptions(language="en-GB").cue_options(2.0).language == "en-GB"
