"""Translation routes through FastAPI's test client: a finished job's files on disk, a real
LocalStorage, a bag-of-words sentence fitter, a recording webhook dispatcher."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api import jobs as job_routes
from app.api import translations as translation_routes
from app.api.errors import install_error_handlers
from app.jobs import Job, JobStatus, Source, StageState, StageStatus
from app.model_cache import ModelCache
from app.settings import Settings
from app.storage import LocalStorage
from app.translations import NO_LM_FITTER
from pipelines.fit.sentence import SentenceFitter
from pipelines.translation.pseudo import pseudo_translate
from pipelines.translation.targets import read_translation
from pipelines.translation.xliff import schema_errors
from tests.pipelines.fit.test_sentence import BagOfWords
from tests.pipelines.translation.conftest import CUES, EVENTS

JOB_ID = "job_" + "a" * 20
SILENT_ID = "job_" + "d" * 20  # a screencast without audio: on-screen text only
CAPTIONED_ID = "job_" + "f" * 20  # a drama with Chinese captions burned in, its speech transcribed as English
HARDSUBS = {"band": [0.0, 0.62, 1.0, 0.82], "cues": [
    {"start": 0.0, "end": 0.8, "lines": ["躲我"], "text": "躲我", "confidence": 0.99, "flags": []},
    {"start": 0.867, "end": 2.4, "lines": ["你这辈子都躲不掉", "你这辈子都躲不掉"],
     "text": "你这辈子都躲不掉\n你这辈子都躲不掉", "confidence": 0.99, "flags": []}]}
# What the OCR stage read there: the captions' lines (given as captions, not screen text too) and a logo.
CAPTIONED_EVENTS = [{"start": 0.0, "end": 0.8, "box": [0.4, 0.7, 0.6, 0.76], "text": "躲我", "confidence": 0.99, "scene": 0},
                    {"start": 0.867, "end": 2.4, "box": [0.3, 0.7, 0.7, 0.76], "text": "你这辈子都躲不掉",
                     "confidence": 0.99, "scene": 0},
                    {"start": 0.0, "end": 2.4, "box": [0.8, 0.02, 0.98, 0.08], "text": "电影频道", "confidence": 0.9,
                     "scene": 0}]


class Store:
    def __init__(self, *jobs: Job) -> None:
        self.jobs = {j.id: j for j in jobs}
        self.local_reads = True

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)


class Webhooks:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, str]] = []

    def send(self, event: Any, url: str) -> None:
        self.sent.append((event, url))


def _job(job_id: str = JOB_ID, subtitles: StageStatus = StageStatus.SUCCEEDED,
         ocr: StageStatus = StageStatus.SUCCEEDED) -> Job:
    return Job(id=job_id, owner="anonymous", source=Source("url", "https://example.invalid/lesson.mp4"),
               stages=("subtitles", "ocr"), options={"subtitles": {"profile": "netflix-en"}},
               status=JobStatus.SUCCEEDED, webhook_url="https://hooks.example.invalid/x",
               stage_states={"subtitles": StageState(status=subtitles, files=("subtitles.json",)),
                             "ocr": StageState(status=ocr, files=("ocr.json",))})


@pytest.fixture
def api(tmp_path: Path) -> SimpleNamespace:
    storage = LocalStorage(tmp_path / "data")
    folder = storage.results_dir(JOB_ID)
    (folder / "subtitles.json").write_text(json.dumps({"language": "en", "profile": "netflix-en", "cues": [
        {"index": c.index, "start": c.start, "end": c.end, "lines": list(c.lines)} for c in CUES]}))
    (folder / "ocr.json").write_text(json.dumps({"events": [asdict(e) for e in EVENTS]}))
    silent = storage.results_dir(SILENT_ID)  # as the subtitles stage leaves a job without audio
    (silent / "subtitles.json").write_text(json.dumps({"status": "no speech track", "cues": []}))
    (silent / "ocr.json").write_text(json.dumps({"events": [asdict(e) for e in EVENTS]}))
    captioned = storage.results_dir(CAPTIONED_ID)
    (captioned / "subtitles.json").write_text((folder / "subtitles.json").read_text())
    (captioned / "ocr.json").write_text(json.dumps({"events": CAPTIONED_EVENTS, "hardsubs": HARDSUBS, "duration": 2.4}))
    (captioned / "hardsubs.srt").write_text("1\n00:00:00,000 --> 00:00:00,800\n躲我\n\n")
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(translation_routes.router)
    app.include_router(job_routes.router)
    models = ModelCache(Settings())
    for key in ("fitter", NO_LM_FITTER):  # fakes in the real cache the routes read
        models.get(key, lambda: SentenceFitter(BagOfWords()))
    webhooks = Webhooks()
    app.state.services = SimpleNamespace(settings=Settings(), key_ids={}, models=models, storage=storage,
                                         store=Store(_job(), _job("job_" + "b" * 20, StageStatus.RUNNING),
                                                     _job(SILENT_ID, StageStatus.SKIPPED),
                                                     _job("job_" + "e" * 20, StageStatus.SKIPPED, StageStatus.FAILED),
                                                     _job(CAPTIONED_ID)),
                                         webhooks=webhooks)
    return SimpleNamespace(client=TestClient(app), folder=folder, webhooks=webhooks)


def _translated(client: TestClient, version: str = "2.1", target: str = "de", job_id: str = JOB_ID) -> bytes:
    from translate.storage import xliff as tt1
    from translate.storage import xliff2 as tt2

    r = client.get(f"/v1/jobs/{job_id}/files/translation.xlf", params={"version": version, "target": target})
    assert r.status_code == 200, r.text
    store = (tt2.Xliff2File if version == "2.1" else tt1.xlifffile).parsestring(r.content)
    for unit in store.units:
        if not unit.isheader():
            unit.target = pseudo_translate(unit.source, target, 1.3, seed=unit.getid())
    return bytes(store)


@pytest.mark.parametrize("version", ["2.1", "1.2"])
def test_export_is_valid_xliff_of_the_jobs_units(api: SimpleNamespace, version: str) -> None:
    r = api.client.get(f"/v1/jobs/{JOB_ID}/files/translation.xlf", params={"version": version, "target": "fr"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/xliff+xml")
    assert 'filename="translation.fr.xlf"' in r.headers["content-disposition"]
    assert schema_errors(r.content, version) == []  # type: ignore[arg-type]
    read = read_translation(r.content)
    assert read.original == f"lessonlens:job:{JOB_ID}" and read.target_language == "fr"
    assert [u.id for u in read.units] == ["cue-0001", "cue-0002", "cue-0003", "cue-0004",
                                          "screen-0-1", "screen-0-2", "screen-1-1"]


def test_export_errors(api: SimpleNamespace) -> None:
    r = api.client.get(f"/v1/jobs/{JOB_ID}/files/translation.xlf", params={"version": "3.0"})
    assert r.status_code == 422
    r = api.client.get(f"/v1/jobs/{JOB_ID}/files/translation.xlf", params={"target": "en-GB"})
    assert r.status_code == 422 and "source language" in r.json()["error"]["message"]
    r = api.client.get(f"/v1/jobs/{JOB_ID}/files/translation.xlf", params={"target": "../x"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_language"
    r = api.client.get(f"/v1/jobs/{'job_' + 'b' * 20}/files/translation.xlf")
    assert r.status_code == 409 and r.json()["error"]["code"] == "nothing_to_translate"
    r = api.client.get(f"/v1/jobs/{'job_' + 'c' * 20}/files/translation.xlf")
    assert r.status_code == 404


def test_a_job_with_on_screen_text_only_is_exported_and_imported(api: SimpleNamespace) -> None:
    """A silent screencast (no audio: the subtitles stage skipped) has its UI text to translate:
    exported as screen units, imported into screen_text.<lang>.json; no subtitles, no preview."""
    r = api.client.get(f"/v1/jobs/{SILENT_ID}/files/translation.xlf", params={"target": "de"})
    assert r.status_code == 200, r.text
    assert schema_errors(r.content, "2.1") == []
    read = read_translation(r.content)
    assert [u.id for u in read.units] == ["screen-0-1", "screen-0-2", "screen-1-1"]
    assert read.source_language == "en"  # no speech: the language of the text on screen (Latin: the default)
    r = api.client.post(f"/v1/jobs/{SILENT_ID}/translations",
                        files={"file": ("de.xlf", _translated(api.client, job_id=SILENT_ID))})
    assert r.status_code == 201, r.text
    body = r.json()
    assert [f["name"] for f in body["files"]] == ["translation.de.json", "screen_text.de.json"]
    assert body["preview"].startswith("not available: the translation has on-screen texts only")
    folder = api.folder.parent / SILENT_ID
    screen = json.loads((folder / "screen_text.de.json").read_text())["texts"]
    assert [s["source"] for s in screen] == ["Reset Your Password", "Open Settings", "Save"]
    assert all(s["translated"] and s["text"] != s["source"] for s in screen)
    assert not list(folder.glob("subtitles.de.*"))
    r = api.client.get(f"/v1/jobs/{'job_' + 'e' * 20}/files/translation.xlf")  # no audio, OCR failed
    assert r.status_code == 409 and r.json()["error"]["code"] == "nothing_to_translate"
    assert "the subtitles stage skipped, the ocr stage failed" in r.json()["error"]["message"]


def test_a_silent_job_s_source_language_is_its_on_screen_text_s(api: SimpleNamespace) -> None:
    folder = api.folder.parent / SILENT_ID
    events = [replace(e, text=t) for e, t in zip(EVENTS, ["重置密码", "打开设置", "保存", "保存"], strict=True)]
    (folder / "ocr.json").write_text(json.dumps({"events": [asdict(e) for e in events]}))
    r = api.client.get(f"/v1/jobs/{SILENT_ID}/files/translation.xlf", params={"target": "en"})
    assert r.status_code == 200, r.text
    assert read_translation(r.content).source_language == "zh"
    r = api.client.get(f"/v1/jobs/{SILENT_ID}/files/translation.xlf", params={"target": "zh"})
    assert r.status_code == 422 and "source language" in r.json()["error"]["message"]
    (folder / "ocr.json").write_text(json.dumps({"events": []}))
    r = api.client.get(f"/v1/jobs/{SILENT_ID}/files/translation.xlf")
    assert r.status_code == 409 and r.json()["error"]["code"] == "nothing_to_translate"
    assert "no subtitles (no speech was transcribed) and no on-screen text" in r.json()["error"]["message"]


def test_burned_in_captions_are_exported_and_come_back_as_translated_captions(api: SimpleNamespace) -> None:
    """The ocr stage's hardsubs cues are units of their own (``caption-NNNN``, after the cues), in
    their language where it is not the document's (here: Chinese captions, English speech); the
    import writes their targets, fitted, as hardsubs.<lang>.srt/.vtt at the captions' times."""
    r = api.client.get(f"/v1/jobs/{CAPTIONED_ID}/files/translation.xlf", params={"target": "de"})
    assert r.status_code == 200, r.text
    assert schema_errors(r.content, "2.1") == []
    read = read_translation(r.content)
    assert [u.id for u in read.units] == ["cue-0001", "cue-0002", "cue-0003", "cue-0004",
                                          "caption-0001", "caption-0002", "screen-0-1"]
    # The logo; the captions' own lines are not screen text again. On screen by the edge the whole
    # video: a watermark, exported translate="no" with a note saying why.
    assert read.units[6].source == "电影频道" and not read.units[6].translate
    assert "a watermark, a logo or a credit" in r.text
    assert read.source_language == "en" and read.units[5].source == "你这辈子都躲不掉 你这辈子都躲不掉"
    assert "written in another language (zh) than the document's source (en)" in r.text
    r = api.client.post(f"/v1/jobs/{CAPTIONED_ID}/translations",
                        files={"file": ("de.xlf", _translated(api.client, job_id=CAPTIONED_ID))})
    assert r.status_code == 201, r.text
    assert [f["name"] for f in r.json()["files"]] == [
        "subtitles.de.srt", "subtitles.de.vtt", "hardsubs.de.srt", "hardsubs.de.vtt", "translation.de.json",
        "screen_text.de.json"]
    assert sum(r.json()["counts"][f"caption_{k}"] for k in ("ok", "shortened", "over")) == 2
    srt = api.client.get(f"/v1/jobs/{CAPTIONED_ID}/files/hardsubs.de.srt").text
    assert "00:00:00,000 --> 00:00:00,800" in srt and "00:00:00,867 --> 00:00:02,400" in srt
    assert api.client.get(f"/v1/jobs/{CAPTIONED_ID}/files/hardsubs.de.vtt").status_code == 200
    report = api.client.get(f"/v1/jobs/{CAPTIONED_ID}/files/translation.de.json").json()
    assert [c["id"] for c in report["captions"]] == ["caption-0001", "caption-0002"] and len(report["cues"]) == 4
    assert all("\n".join(c["lines"]) in srt for c in report["captions"])  # the fitted targets, as shown


