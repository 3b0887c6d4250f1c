"""The web page's language switch, in Debian's Chromium against a real server: a translation
imported through the API shows up as a subtitle track the viewer can switch to, with its
transcript; so do its burned-in captions' translation (``hardsubs.<lang>.vtt``), labelled apart."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import webvtt
from translate.storage import xliff2

from pipelines.translation.pseudo import pseudo_translate
from tests.app.server_proc import ServerProcess
from tests.app.test_web import KEY, KEYS, Browser, _upload, _video, browser  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e
CAPTIONS = ("Open the settings page", "Choose a new password", "Save it before you leave")


def _import_pseudo(server: ServerProcess, job_id: str, lang: str) -> dict[str, Any]:
    """Export the job's XLIFF, pseudo-translate every unit into ``lang``, import it; its report."""
    with server.client(KEY) as c:
        exported = c.get(f"/v1/jobs/{job_id}/files/translation.xlf", params={"target": lang}).raise_for_status()
        store = xliff2.Xliff2File.parsestring(exported.content)
        for unit in store.units:
            if not unit.isheader():
                unit.target = pseudo_translate(unit.source, lang, 1.3, seed=unit.getid())
        r = c.post(f"/v1/jobs/{job_id}/translations", files={"file": (f"{lang}.xlf", bytes(store))},
                   data={"target_language": lang, "preview": "false"}, timeout=180)  # loads MiniLM
        assert r.status_code == 201, r.text
        report: dict[str, Any] = c.get(f"/v1/jobs/{job_id}/files/translation.{lang}.json").raise_for_status().json()
    return report


def _subtitle_tracks(page: Any) -> list[list[str]]:
    """The player's subtitle tracks (on-screen text left out), in order: [label, language, mode]."""
    tracks: list[list[str]] = _video(page, "[...v.querySelectorAll('track[data-role=subtitles]')]"
                                           ".map((t) => [t.label, t.srclang, t.track.mode])")
    return tracks


def _ready(page: Any) -> None:
    from playwright.sync_api import expect

    page.reload()
    expect(page.locator("#job-panel")).to_have_attribute("data-ready", "true", timeout=60_000)


def _cue_texts(page: Any, label: str) -> list[str]:
    """The cues of the track labelled ``label``, once loaded (its mode may be hidden)."""
    find = "[...document.getElementById('video').textTracks].find((t) => t.label === l)"
    page.wait_for_function(f"(l) => {{ const t = {find}; return t && t.cues && t.cues.length > 0; }}", arg=label)
    texts: list[str] = page.evaluate(f"(l) => [...{find}.cues].map((c) => c.text)", label)
    return texts


def _vtt_texts(server: ServerProcess, job_id: str, name: str) -> list[str]:
    with server.client(KEY) as c:
        text = c.get(f"/v1/jobs/{job_id}/files/{name}").raise_for_status().text
    return [cue.text for cue in webvtt.from_string(text).captions]


def test_an_imported_translation_is_offered_on_the_player(
        start_server: Callable[..., ServerProcess], samples: Path, browser: Browser) -> None:  # noqa: F811
    from playwright.sync_api import expect

    server = start_server(api_keys=KEYS)
    page = browser.page
    page.goto(server.url)
    job_id = _upload(page, samples / "lesson.mp4", ["subtitles"])
    expect(page.locator("#language-switch")).to_be_hidden()  # nothing imported yet

    report = _import_pseudo(server, job_id, "de")
    assert report["cues"] and "captions" not in report  # no burned-in captions: no caption track

    _ready(page)
    switch = page.locator("#subtitle-language")
    expect(page.locator("#language-switch")).to_be_visible()
    expect(switch.locator("option")).to_have_count(2)
    page.wait_for_function("() => document.getElementById('video').textTracks.length === 2")
    assert _video(page, "[...v.textTracks].map((t) => t.language)") == ["en", "de"]
    assert _video(page, "[...v.textTracks].map((t) => t.mode)") == ["showing", "hidden"]

    switch.select_option("de")
    assert _video(page, "[...v.textTracks].map((t) => t.mode)") == ["hidden", "showing"]
    lines = page.locator("#transcript button.line .text")
    expect(lines).to_have_count(len(report["cues"]))
    expect(lines.first).to_have_text(" ".join(report["cues"][0]["lines"]))
    page.wait_for_function("() => { const t = document.getElementById('video').textTracks[1];"
                           " return t.cues && t.cues.length > 0; }")
    assert _video(page, "v.textTracks[1].cues.length") == len(report["cues"])

    switch.select_option("en")  # back: the source track and transcript again
    assert _video(page, "[...v.textTracks].map((t) => t.mode)") == ["showing", "hidden"]
    assert browser.errors == []


