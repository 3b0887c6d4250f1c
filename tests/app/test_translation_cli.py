"""The translation round trip on the sample lesson with the real ``lessonlens`` command: process
(Whisper, OCR), export XLIFF, a scripted pseudo-translation made 30 % longer in translate-toolkit
(a real XLIFF consumer), import (the real sentence fitter), preview."""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict
from pathlib import Path

import pytest
import webvtt
from translate.storage import xliff as tt_xliff1
from translate.storage import xliff2 as tt_xliff2

from pipelines.translation.pseudo import pseudo_translate
from pipelines.translation.xliff import schema_errors
from tests.app.test_cli import run
from tests.pipelines.translation.conftest import CUES, EVENTS


@pytest.fixture(scope="module")
def lesson(samples: Path, tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("lesson")
    proc = run("process", str(samples / "lesson.mp4"), "--out", str(out), "--stages", "subtitles,ocr",
               model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    return out


def _translate(data: bytes, version: str, language: str) -> bytes:
    store = (tt_xliff2.Xliff2File if version == "2.1" else tt_xliff1.xlifffile).parsestring(data)
    units = [u for u in store.units if not u.isheader()]
    assert units
    for unit in units:
        unit.target = pseudo_translate(unit.source, language, 1.3, seed=unit.getid())
    return bytes(store)


@pytest.mark.slow
def test_round_trip_every_cue_within_its_limits_or_flagged(lesson: Path, tmp_path: Path, model_dir: Path) -> None:
    exported = tmp_path / "lesson.de.xlf"
    proc = run("export", str(lesson), "--target", "de", "--out", str(exported), model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    data = exported.read_bytes()
    assert schema_errors(data, "2.1") == []
    cues = json.loads((lesson / "subtitles.json").read_text())["cues"]
    assert data.count(b"<unit id=\"cue-") == len(cues) >= 5
    assert b'<unit id="screen-' in data  # the slides' texts from the ocr stage
    translated = tmp_path / "translated.de.xlf"
    translated.write_bytes(_translate(data, "2.1", "de"))

    proc = run("import", str(lesson), str(translated), "--preview", model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((lesson / "translation.de.json").read_text())
    assert len(report["cues"]) == len(cues)
    assert sum(c["chars_before"] > c["max_chars"] for c in report["cues"]) >= 3  # +30 % overflows
    for cue in report["cues"]:
        within = cue["chars_after"] <= cue["max_chars"] and len(cue["lines"]) <= 2 and not cue["flags"]
        assert within or (cue["status"] == "over" and cue["flags"]), cue
    assert any(c["status"] == "shortened" for c in report["cues"])  # the fitter did work
    vtt = webvtt.read(str(lesson / "subtitles.de.vtt"))
    assert [(c.start, c.end) for c in vtt] == [(c.start, c.end) for c in webvtt.read(str(lesson / "subtitles.vtt"))]
    screen = json.loads((lesson / "screen_text.de.json").read_text())["texts"]
    assert screen and all(s["translated"] for s in screen)
    index = json.loads((lesson / "translations.json").read_text())["languages"]["de"]
    assert "preview.de.mp4" in index["files"] and (lesson / "preview.de.mp4").stat().st_size > 10_000
    streams = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0",
                              str(lesson / "preview.de.mp4")], capture_output=True, text=True, check=True)
    assert sorted(streams.stdout.split()) == ["audio", "subtitle", "video"]


@pytest.mark.slow
def test_xliff_12_and_a_refused_file(lesson: Path, tmp_path: Path, model_dir: Path) -> None:
    exported = tmp_path / "lesson.fr.xlf"
    assert run("export", str(lesson), "-t", "fr", "--version", "1.2", "-o", str(exported),
               model_dir=model_dir).returncode == 0
    data = exported.read_bytes()
    assert schema_errors(data, "1.2") == []
    refused = tmp_path / "untranslated.xlf"
    refused.write_bytes(data)  # no targets at all
    proc = run("import", str(lesson), str(refused), model_dir=model_dir)
    assert proc.returncode == 2 and "cue-0001: has no target" in proc.stderr
    assert not (lesson / "subtitles.fr.srt").exists()
    translated = tmp_path / "translated.fr.xlf"
    translated.write_bytes(_translate(data, "1.2", "fr"))
    proc = run("import", str(lesson), str(translated), "--mode", "speaking", model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((lesson / "translation.fr.json").read_text())["mode"] == "speaking"


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    """A results folder as ``lessonlens process`` writes it, without the media: four cues, two slides."""
    out = tmp_path / "job"
    out.mkdir()
    (out / "subtitles.json").write_text(json.dumps({"language": "en", "profile": "netflix-en", "cues": [
        {"index": c.index, "start": c.start, "end": c.end, "lines": list(c.lines)} for c in CUES]}))
    (out / "ocr.json").write_text(json.dumps({"events": [asdict(e) for e in EVENTS]}))
    return out


def test_a_refused_file_s_message_is_printed_whole(folder: Path, tmp_path: Path, model_dir: Path) -> None:
    exported = tmp_path / "job.de.xlf"
    assert run("export", str(folder), "-t", "de", "-o", str(exported), model_dir=model_dir).returncode == 0
    broken = tmp_path / "broken.xlf"
    broken.write_bytes(exported.read_bytes().replace(b"</unit>", b"</unitt>", 1))
    proc = run("import", str(folder), str(broken), model_dir=model_dir)
    assert proc.returncode == 2
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("error: The file is not well-formed XML (Opening and ending tag mismatch: unit line")
    assert error.endswith("); send the XLIFF file your tool exported.")
    assert not list(folder.glob("*.de.*"))


@pytest.mark.parametrize("subtitles", [{"status": "no speech track", "cues": []}, None])
def test_a_folder_with_on_screen_text_only_is_exported_and_imported(
        folder: Path, tmp_path: Path, model_dir: Path, subtitles: dict[str, object] | None) -> None:
    """A terminal recording (no audio: subtitles.json without cues or profile) or a job of the ocr
    stage alone (no subtitles.json): the on-screen texts are what gets translated."""
    if subtitles is None:
        (folder / "subtitles.json").unlink()
    else:
        (folder / "subtitles.json").write_text(json.dumps(subtitles))
    exported = tmp_path / "job.de.xlf"
    proc = run("export", str(folder), "-t", "de", "-o", str(exported), model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    assert "3 units" in proc.stderr and b'<unit id="cue-' not in exported.read_bytes()
    translated = tmp_path / "translated.de.xlf"
    translated.write_bytes(_translate(exported.read_bytes(), "2.1", "de"))
    proc = run("import", str(folder), str(translated), "--preview", model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("de: 3 on-screen texts, ")
    assert "no preview: the translation has on-screen texts only" in proc.stderr
    assert json.loads((folder / "screen_text.de.json").read_text())["texts"][0]["translated"]
    assert not list(folder.glob("subtitles.de.*"))


def test_a_folder_with_no_text_is_refused_saying_so(folder: Path, model_dir: Path) -> None:
    (folder / "subtitles.json").write_text(json.dumps({"status": "no speech track", "cues": []}))
    (folder / "ocr.json").write_text(json.dumps({"events": []}))
    proc = run("export", str(folder), "-t", "de", model_dir=model_dir)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: this job has nothing to translate: no subtitles (no speech was "
                                  "transcribed) and no on-screen text (none was read)")
    (folder / "ocr.json").unlink()
    (folder / "subtitles.json").unlink()
    proc = run("export", str(folder), "-t", "de", model_dir=model_dir)
    assert proc.returncode == 2 and "has no subtitles.json or ocr.json: run `lessonlens process" in proc.stderr