def test_a_silent_video_s_captions_set_its_language_and_take_a_subtitle_file(api: SimpleNamespace) -> None:
    folder = api.folder.parent / CAPTIONED_ID
    (folder / "subtitles.json").write_text(json.dumps({"status": "no speech track", "cues": []}))
    r = api.client.get(f"/v1/jobs/{CAPTIONED_ID}/files/translation.xlf", params={"target": "de"})
    assert r.status_code == 200, r.text
    read = read_translation(r.content)
    assert read.source_language == "zh" and [u.id for u in read.units] == ["caption-0001", "caption-0002",
                                                                           "screen-0-1"]
    assert "written in another language" not in r.text
    srt = "1\n00:00:00,000 --> 00:00:00,800\nVersteck dich\n\n2\n00:00:00,867 --> 00:00:02,400\nDu entkommst mir nie\n"
    r = api.client.post(f"/v1/jobs/{CAPTIONED_ID}/translations", files={"file": ("de.srt", srt.encode())},
                        data={"target_language": "de"})
    assert r.status_code == 201, r.text
    assert r.json()["warnings"] == [] and r.json()["preview"].startswith("not available: the job's media is a URL")
    assert "Du entkommst mir nie" in api.client.get(f"/v1/jobs/{CAPTIONED_ID}/files/hardsubs.de.srt").text
    assert not (folder / "subtitles.de.srt").exists()


