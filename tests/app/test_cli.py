"""The ``lessonlens`` command end to end: a real process, real ffmpeg, real Whisper."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pysubs2
import pytest

from pipelines.ocr.scripts import installed_packs

LESSONLENS = str(Path(sys.executable).with_name("lessonlens"))


def run(*args: str, model_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LESSONLENS_MODEL_DIR": str(model_dir)}
    return subprocess.run(
        [LESSONLENS, *args], capture_output=True, text=True, timeout=300, env=env, check=False
    )


@pytest.mark.slow
def test_process_writes_subtitles_for_sample(samples: Path, tmp_path: Path, model_dir: Path) -> None:
    out = tmp_path / "out"
    proc = run("process", str(samples / "lesson.mp4"), "--out", str(out), model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    assert str(out / "subtitles.srt") in proc.stdout
    subs = pysubs2.load(str(out / "subtitles.srt"))
    assert len(subs) >= 5
    assert "Northwind" in " ".join(e.plaintext for e in subs)
    vtt = (out / "subtitles.vtt").read_text()
    assert vtt.startswith("WEBVTT")
    doc = json.loads((out / "subtitles.json").read_text())
    assert doc["language"] == "en" and doc["cues"][0]["words"][0]["probability"] > 0
    result = json.loads((out / "result.json").read_text())
    assert result["stages"]["subtitles"]["status"] == "succeeded"
    assert "stage subtitles: succeeded" in proc.stderr  # the operator's log says what ran
    assert not list(out.glob(".*"))  # no temporary files left behind


@pytest.mark.slow
def test_video_without_audio_says_no_speech_track(samples: Path, tmp_path: Path, model_dir: Path) -> None:
    proc = run("process", str(samples / "silent.mp4"), "--out", str(tmp_path), model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    assert "no speech track" in proc.stdout
    assert json.loads((tmp_path / "subtitles.json").read_text())["status"] == "no speech track"


def test_not_media_fails_clearly(tmp_path: Path, model_dir: Path) -> None:
    fake = tmp_path / "lesson.mp4"
    fake.write_text("not a video")
    proc = run("process", str(fake), "--out", str(tmp_path / "out"), model_dir=model_dir)
    assert proc.returncode == 2
    assert "not a readable media file" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_wrong_kind_of_path_is_explained_with_the_fix(samples: Path, tmp_path: Path, model_dir: Path) -> None:
    media, taken, empty = samples / "lesson.mp4", tmp_path / "taken.mp4", tmp_path / "empty"
    taken.write_bytes(b"x")
    empty.mkdir()
    refusals = {
        ("process", str(media), "--out", str(taken)): "is a file, not a folder; give a folder for the results",
        ("process", str(media), "--out", "/proc/forbidden"): "cannot make the results folder there",
        ("process", str(samples)): "is a folder; `lessonlens process` takes one media file. To process every "
                                   f"media file in the folder, run `lessonlens batch {samples}`",
        ("probe", str(samples)): "is a folder; `lessonlens probe` takes one media file",
        ("batch", str(media)): f"is a file; `lessonlens batch` takes a folder. To process this one file, run "
                               f"`lessonlens process {media}`",
        ("batch", str(empty), "--out", str(tmp_path / "o")): "no media files found in",
    }
    for args, message in refusals.items():
        proc = run(*args, model_dir=model_dir)
        assert (proc.returncode, proc.stdout) == (2, ""), (args, proc.stderr)
        assert message in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)
    assert ".mp4 .mpeg" in proc.stderr  # the empty folder: which files batch looks for
    assert taken.read_bytes() == b"x" and not (tmp_path / "o").exists()


def test_fit_refuses_bad_input_before_loading_its_models(tmp_path: Path) -> None:
    cues = tmp_path / "course.srt"
    cues.write_text("1\n00:00:01,000 --> 00:00:03,000\nHello there.\n", encoding="utf-8")
    notes = tmp_path / "notes.txt"
    notes.write_text("not subtitles\n", encoding="utf-8")
    none = tmp_path / "no-models"  # loading any model would fail naming its install command
    proc = run("fit", str(cues), "--mode", "singing", model_dir=none)
    assert proc.returncode == 2 and "mode must be 'reading' or 'speaking'" in proc.stderr, proc.stderr
    proc = run("fit", str(notes), model_dir=none)
    assert proc.returncode == 2 and "Could not read the subtitles as SRT or WebVTT" in proc.stderr, proc.stderr
    assert "not installed" not in proc.stderr
    proc = run("fit", str(cues), model_dir=none)  # a good file: now the models are needed
    assert proc.returncode == 2 and "not installed" in proc.stderr


def test_fit_refuses_an_unknown_language_before_loading_its_models(tmp_path: Path) -> None:
    """`--language english` was fitted by trims alone, as if it were a language."""
    cues = tmp_path / "course.srt"
    cues.write_text("1\n00:00:01,000 --> 00:00:03,000\nHello there.\n", encoding="utf-8")
    proc = run("fit", str(cues), "--language", "english", model_dir=tmp_path / "no-models")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "Unknown fit language 'english'" in proc.stderr and "Supported: de, en, es, fr, it" in proc.stderr
    assert "not installed" not in proc.stderr and not (tmp_path / "course.fit.srt").exists()


def test_missing_model_names_install_command(samples: Path, tmp_path: Path) -> None:
    proc = run(
        "process", str(samples / "lesson.mp4"), "--out", str(tmp_path / "o"), model_dir=tmp_path / "none"
    )
    assert proc.returncode == 2
    assert "lessonlens models install whisper-tiny.en" in proc.stderr.replace("\n", " ")


def test_bad_option_is_explained(samples: Path, tmp_path: Path, model_dir: Path) -> None:
    proc = run(
        "process",
        str(samples / "lesson.mp4"),
        "--out",
        str(tmp_path),
        "--profile",
        "cinema",
        model_dir=model_dir,
    )
    assert proc.returncode == 2
    assert "Unknown subtitle profile 'cinema'" in proc.stderr


def test_bad_engine_is_explained(samples: Path, tmp_path: Path, model_dir: Path) -> None:
    proc = run("process", str(samples / "lesson.mp4"), "--out", str(tmp_path), "--engine", "whisperx",
               model_dir=model_dir)
    assert proc.returncode == 2
    assert "Unknown ASR engine 'whisperx'. Valid: faster-whisper, openai-whisper" in proc.stderr.replace("\n", " ")


@pytest.mark.slow
def test_process_all_stages_on_sample(samples: Path, tmp_path: Path, model_dir: Path) -> None:
    proc = run("process", str(samples / "lesson.mp4"), "--out", str(tmp_path), "--stages", "ocr,classify,fit",
               model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    order = list(result["stages"])
    assert sorted(order) == ["classify", "fit", "ocr", "subtitles"]
    assert order.index("subtitles") < order.index("classify") and order.index("ocr") < order.index("classify")
    reference = json.loads((samples / "lesson.json").read_text())
    screen = (tmp_path / "onscreen_text.txt").read_text()
    assert all(slide["title"] in screen for slide in reference["slides"])
    verdict = json.loads((tmp_path / "classification.json").read_text())
    assert verdict["label"] == "learning"
    assert set(verdict["signals"]) >= {"transcript", "screen_text"}
    report = json.loads((tmp_path / "fit_report.json").read_text())
    assert sum(report["counts"].values()) == result["stages"]["subtitles"]["summary"]["cues"]
    fitted = pysubs2.load(str(tmp_path / "subtitles.fit.srt"))
    original = pysubs2.load(str(tmp_path / "subtitles.srt"))
    assert [(e.start, e.end) for e in fitted] == [(e.start, e.end) for e in original]  # timings unchanged


@pytest.mark.slow
def test_fit_command_shortens_a_translated_file(tmp_path: Path, model_dir: Path) -> None:
    source = tmp_path / "course.de.srt"
    source.write_text(
        "1\n00:00:01,000 --> 00:00:03,000\n"
        "Also, im Grunde genommen müssen Sie jetzt zuerst auf die Schaltfläche Einstellungen klicken.\n\n"
        "2\n00:00:04,000 --> 00:00:07,000\nDanke schön.\n",
        encoding="utf-8",
    )
    proc = run("fit", str(source), "--language", "de", model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    fitted = pysubs2.load(str(tmp_path / "course.de.fit.srt"))
    assert [(e.start, e.end) for e in fitted] == [(1000, 3000), (4000, 7000)]
    assert len(fitted[0].plaintext) < 90
    assert fitted[1].plaintext == "Danke schön."
    report = json.loads((tmp_path / "course.de.fit.report.json").read_text())
    assert report["counts"]["ok"] >= 1


@pytest.mark.slow
def test_fit_report_says_why_and_the_file_keeps_a_continued_sentence_small(tmp_path: Path, model_dir: Path) -> None:
    """The report had no note, flags or candidates; a cue that continues a sentence got a capital;
    a line of 45 characters (42 allowed) was reported ok and written as it was."""
    source = tmp_path / "course.de.srt"
    source.write_text(
        "1\n00:00:01,000 --> 00:00:03,900\nkann also im Grunde ja jeder selbst entscheiden, was er hier macht.\n\n"
        "2\n00:00:04,000 --> 00:00:08,040\n"
        "Wir überprüfen die Telekommunikationsüberwachungsverordnung und ihre Anwendung.\n\n"
        "3\n00:00:09,000 --> 00:00:13,000\nDiese Zeile des Untertitels hat 45 Zeichen!!!\nUnd eine kurze.\n",
        encoding="utf-8",
    )
    proc = run("fit", str(source), "--language", "de", "--lm", "never", model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    fitted = pysubs2.load(str(tmp_path / "course.de.fit.srt"))
    assert fitted[0].plaintext.startswith("kann also")
    assert all(len(line) <= 42 for line in fitted[2].plaintext.splitlines())
    cues = json.loads((tmp_path / "course.de.fit.report.json").read_text())["cues"]
    assert cues[0]["status"] == "shortened" and cues[0]["text"].startswith("kann also")
    assert cues[1]["status"] == "over" and cues[1]["estimate_after"] < cues[1]["slot_s"]
    assert "max_lines" in cues[1]["flags"] and "needs 3 lines of at most 42 characters" in cues[1]["note"]
    assert cues[1]["candidates"][0]["text"] == cues[1]["text"]
    assert (cues[2]["status"], cues[2]["relaid"]) == ("ok", True) and "lines laid out again" in cues[2]["note"]


def test_any_stage_option_is_set_and_checked_through_the_registry(samples: Path, tmp_path: Path,
                                                                   model_dir: Path) -> None:
    media = str(samples / "lesson.mp4")
    proc = run("process", media, "--out", str(tmp_path / "o"), "-O", "ocr.colour=red", "--stages", "ocr",
               model_dir=model_dir)
    assert proc.returncode == 2 and "Unknown ocr option(s): colour" in proc.stderr
    proc = run("process", media, "--out", str(tmp_path / "o"), "-O", "subtitles.beam_size=99", model_dir=model_dir)
    assert proc.returncode == 2 and "beam_size must be between 1 and 20" in proc.stderr
    proc = run("process", media, "--out", str(tmp_path / "o"), "-O", "ocr.engine=easyocr", model_dir=model_dir)
    assert proc.returncode == 2 and "stage(s) not run: ocr" in proc.stderr
    proc = run("process", media, "--out", str(tmp_path / "o"), "-O", "beam_size", model_dir=model_dir)
    assert proc.returncode == 2 and "expected STAGE.KEY=VALUE" in proc.stderr
    assert not (tmp_path / "o").exists()
    help_text = run("process", "--help", model_dir=model_dir).stdout
    assert all(name in help_text for name in ("subtitles", "ocr", "classify", "fit"))


@pytest.mark.slow
def test_process_hardsubs_writes_the_burned_in_captions(tmp_path: Path, model_dir: Path) -> None:
    from bench.caption_clips import Caption, make_clip

    clip = make_clip(tmp_path / "clip.mp4", (Caption(0.5, 2.5, ("Open the settings page",)),
                                             Caption(3.0, 5.0, ("Choose a new password",), "box")))
    proc = run("process", str(clip), "--out", str(tmp_path / "o"), "--stages", "ocr", "--hardsubs", "on",
               model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    cues = pysubs2.load(str(tmp_path / "o" / "hardsubs.srt"))
    assert [c.plaintext for c in cues] == ["Open the settings page", "Choose a new password"]
    assert abs(cues[0].start - 500) <= 200 and abs(cues[1].end - 5000) <= 200
    doc = json.loads((tmp_path / "o" / "ocr.json").read_text())
    assert doc["hardsubs"]["band_source"] == "auto" and len(doc["hardsubs"]["cues"]) == 2
    # the captions are in hardsubs.srt, not in the screen text too (but in every event still)
    assert "settings" not in (tmp_path / "o" / "onscreen_text.txt").read_text().lower()
    assert not any("settings" in t.lower() for scene in doc["scenes"] for t in scene["texts"] + scene["variants"])
    assert any("settings" in e["text"].lower() for e in doc["events"])
    proc = run("process", str(clip), "--out", str(tmp_path / "off"), "--stages", "ocr", "--hardsubs", "off",
               model_dir=model_dir)
    assert proc.returncode == 0 and not (tmp_path / "off" / "hardsubs.srt").exists()
    assert "Open the settings page" in (tmp_path / "off" / "onscreen_text.txt").read_text()
    proc = run("process", str(clip), "--out", str(tmp_path / "speech"), "--stages", "subtitles", "--hardsubs", "on",
               model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr  # not silently: the run names the stage that takes it
    assert "--hardsubs on is for the ocr stage, which this run does not include (add it: --stages subtitles,ocr)" \
        in proc.stderr
    assert not (tmp_path / "speech" / "hardsubs.srt").exists()



@pytest.mark.slow
@pytest.mark.skipif("rus" not in installed_packs(),
                    reason="Tesseract's rus pack is not installed (./scripts/setup installs it)")
def test_process_reads_russian_captions_over_a_bright_sky_without_the_language_said(tmp_path: Path,
                                                                                    model_dir: Path) -> None:
    """White outlined Russian captions over the mandelbrot's pink and yellow, no language said: each
    cue comes out in Cyrillic or flagged, never as unflagged Latin look-alikes; the stage's summary
    and log say which script was identified from the pixels."""
    from bench.caption_clips import Caption, make_clip

    clip = make_clip(tmp_path / "ru.mp4", (Caption(0.5, 2.5, ("Откройте меню файла",)),
                                           Caption(3.0, 5.0, ("Выберите нужный формат",), "box"),
                                           Caption(5.5, 7.5, ("Нажмите кнопку сохранить",)),
                                           Caption(8.0, 10.0, ("Проверьте результат ещё раз",), "box")))
    proc = run("process", str(clip), "--out", str(tmp_path / "o"), "--stages", "ocr", model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    cues = json.loads((tmp_path / "o" / "ocr.json").read_text())["hardsubs"]["cues"]
    assert len(cues) == 4
    cyrillic = [c for c in cues if sum("\u0400" <= ch <= "\u04ff" for ch in c["text"]) > len(c["text"]) / 2]
    assert len(cyrillic) >= 3 and all(c in cyrillic or "script-uncertain" in c["flags"] for c in cues), cues
    assert "Нажмите кнопку сохранить" in [c["text"] for c in cues]  # read inside its outline
    summary = json.loads((tmp_path / "o" / "result.json").read_text())["stages"]["ocr"]["summary"]
    assert summary["scripts_identified"]["CYRILLIC"] >= 2
    assert "lines of another script identified from their pixels" in proc.stderr

@pytest.mark.slow
def test_process_leaves_a_real_clips_captions_out_of_its_screen_text(testdata: Path, tmp_path: Path,
                                                                     model_dir: Path) -> None:
    """vsr_rezero_en (real anime footage): its two burned-in captions go to hardsubs.srt, and only the
    fansub watermark, on screen throughout, stays screen text (the reference names both)."""
    clip = testdata / "video" / "vsr_rezero_en.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} not found (../shared/testdata holds the real clips)")
    proc = run("process", str(clip), "--out", str(tmp_path / "o"), "--stages", "ocr", model_dir=model_dir)
    assert proc.returncode == 0, proc.stderr
    assert "decided, Rem." in (tmp_path / "o" / "hardsubs.srt").read_text()
    assert (tmp_path / "o" / "onscreen_text.txt").read_text().split("\n")[0] == "Yami Sukehiro"
    assert "rem" not in (tmp_path / "o" / "onscreen_text.txt").read_text().lower()
    doc = json.loads((tmp_path / "o" / "ocr.json").read_text())
    assert any("decided" in e["text"] for e in doc["events"])  # every reading stays an event


def _serve(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """``lessonlens serve`` that is to refuse to start (it would else run until stopped)."""
    env = {**os.environ, "LESSONLENS_DATA_DIR": str(data_dir)}
    return subprocess.run([LESSONLENS, "serve", "--workers", "2", *args], capture_output=True, text=True,
                          timeout=60, env=env, check=False)


def test_serve_on_a_port_in_use_says_so_and_starts_nothing(tmp_path: Path) -> None:
    """Refused before any process starts: the job process took queued jobs for a server that never
    served, and uvicorn's error named no address."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _serve("--port", str(port), data_dir=tmp_path / "data")
    assert proc.returncode == 2, proc.stderr
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in proc.stderr
    assert "Traceback" not in proc.stderr and "job process" not in proc.stderr
    assert not (tmp_path / "data").exists()


def test_serve_with_a_data_folder_it_cannot_make_says_so(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    proc = _serve("--port", "0", data_dir=tmp_path / "a-file" / "data")
    assert proc.returncode == 2, proc.stderr
    assert f"LESSONLENS_DATA_DIR {tmp_path / 'a-file' / 'data'}: cannot keep the job store there (Not a directory)" \
        in " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr


def test_serve_with_a_bad_setting_names_it_without_a_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([LESSONLENS, "serve", "--port", "0"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "LESSONLENS_DATA_DIR": str(tmp_path / "data"),
                               "LESSONLENS_HTTP_WORKERS": "-1"}, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "LESSONLENS_HTTP_WORKERS: Input should be greater than or equal to 0" in " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr
