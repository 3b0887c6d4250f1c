"""Merging targets: over-long cues fitted in the target language, the rest flagged."""

from __future__ import annotations

import pytest

from pipelines.fit.sentence import SentenceFitter
from pipelines.fit.subtitle_file import SubtitleFitOptions
from pipelines.subtitles import PROFILES
from pipelines.translation.merge import merge_translation
from pipelines.translation.targets import Targets
from pipelines.translation.units import SourceCue, TranslationDocument, build_document
from tests.pipelines.fit.test_sentence import BagOfWords
from tests.pipelines.translation.conftest import make_doc


@pytest.fixture()
def fitter() -> SentenceFitter:
    return SentenceFitter(BagOfWords())  # rules and trims only: fast and deterministic


def _targets(doc: TranslationDocument, **texts: str) -> Targets:
    out = {u.id: f"DE {u.source}" for u in doc.units}
    out.update({k.replace("_", "-"): v for k, v in texts.items()})
    return Targets("de", out, "xliff-2.1")


def test_fitting_targets_stay_long_ones_are_shortened_hopeless_ones_flagged(
        doc: TranslationDocument, fitter: SentenceFitter) -> None:
    targets = _targets(
        doc,
        cue_0001="Willkommen in Ihrer ersten Woche.",
        # 3.0 s: 60 characters; the fillers can go.
        cue_0002="Öffnen Sie eigentlich die Einstellungen und wählen Sie sozusagen wirklich Sicherheit.",
        cue_0004="Starten Sie dann die Anwendung neu, damit die Änderungen wirksam werden können.",
        screen_1_1="Speichern und schließen Sie bitte alle offenen Fenster der Anwendung jetzt sofort",
    )
    result = merge_translation(doc, targets, SubtitleFitOptions(), fitter)
    report = {r.id: r for r in result.report}
    assert report["cue-0001"].status == "ok" and report["cue-0001"].text == "Willkommen in Ihrer ersten Woche."
    second = report["cue-0002"]
    assert second.status == "shortened" and second.chars_after <= second.max_chars < second.chars_before
    assert "eigentlich" not in second.text and second.flags == ()
    assert all(len(line) <= 42 for line in second.lines) and len(second.lines) <= 2
    fourth = report["cue-0004"]  # 1.0 s for 79 characters: nothing acceptable fits
    assert fourth.status == "over" and "max_cps" in fourth.flags and fourth.text
    assert result.counts["over"] >= 1 and result.language == "de"
    assert [c.lines for c in result.cues] == [r.lines for r in result.report]
    assert [(c.start, c.end) for c in result.cues] == [(u.start, u.end) for u in doc.cues]  # timings kept
    screen = {s.id: s for s in result.screen}
    assert screen["screen-1-1"].fits is False and screen["screen-0-1"].fits is True
    assert result.counts["screen_over"] == 1


def test_every_cue_fits_or_is_flagged(doc: TranslationDocument, fitter: SentenceFitter) -> None:
    targets = _targets(doc, **{f"cue_000{n}": "Sehr langer Text ohne jede Chance " * n for n in range(1, 5)})
    for r in merge_translation(doc, targets, SubtitleFitOptions(), fitter).report:
        assert (r.chars_after <= r.max_chars and len(r.lines) <= 2 and not r.flags) or (
            r.status == "over" and r.flags)


def test_speaking_mode_measures_syllables(doc: TranslationDocument, fitter: SentenceFitter) -> None:
    targets = _targets(doc, cue_0003="Klicken Sie jetzt bitte auf die Schaltfläche Speichern oben rechts.")
    result = merge_translation(doc, targets, SubtitleFitOptions(mode="speaking"), fitter)
    third = next(r for r in result.report if r.id == "cue-0003")
    assert third.status == "over" and third.flags == ("speaking_time",)
    assert result.mode == "speaking"


def test_burned_in_captions_are_fitted_like_cues(fitter: SentenceFitter) -> None:
    captions = [SourceCue(1, 0.0, 0.8, ("躲我",)), SourceCue(2, 0.867, 2.4, ("你这辈子都躲不掉", "你这辈子都躲不掉"))]
    doc = build_document("job12", "zh", [], PROFILES["netflix-en"], "netflix-en", (), "de", captions=captions)
    targets = Targets("de", {"caption-0001": "Versteck dich nicht vor mir, wirklich eigentlich sozusagen.",
                             "caption-0002": "Du entkommst mir nie."}, "xliff-2.1")
    result = merge_translation(doc, targets, SubtitleFitOptions(), fitter)
    assert result.report == () and result.cues == ()
    first, second = result.caption_report
    assert first.id == "caption-0001" and first.status in ("shortened", "over")  # 0.8 s: 16 characters
    assert second.status == "ok" and second.text == "Du entkommst mir nie."
    assert [(c.index, c.start, c.end) for c in result.captions] == [(1, 0.0, 0.8), (2, 0.867, 2.4)]
    assert result.counts["caption_ok"] == 1 and result.counts["caption_shortened"] + result.counts["caption_over"] == 1
    assert "caption_ok" not in merge_translation(make_doc(), _targets(make_doc()), SubtitleFitOptions(), fitter).counts
