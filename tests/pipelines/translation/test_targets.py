"""Checking a translated file against the job: every problem named with its unit."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pipelines.exceptions import TranslationFileError
from pipelines.ocr.scene_text import has_words
from pipelines.ocr.tracking import TextEvent
from pipelines.subtitle_formats import to_srt, to_vtt
from pipelines.subtitles import PROFILES, Cue
from pipelines.translation.targets import Retimed, check_translation, read_translation, retimed_warning
from pipelines.translation.units import (
    NOTHING_TO_TRANSLATE_NOTE,
    SourceCue,
    TranslationDocument,
    build_document,
    screen_texts,
)
from pipelines.translation.xliff import schema_errors, write_xliff
from tests.pipelines.translation.conftest import CUES, make_doc


def _all_targets(doc: TranslationDocument) -> dict[str, str]:
    return {u.id: f"DE {u.source}" for u in doc.units}


def _problems(doc: TranslationDocument, data: bytes, language: str | None = "de") -> dict[str, str]:
    """Problems by unit; those of the file as a whole under "file" (joined)."""
    with pytest.raises(TranslationFileError) as err:
        check_translation(doc, read_translation(data), language)
    problems = err.value.problems
    assert problems and all(p.problem in str(err.value) for p in problems[:5])
    out = {p.unit: p.problem for p in problems if p.unit}
    whole = [p.problem for p in problems if p.unit is None]
    return {**out, "file": " | ".join(whole)} if whole else out


@pytest.mark.parametrize("version", ["2.1", "1.2"])
def test_a_complete_translation_gives_one_target_per_unit(doc: TranslationDocument, version: str) -> None:
    targets = check_translation(doc, read_translation(write_xliff(doc, version, _all_targets(doc))), "de")  # type: ignore[arg-type]
    assert targets.language == "de" and targets.texts == _all_targets(doc)
    assert targets.format == f"xliff-{version}"


def test_the_file_language_is_used_when_none_is_asked(doc: TranslationDocument) -> None:
    targets = check_translation(doc, read_translation(write_xliff(doc, "2.1", _all_targets(doc))), None)
    assert targets.language == "de"


def test_every_unit_problem_is_named(doc: TranslationDocument) -> None:
    texts = _all_targets(doc)
    del texts["cue-0002"]  # no target
    texts["cue-0003"] = " "  # empty once trimmed: written as no target either
    data = write_xliff(doc, "2.1", texts)
    data = data.replace(b'id="cue-0004"', b'id="cue-0099"')  # unknown id; cue-0004 now missing
    data = data.replace(b"<source>Click save.</source>", b"<source>Click cancel.</source>")
    problems = _problems(doc, data)
    assert problems["cue-0002"].startswith("has no target")
    assert problems["cue-0099"].startswith("no such cue or on-screen text")
    assert problems["cue-0004"] == "is missing from the file"
    assert "'Click cancel.' is not this job's 'Click save.'" in problems["cue-0003"]


def test_another_jobs_file_and_a_wrong_language_are_refused(doc: TranslationDocument) -> None:
    other = make_doc(job_id="job7")
    problems = _problems(doc, write_xliff(other, "2.1", _all_targets(other)), "fr")
    assert list(problems) == ["file"]  # the units are alike; the file is not this job's
    assert "the file belongs to 'lessonlens:job:job7', not to this job" in problems["file"]
    assert "the file's target language is 'de', not 'fr' as requested" in problems["file"]


def test_a_unit_marked_not_to_translate_keeps_its_source(doc: TranslationDocument) -> None:
    texts = _all_targets(doc)
    del texts["screen-1-1"]
    data = write_xliff(doc, "2.1", texts).replace(b'<unit id="screen-1-1"', b'<unit id="screen-1-1" translate="no"')
    targets = check_translation(doc, read_translation(data), "de")
    assert targets.untranslated == ("screen-1-1",) and targets.texts["screen-1-1"] == "Save"


@pytest.mark.parametrize("version", ["2.1", "1.2"])
def test_on_screen_text_with_nothing_to_translate_is_exported_not_to_translate(version: str) -> None:
    """An icon read as "C", a page number: ``translate="no"`` in the export (valid against the
    schema), a note saying why; back without a target they keep their source, with one the
    translator's text is taken; the labels beside them still need theirs."""
    events = [TextEvent(0.0, 3.0, (0.1, 0.1, 0.2, 0.15), "C", 0.7, 0), TextEvent(0.0, 3.0, (0.3, 0.1, 0.4, 0.15), "12", 0.9, 0),
              TextEvent(0.0, 3.0, (0.1, 0.5, 0.4, 0.55), "Open Settings", 0.97, 0)]
    doc = build_document("job8", "en", [SourceCue(1, 0.5, 3.0, ("Press the button.",))], PROFILES["netflix-en"],
                         "netflix-en", screen_texts(events), "de")
    assert {u.source: u.translate for u in doc.screen} == {"C": False, "12": False, "Open Settings": True}
    assert NOTHING_TO_TRANSLATE_NOTE in [n.text for u in doc.screen for n in u.notes if u.source == "C"]
    exported = write_xliff(doc, version)  # type: ignore[arg-type]
    assert schema_errors(exported, version) == []  # type: ignore[arg-type]
    assert [u.id for u in read_translation(exported).units if not u.translate] == \
        [u.id for u in doc.screen if not u.translate]
    ids = {u.source: u.id for u in doc.units}
    texts = {ids["Press the button."]: "Drücken Sie die Taste.", ids["Open Settings"]: "Einstellungen öffnen",
             ids["12"]: "zwölf"}
    dropped = write_xliff(doc, version, texts).replace(b' translate="no"', b"")  # a tool that drops it
    targets = check_translation(doc, read_translation(dropped), "de")
    assert targets.untranslated == (ids["C"],)
    assert (targets.texts[ids["C"]], targets.texts[ids["12"]]) == ("C", "zwölf")
    assert _problems(doc, write_xliff(doc, version, {ids["12"]: "zwölf"}))[ids["Open Settings"]].startswith(
        "has no target")