def _captioned(tmp_path: Path, audio: Path | None = None) -> Path:
    """A clip of CAPTIONS burned in (0.5-7.5 s), silent, or with ``audio``'s first seconds as its sound."""
    from bench.caption_clips import Caption, make_clip

    clip = make_clip(tmp_path / "captioned.mp4",
                     tuple(Caption(0.5 + 2.5 * n, 2.5 + 2.5 * n, (text,)) for n, text in enumerate(CAPTIONS)))
    if audio is None:
        return clip
    spoken = tmp_path / "captioned-spoken.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-i", str(audio), "-map", "0:v", "-map", "1:a",
                    "-shortest", "-c:v", "copy", "-c:a", "aac", str(spoken)], check=True)
    return spoken


def _captions_read(server: ServerProcess, job_id: str) -> int:
    with server.client(KEY) as c:
        hardsubs = c.get(f"/v1/jobs/{job_id}/files/ocr.json").raise_for_status().json()["hardsubs"]
    assert hardsubs["cues"], "no burned-in caption was read off the clip"
    return len(hardsubs["cues"])


@pytest.mark.slow
def test_a_translation_of_captions_alone_is_a_caption_track(
        start_server: Callable[..., ServerProcess], browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    """A silent video with burned-in captions: its translation has captions only (no
    subtitles.<lang>.vtt), and the player still offers them, as a track labelled as captions."""
    from playwright.sync_api import expect

    server = start_server(api_keys=KEYS)
    page = browser.page
    page.goto(server.url)
    job_id = _upload(page, _captioned(tmp_path), ["ocr"])
    report = _import_pseudo(server, job_id, "de")
    assert not report["cues"] and len(report["captions"]) == _captions_read(server, job_id)
    with server.client(KEY) as c:
        listed = c.get(f"/v1/jobs/{job_id}/translations").raise_for_status().json()
    names = {f["name"] for f in listed["languages"]["de"]["files"]}
    assert "hardsubs.de.vtt" in names and "subtitles.de.vtt" not in names

    _ready(page)
    label = "Burned-in captions (de, translated)"
    assert _subtitle_tracks(page) == [["Burned-in captions", "und-x-burned", "showing"],
                                      [label, "de-x-burned", "hidden"]]
    translated = _cue_texts(page, label)
    assert translated == _vtt_texts(server, job_id, "hardsubs.de.vtt")  # its source is the translated captions
    assert translated != _cue_texts(page, "Burned-in captions")
    switch = page.locator("#subtitle-language")
    expect(page.locator("#language-switch")).to_be_visible()
    expect(switch.locator("option")).to_have_text(["Burned-in captions", label])

    switch.select_option("de-x-burned")
    assert [mode for *_, mode in _subtitle_tracks(page)] == ["hidden", "showing"]
    expect(page.locator("#transcript button.line .text")).to_have_text(
        [" ".join(cue["lines"]) for cue in report["captions"]])
    assert browser.errors == []


@pytest.mark.slow
def test_a_translation_of_subtitles_and_captions_offers_both(
        start_server: Callable[..., ServerProcess], samples: Path, browser: Browser,  # noqa: F811
        tmp_path: Path) -> None:
    """Speech and burned-in captions: the translated subtitles follow the source subtitles, the
    translated captions the source captions, each labelled for what it translates."""
    from playwright.sync_api import expect

    server = start_server(api_keys=KEYS)
    page = browser.page
    page.goto(server.url)
    job_id = _upload(page, _captioned(tmp_path, samples / "lesson.mp4"), ["subtitles", "ocr"])
    report = _import_pseudo(server, job_id, "de")
    assert report["cues"] and len(report["captions"]) == _captions_read(server, job_id)

    _ready(page)
    assert _subtitle_tracks(page) == [["Subtitles (en)", "en", "showing"],
                                      ["Subtitles (de, translated)", "de", "hidden"],
                                      ["Burned-in captions", "und-x-burned", "hidden"],
                                      ["Burned-in captions (de, translated)", "de-x-burned", "hidden"]]
    assert _cue_texts(page, "Subtitles (de, translated)") == _vtt_texts(server, job_id, "subtitles.de.vtt")
    assert _cue_texts(page, "Burned-in captions (de, translated)") == _vtt_texts(server, job_id, "hardsubs.de.vtt")

    switch = page.locator("#subtitle-language")
    lines = page.locator("#transcript button.line .text")
    switch.select_option("de-x-burned")
    assert [mode for *_, mode in _subtitle_tracks(page)] == ["hidden", "hidden", "hidden", "showing"]
    expect(lines).to_have_text([" ".join(cue["lines"]) for cue in report["captions"]])
    switch.select_option("de")
    assert [mode for *_, mode in _subtitle_tracks(page)] == ["hidden", "showing", "hidden", "hidden"]
    expect(lines).to_have_text([" ".join(cue["lines"]) for cue in report["cues"]])
    assert browser.errors == []