def test_import_writes_fitted_subtitles_report_screen_texts_and_announces_it(api: SimpleNamespace) -> None:
    data = _translated(api.client)
    r = api.client.post(f"/v1/jobs/{JOB_ID}/translations", files={"file": ("de.xlf", data)},
                        data={"target_language": "de"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["language"] == "de" and body["format"] == "xliff-2.1" and body["warnings"] == []
    assert sum(body["counts"][k] for k in ("ok", "shortened", "over")) == 4
    assert body["preview"].startswith("not available")  # a URL source: no media here to render
    names = [f["name"] for f in body["files"]]
    assert names == ["subtitles.de.srt", "subtitles.de.vtt", "translation.de.json", "screen_text.de.json"]
    for f in body["files"]:  # every file is served
        got = api.client.get(f["url"])
        assert got.status_code == 200 and got.content
    report = api.client.get(f"/v1/jobs/{JOB_ID}/files/translation.de.json").json()
    for cue in report["cues"]:  # every cue fits its limits or is flagged
        assert (cue["chars_after"] <= cue["max_chars"] and not cue["flags"]) or (
            cue["status"] == "over" and cue["flags"])
    vtt = api.client.get(f"/v1/jobs/{JOB_ID}/files/subtitles.de.vtt").text
    assert vtt.startswith("WEBVTT") and vtt.count("-->") == 4
    (event, url), = api.webhooks.sent
    assert event.type == "translation.merged" and url == "https://hooks.example.invalid/x"
    payload = json.loads(event.body)
    assert payload["data"]["language"] == "de" and payload["data"]["counts"] == body["counts"]
    listed = api.client.get(f"/v1/jobs/{JOB_ID}/translations").json()
    assert list(listed["languages"]) == ["de"]
    assert listed["languages"]["de"]["files"][0]["url"] == f"/v1/jobs/{JOB_ID}/files/subtitles.de.srt"


def test_a_bad_file_is_refused_with_its_units_and_nothing_is_written(api: SimpleNamespace) -> None:
    data = _translated(api.client, target="de").replace(b'id="cue-0002"', b'id="cue-0042"')
    r = api.client.post(f"/v1/jobs/{JOB_ID}/translations", files={"file": ("de.xlf", data)},
                        data={"target_language": "fr"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid_translation"
    problems = {(p["unit"], p["problem"].split(" (")[0].split(":")[0]) for p in err["detail"]["problems"]}
    assert ("cue-0042", "no such cue or on-screen text in this job") in problems
    assert ("cue-0002", "is missing from the file") in problems
    assert any(unit is None and "target language is 'de', not 'fr'" in problem
               for unit, problem in ((p["unit"], p["problem"]) for p in err["detail"]["problems"]))
    assert "cue-0042" in err["message"]
    assert not list(api.folder.glob("*.fr.*")) and not list(api.folder.glob("*.de.*"))
    assert not (api.folder / "translations.json").exists() and not api.webhooks.sent
    r = api.client.post(f"/v1/jobs/{JOB_ID}/translations", files={"file": ("x.txt", b"hello")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_translation"


def test_subtitles_aligned_by_number_are_accepted(api: SimpleNamespace) -> None:
    srt = "".join(f"{n}\n00:00:0{n},000 --> 00:00:0{n},900\nZeile {n}\n\n" for n in range(1, 5))
    r = api.client.post(f"/v1/jobs/{JOB_ID}/translations", files={"file": ("de.srt", srt.encode())},
                        data={"target_language": "de", "mode": "speaking"})
    assert r.status_code == 201, r.text
    assert r.json()["format"] == "srt" and r.json()["mode"] == "speaking"
    srt_out = api.client.get(f"/v1/jobs/{JOB_ID}/files/subtitles.de.srt").text
    assert "Zeile 2" in srt_out and "00:00:03,200 --> 00:00:06,200" in srt_out  # the job's timings
    warning, = r.json()["warnings"]  # ... and the file's, replaced, named
    assert warning.startswith("4 units of the file are timed otherwise than the job; the job's timings are kept")
    assert "cue-0002: the file's times 00:02.00 - 00:02.90 were replaced by the job's 00:03.20 - 00:06.20" in warning
    report = api.client.get(f"/v1/jobs/{JOB_ID}/files/translation.de.json").json()
    assert [r["unit"] for r in report["retimed"]] == ["cue-0001", "cue-0002", "cue-0003", "cue-0004"]
    assert report["retimed"][1] == {"unit": "cue-0002", "file_start": 2.0, "file_end": 2.9, "start": 3.2, "end": 6.2}


def test_the_limits_follow_the_target_language_when_the_job_s_profile_was_auto(tmp_path: Path) -> None:
    """A job's profile 'auto' is Netflix's for the language of the text: a Chinese job's English
    translation gets 42 characters a line, an English job's Japanese 13; a chosen one is kept."""
    from app.api.translations import _profile
    from app.cli_translation import _folder_profile

    auto = replace(_job(), options={"subtitles": {}})
    assert _profile(auto, "ja").name == "netflix-ja" and _profile(auto, "de").name == "netflix-en"
    assert _profile(auto, None).name == "netflix-en"
    assert _profile(_job(), "ja").name == "netflix-en"  # chosen: netflix-en
    (tmp_path / "subtitles.json").write_text(json.dumps({"language": "zh", "profile": "netflix-zh", "cues": []}))
    assert _folder_profile(tmp_path, None, "en").max_line_chars == 42
    assert _folder_profile(tmp_path, None, None).name == "netflix-zh"
    assert _folder_profile(tmp_path, "bbc", "ja").name == "bbc"
    # subtitles.json says whether its profile was chosen: a chosen netflix-en stays netflix-en
    (tmp_path / "subtitles.json").write_text(json.dumps({"language": "en", "profile": "netflix-en",
                                                         "profile_auto": False, "cues": []}))
    assert _folder_profile(tmp_path, None, "zh").name == "netflix-en"
    (tmp_path / "subtitles.json").write_text(json.dumps({"language": "en", "profile": "netflix-en",
                                                         "profile_auto": True, "cues": []}))
    assert _folder_profile(tmp_path, None, "zh").name == "netflix-zh"


def test_an_import_without_its_language_takes_the_file_s_for_the_limits(api: SimpleNamespace) -> None:
    """target_language is optional on import: the limits then come from the language the file
    says it is in (they were netflix-en's whatever it was)."""
    from app.translations import file_language

    data = _translated(api.client, target="de")
    assert file_language(data) == "de" and file_language(b"not xml") is None