def test_has_words_needs_two_letters_or_a_cjk_character() -> None:
    assert has_words("Save") and has_words("OK") and has_words("Step 2") and has_words("保存") and has_words("三")
    assert has_words("Нажмите") and has_words("שמור")
    assert not any(has_words(t) for t in ("C", "0", "12:30", "8S", "→", "①", "x 2", "$ _"))


def _cues(texts: list[str]) -> list[Cue]:
    return [Cue(n, n * 2.0, n * 2.0 + 1.5, (t,), ()) for n, t in enumerate(texts, start=1)]


@pytest.mark.parametrize("writer", [to_srt, to_vtt])
def test_subtitles_aligned_by_cue_number(doc: TranslationDocument, writer) -> None:  # type: ignore[no-untyped-def]
    data = writer(_cues(["Willkommen.", "Öffnen Sie {Einstellungen}.", "Speichern.", "Neu starten."])).encode()
    targets = check_translation(doc, read_translation(data), "de")
    assert targets.texts["cue-0002"] == "Öffnen Sie {Einstellungen}."  # braces are text, not ASS tags
    assert set(targets.texts) == {"cue-0001", "cue-0002", "cue-0003", "cue-0004"}  # no on-screen units asked


def test_cues_timed_otherwise_in_the_file_are_named_and_keep_the_job_s_times(doc: TranslationDocument) -> None:
    """The job's timings are the design (a translation is fitted to them); a file that moved a cue
    (9.0 s where the job has 7.0 s) says so instead of being replaced silently."""
    cues = [Cue(n, u.start, u.end, (f"Zeile {n}",), ()) for n, u in enumerate(doc.cues, start=1)]
    assert check_translation(doc, read_translation(to_srt(cues).encode()), "de").retimed == ()
    cues[2] = replace(cues[2], start=9.0, end=10.0)
    targets = check_translation(doc, read_translation(to_vtt(cues).encode()), "de")
    assert targets.retimed == (Retimed("cue-0003", 9.0, 10.0, 7.0, 8.0),)
    warning = retimed_warning(targets.retimed, "translation.de.json")
    assert warning is not None and "cue-0003: the file's times 00:09.00 - 00:10.00 were replaced by the job's " \
        "00:07.00 - 00:08.00" in warning
    xliff = write_xliff(doc, "2.1", _all_targets(doc))
    assert check_translation(doc, read_translation(xliff), "de").retimed == ()
    moved = xliff.replace(b'<mda:meta type="start">0.500</mda:meta>', b'<mda:meta type="start">1.500</mda:meta>')
    assert [r.unit for r in check_translation(doc, read_translation(moved), "de").retimed] == ["cue-0001"]


