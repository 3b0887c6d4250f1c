"""The web page's language switch, in Debian's Chromium against a real server: a translation
imported through the API shows up as a subtitle track the viewer can switch to, with its
transcript."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from translate.storage import xliff2

from pipelines.translation.pseudo import pseudo_translate
from tests.app.server_proc import ServerProcess
from tests.app.test_web import KEY, KEYS, Browser, _upload, _video, browser  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e


def test_an_imported_translation_is_offered_on_the_player(
        start_server: Callable[..., ServerProcess], samples: Path, browser: Browser) -> None:  # noqa: F811
    from playwright.sync_api import expect

    server = start_server(api_keys=KEYS)
    page = browser.page
    page.goto(server.url)
    job_id = _upload(page, samples / "lesson.mp4", ["subtitles"])
    expect(page.locator("#language-switch")).to_be_hidden()  # nothing imported yet

    with server.client(KEY) as c:
        exported = c.get(f"/v1/jobs/{job_id}/files/translation.xlf", params={"target": "de"}).raise_for_status()
        store = xliff2.Xliff2File.parsestring(exported.content)
        for unit in store.units:
            if not unit.isheader():
                unit.target = pseudo_translate(unit.source, "de", 1.3, seed=unit.getid())
        r = c.post(f"/v1/jobs/{job_id}/translations", files={"file": ("de.xlf", bytes(store))},
                   data={"target_language": "de", "preview": "false"}, timeout=180)  # loads MiniLM
        assert r.status_code == 201, r.text
        report = c.get(f"/v1/jobs/{job_id}/files/translation.de.json").raise_for_status().json()

    page.reload()
    panel = page.locator("#job-panel")
    expect(panel).to_have_attribute("data-ready", "true", timeout=60_000)
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