def test_subtitles_of_a_job_without_cues_are_its_burned_in_captions() -> None:
    """A silent video with burned-in captions: its hardsubs.srt, translated, comes back by number."""
    captions = [SourceCue(1, 0.0, 0.8, ("躲我",)), SourceCue(2, 0.867, 2.4, ("你这辈子都躲不掉",))]
    doc = build_document("job11", "zh", [], PROFILES["netflix-zh"], "netflix-zh", (), "de", captions=captions)
    targets = check_translation(doc, read_translation(to_srt(_cues(["Versteck dich", "Du entkommst nie"])).encode()),
                                "de")
    assert targets.texts == {"caption-0001": "Versteck dich", "caption-0002": "Du entkommst nie"}
    assert [r.unit for r in targets.retimed] == ["caption-0001", "caption-0002"]  # _cues times them otherwise
    problems = _problems(doc, to_srt(_cues(["a", "b", "c"])).encode())
    assert problems == {"caption-0003": "caption number beyond this job's captions (2 captions)"}
    with_cues = build_document("job11", "zh", CUES, PROFILES["netflix-zh"], "netflix-zh", (), "de", captions=captions)
    targets = check_translation(with_cues, read_translation(to_srt(_cues(["a", "b", "c", "d"])).encode()), "de")
    assert set(targets.texts) == {"cue-0001", "cue-0002", "cue-0003", "cue-0004"}  # the cues, when it has some


def test_a_file_exported_before_captions_were_units_still_comes_in() -> None:
    """An XLIFF without any caption unit (exported before they were translated) is merged without
    them; one with some of them must have all."""
    captions = [SourceCue(1, 0.0, 0.8, ("躲我",)), SourceCue(2, 0.867, 2.4, ("你这辈子都躲不掉",))]
    doc = build_document("job13", "en", CUES, PROFILES["netflix-en"], "netflix-en", (), "de", captions=captions)
    before = build_document("job13", "en", CUES, PROFILES["netflix-en"], "netflix-en", (), "de")
    texts = {u.id: f"DE {u.source}" for u in doc.cues}
    targets = check_translation(doc, read_translation(write_xliff(before, "2.1", texts)), "de")
    assert targets.texts == texts
    one = write_xliff(doc, "2.1", {**texts, "caption-0001": "Versteck dich"})
    assert _problems(doc, one)["caption-0002"].startswith("has no target")


def test_subtitles_with_a_cue_too_few_or_too_many(doc: TranslationDocument) -> None:
    problems = _problems(doc, to_srt(_cues(["a", "b", "c"])).encode())
    assert problems == {"cue-0004": "is missing from the file"}
    problems = _problems(doc, to_srt(_cues(["a", "b", "c", "d", "e"])).encode())
    assert problems["cue-0005"].startswith("cue number beyond this job's cues (4 cues)")


def test_neither_xliff_nor_subtitles_nor_a_language(doc: TranslationDocument) -> None:
    assert _problems(doc, b"\xff\xfe\x00garbage")["file"] == "not XLIFF and not UTF-8 text"
    srt = to_srt(_cues(["a", "b", "c", "d"])).encode()
    assert _problems(doc, srt, None)["file"].startswith("no target language")
