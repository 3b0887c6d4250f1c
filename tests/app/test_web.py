"""The web page in a real browser: Debian's Chromium driven by Playwright, against a real uvicorn
server on loopback with API keys on. Uploads the sample lesson through the page, waits for the
job, checks the subtitle track and the transcript against the job's files and the known
narration, and saves a screenshot."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import webvtt

from tests.app.server_proc import ServerProcess

pytestmark = pytest.mark.e2e
StartServer = Callable[..., ServerProcess]

CHROMIUM = Path("/usr/bin/chromium")
# As root in a container without a network: no sandbox, no GPU, nothing that phones home.
# Playwright gives every launch a new, empty profile of its own (it refuses --user-data-dir).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KEY, OTHER_KEY = "web-test-key", "other-test-key"
KEYS = f"web:{KEY},other:{OTHER_KEY}"
JOB_TIMEOUT_MS = 240_000


@dataclass
class Browser:
    """A page of a fresh Chromium profile and the JavaScript errors it raised."""

    page: Any
    errors: list[str] = field(default_factory=list)


def _seconds(timestamp: str) -> float:
    """A WebVTT timestamp (``00:00:09.850``) in seconds (webvtt-py's own helper drops the fraction)."""
    *hm, sec = timestamp.split(":")
    return sum(int(part) * 60 ** (len(hm) - i) for i, part in enumerate(hm)) + float(sec)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    """Debian's Chromium (never a browser Playwright downloads) in a new, empty profile."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") or os.environ.get("LESSONLENS_TEST_SERVICES") == "required":  # .ci/run
            pytest.fail(f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (scripts/setup does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            tmp_path / "chromium-profile", executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 1000})
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(30_000)
        b = Browser(page)
        page.on("pageerror", lambda e: b.errors.append(f"uncaught: {e}"))
        # Failed requests (the 401 before a key is saved) are logged as console errors; those are expected.
        page.on("console", lambda m: b.errors.append(f"console: {m.text}")
                if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        try:
            yield b
        finally:
            context.close()


def _video(page: Any, expression: str, *args: Any) -> Any:
    """Evaluate ``expression`` with ``v`` bound to the page's <video>."""
    return page.evaluate(f"(arg) => {{ const v = document.getElementById('video'); return {expression}; }}",
                         args[0] if args else None)


def _upload(page: Any, media: Path, stages: list[str], language: str = "en") -> str:
    """Save the key, upload ``media`` with ``stages`` (spoken ``language``) through the form, wait for
    the job; its id."""
    from playwright.sync_api import expect

    page.get_by_label("API key").fill(KEY)
    page.get_by_role("button", name="Save key").click()
    page.get_by_label("choose a video file").set_input_files(media)
    expect(page.locator("#file-name")).to_contain_text(media.name)
    expect(page.locator("#stage-options input[value=subtitles]")).to_have_count(1)  # config loaded
    for box in page.locator("#stage-options input[type=checkbox]").all():
        box.set_checked(box.get_attribute("value") in stages)
    page.get_by_label("Spoken language").select_option(language)
    panel = page.locator("#job-panel")
    before = panel.get_attribute("data-job-id")  # a job shown already: wait for the new one
    page.get_by_role("button", name="Upload and start").click()

    if before:
        expect(panel).not_to_have_attribute("data-job-id", before, timeout=JOB_TIMEOUT_MS)
    expect(panel).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    expect(panel).to_have_attribute("data-ready", "true")
    job_id = panel.get_attribute("data-job-id")
    assert job_id and re.fullmatch(r"job_[0-9a-f]{20}", job_id)
    expect(page.locator(f'#job-list li[data-job-id="{job_id}"] .badge')).to_have_text("succeeded")
    return job_id


def test_upload_play_subtitles_and_seek_from_transcript(start_server: StartServer, samples: Path,
                                                        browser: Browser, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    server = start_server(api_keys=KEYS)
    page = browser.page
    page.goto(server.url)
    expect(page.locator("#key-status")).to_contain_text("needs an API key")  # auth is on

    # Drag and drop: a file dropped on the box is taken (the upload below uses the file input).
    page.locator("#drop").dispatch_event("drop", {"dataTransfer": page.evaluate_handle(
        "() => { const d = new DataTransfer(); d.items.add(new File(['x'], 'dropped.mp4')); return d; }")})
    expect(page.locator("#file-name")).to_contain_text("dropped.mp4")

    job_id = _upload(page, samples / "lesson.mp4", ["subtitles"])
    with server.client(KEY) as c:
        vtt_text = c.get(f"/v1/jobs/{job_id}/files/subtitles.vtt").raise_for_status().text
    cues: list[Any] = list(webvtt.from_string(vtt_text).captions)
    assert len(cues) >= 3, vtt_text

    # The player plays the uploaded source (fetched with the key) with the subtitles as its first track.
    assert _video(page, "v.error") is None
    assert abs(_video(page, "v.duration") - 32.88) < 0.5
    page.wait_for_function("() => { const t = document.getElementById('video').textTracks[0];"
                           " return t && t.cues && t.cues.length > 0; }")
    assert _video(page, "v.textTracks[0].label").startswith("Subtitles")
    assert _video(page, "v.textTracks[0].mode") == "showing"
    assert _video(page, "v.textTracks[0].cues.length") == len(cues)

    # A subtitle cue at a known time: inside the first cue, the track shows that cue's text.
    first = cues[0]
    middle = (_seconds(first.start) + _seconds(first.end)) / 2
    _video(page, "(v.currentTime = arg, true)", middle)
    page.wait_for_function(
        "(t) => { const v = document.getElementById('video'); const a = v.textTracks[0].activeCues;"
        " return !v.seeking && Math.abs(v.currentTime - t) < 0.05 && a && a.length > 0; }", arg=middle)
    shown = _video(page, "[...v.textTracks[0].activeCues].map((c) => c.text).join('\\n')")
    assert _words(shown) == _words(first.text)
    narration = json.loads((samples / "lesson.json").read_text())["slides"][0]["narration"]
    said = set(_words(narration))
    assert sum(w in said for w in _words(shown)) >= 0.8 * len(_words(shown)), (shown, narration)
    expect(page.locator("#transcript li.current .text")).to_have_text(" ".join(first.lines))

    # The transcript: one line per cue; a click on a line seeks there and highlights it.
    lines = page.locator("#transcript button.line")
    expect(lines).to_have_count(len(cues))
    target = cues[2]
    lines.nth(2).click()
    page.wait_for_function("(t) => Math.abs(document.getElementById('video').currentTime - t) < 0.1",
                           arg=_seconds(target.start))
    expect(page.locator("#transcript li.current button")).to_have_attribute("data-start", re.compile(r"."))
    expect(page.locator("#transcript li.current .text")).to_have_text(" ".join(target.lines))

    # By keyboard: Shift+Tab to the line before (its focus is visible), Enter plays from there.
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.dataset.start") == lines.nth(1).get_attribute("data-start")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    page.wait_for_function("(t) => Math.abs(document.getElementById('video').currentTime - t) < 0.1",
                           arg=_seconds(cues[1].start))

    # Downloads list the job's files (SRT, WebVTT, JSON) and the whole result.
    downloads = page.locator("#downloads a")
    for name in ("subtitles.srt", "subtitles.vtt", "subtitles.json", "result.json"):
        expect(downloads.filter(has_text=name)).to_have_count(1)
    with page.expect_download() as info:
        downloads.filter(has_text="subtitles.srt").click()
    saved = tmp_path / "downloaded.srt"
    info.value.save_as(saved)
    assert saved.read_text().startswith("1\n") and "-->" in saved.read_text()

    _video(page, "(v.currentTime = arg, true)", middle)
    page.wait_for_function("() => { const v = document.getElementById('video');"
                           " return !v.seeking && v.readyState >= 2 && v.textTracks[0].activeCues.length > 0; }")
    shot = tmp_path / "web-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert browser.errors == []


@pytest.mark.slow
def test_every_stage_shows_its_section(start_server: StartServer, samples: Path, browser: Browser,
                                       tmp_path: Path) -> None:
    """All four stages: the on-screen text track and events, the verdict and evidence, the fit report."""
    from playwright.sync_api import expect

    server = start_server(api_keys=KEYS)
    page = browser.page
    page.goto(server.url)
    job_id = _upload(page, samples / "lesson.mp4", ["subtitles", "ocr", "classify", "fit"])
    with server.client(KEY) as c:
        ocr = c.get(f"/v1/jobs/{job_id}/files/ocr.json").raise_for_status().json()
        verdict = c.get(f"/v1/jobs/{job_id}/files/classification.json").raise_for_status().json()
        fit = c.get(f"/v1/jobs/{job_id}/files/fit_report.json").raise_for_status().json()

    # With a key, the video streams from a signed link (a <video> cannot send the key), not a blob.
    src = _video(page, "v.currentSrc")
    assert f"/v1/jobs/{job_id}/source?" in src and "signature=" in src and KEY not in src, src
    # The on-screen text is the second track: at a time inside slide 2 it holds that slide's title.
    slides = json.loads((samples / "lesson.json").read_text())["slides"]
    assert _video(page, "v.textTracks.length") == 2
    assert _video(page, "v.textTracks[1].label") == "On-screen text"
    at = (slides[1]["start"] + slides[1]["end"]) / 2
    _video(page, "(v.currentTime = arg, true)", at)
    page.wait_for_function("(t) => { const v = document.getElementById('video'); const a = v.textTracks[1].activeCues;"
                           " return !v.seeking && Math.abs(v.currentTime - t) < 0.05 && a && a.length > 0; }", arg=at)
    screen = _video(page, "[...v.textTracks[1].activeCues].map((c) => c.text).join(' ')")
    assert _words(slides[1]["title"])[0] in _words(screen), screen
    page.get_by_label("Show on-screen text").check()
    assert _video(page, "v.textTracks[1].mode") == "showing"

    events = sorted((e for e in ocr["events"] if e["text"]), key=lambda e: e["start"])
    rows = page.locator("#ocr-events tr")
    expect(rows).to_have_count(len(events))  # listed by time
    expect(page.locator("#ocr-events")).to_contain_text(slides[1]["title"])
    expect(rows.last.locator("td .text")).to_have_text(events[-1]["text"])
    rows.last.locator("button.seek").click()
    page.wait_for_function("(t) => Math.abs(document.getElementById('video').currentTime - t) < 0.1",
                           arg=events[-1]["start"])

    label = "Learning content" if verdict["label"] == "learning" else "Not learning content"
    expect(page.locator("#verdict strong")).to_have_text(label)
    shown_percent = math.floor(100 * verdict["probability"] + 0.5)  # as JavaScript's toFixed(0) rounds
    expect(page.locator("#verdict")).to_contain_text(f"P(learning) {shown_percent}%")
    expect(page.locator("#evidence-for li q")).to_have_count(len(verdict["evidence_for"]))
    expect(page.locator("#evidence-against li q")).to_have_count(len(verdict["evidence_against"]))

    counts = fit["counts"]
    expect(page.locator("#fit-summary")).to_have_text(
        f"{counts['ok']} cues fitted already, {counts['shortened']} shortened, {counts['over']} still too long.")
    changed = [cue for cue in fit["cues"] if cue["status"] != "ok"]
    expect(page.locator("#fit-cues tr")).to_have_count(max(1, len(changed)))
    for name in ("ocr.vtt", "ocr.json", "classification.json", "fit_report.json"):
        expect(page.locator("#downloads a").filter(has_text=name)).to_have_count(1)
    expect(page.locator("#skipped-section")).to_be_hidden()
    page.screenshot(path=str(tmp_path / "web-page-all-stages.png"), full_page=True)

    # Delete, once dismissed (nothing happens) and once confirmed (the job and its files are gone).
    delete = page.locator("#job-delete")
    expect(delete).to_be_visible()
    page.once("dialog", lambda d: d.dismiss())
    delete.click()
    expect(page.locator("#job-panel")).to_be_visible()
    with server.client(KEY) as c:
        assert c.get(f"/v1/jobs/{job_id}").status_code == 200
    page.once("dialog", lambda d: d.accept())
    delete.click()
    expect(page.locator("#job-panel")).to_be_hidden()
    expect(page.locator("#jobs-message")).to_contain_text("Deleted lesson.mp4.")
    expect(page.locator(f"#job-list li[data-job-id='{job_id}']")).to_have_count(0)
    with server.client(KEY) as c:
        assert c.get(f"/v1/jobs/{job_id}").status_code == 404
        assert c.get(f"/v1/jobs/{job_id}/files/ocr.json").status_code == 404
    assert browser.errors == []


def test_source_route_streams_to_the_owner_only(start_server: StartServer, samples: Path) -> None:
    server = start_server(api_keys=KEYS)
    data = (samples / "lesson.mp4").read_bytes()
    with server.client(KEY) as c:
        r = c.post("/v1/jobs", files={"file": ("lesson.mp4", data, "video/mp4")},
                   data={"stages": "subtitles"})
        assert r.status_code == 201, r.text
        job_id = r.json()["id"]
        url = f"/v1/jobs/{job_id}/source"
        full = c.get(url)
        assert full.status_code == 200 and full.content == data
        assert full.headers["content-type"] == "video/mp4"
        part = c.get(url, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == data[100:200]
        r = c.post("/v1/jobs", files={"file": ("lesson.txt", data, "text/plain")}, data={"stages": "subtitles"})
        named_txt = c.get(f"/v1/jobs/{r.json()['id']}/source")  # served as what the probe found (was text/plain)
        assert named_txt.content == data
        assert named_txt.headers["content-type"] == "video/mp4"
    assert httpx.get(server.url + url).json()["error"]["code"] == "unauthorized"
    with server.client(OTHER_KEY) as other:
        assert other.get(url).status_code == 403
        assert other.get("/v1/jobs/job_00000000000000000000/source").status_code == 404


def test_page_and_assets_are_served(start_server: StartServer) -> None:
    server = start_server(api_keys=KEYS)
    with httpx.Client(base_url=server.url) as c:
        page = c.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        for src in re.findall(r'(?:src|href)="(/web/[^"]+)"', page.text):
            assert c.get(src).status_code == 200, src
        assert c.get("/web/app.js").headers["content-type"].startswith("text/javascript")
        assert c.get("/web/..%2Fmain.py").status_code == 404
        assert c.get("/web/index.html").status_code == 404  # only scripts and styles under /web/
        config = c.get("/web/config.json").json()
        stages = c.get("/v1/stages").json()  # open, like the page: it is what the form offers
        assert config["subtitle_stage"] in [s["name"] for s in stages["stages"]]
        assert config["default_profile"] in [p["name"] for p in config["profiles"]]


@pytest.mark.slow
def test_burned_in_captions_are_a_subtitle_track(start_server: StartServer, browser: Browser, tmp_path: Path) -> None:
    """A video with burned-in captions and no speech: the captions read off its frames are the
    player's subtitle track and its transcript."""
    from playwright.sync_api import expect

    from bench.caption_clips import Caption, make_clip

    captions = (Caption(0.5, 2.5, ("Open the settings page",)), Caption(3.0, 5.0, ("Choose a new password",)))
    clip = make_clip(tmp_path / "captioned.mp4", captions)
    server = start_server(api_keys=KEYS)
    page = browser.page
    page.goto(server.url)
    job_id = _upload(page, clip, ["ocr"])
    with server.client(KEY) as c:
        hardsubs = c.get(f"/v1/jobs/{job_id}/files/ocr.json").raise_for_status().json()["hardsubs"]
    assert [cue["text"] for cue in hardsubs["cues"]] == [c.lines[0] for c in captions]

    assert _video(page, "v.textTracks[0].label") == "Burned-in captions"
    assert _video(page, "v.textTracks[0].mode") == "showing"
    at = 4.0
    _video(page, "(v.currentTime = arg, true)", at)
    page.wait_for_function("(t) => { const v = document.getElementById('video'); const a = v.textTracks[0].activeCues;"
                           " return !v.seeking && Math.abs(v.currentTime - t) < 0.05 && a && a.length > 0; }", arg=at)
    assert _video(page, "[...v.textTracks[0].activeCues].map((c) => c.text).join(' ')") == "Choose a new password"
    expect(page.locator("#transcript li")).to_have_count(2)
    expect(page.locator("#transcript")).to_contain_text("Open the settings page")
    assert browser.errors == []


@pytest.mark.slow
def test_a_cue_spoken_in_another_language_says_so_in_the_transcript(start_server: StartServer, browser: Browser,
                                                                    testdata: Path, tmp_path: Path) -> None:
    """Real speech, the MIT licence read in English then in German, under a black picture, the
    language left to Whisper: the German cues are marked in the transcript, the English not; in
    English only, the transcript warns of the German speech."""
    import subprocess

    from playwright.sync_api import expect

    video = tmp_path / "bilingual.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=160x120:r=5",
                    "-i", str(testdata / "audio" / "fw_multilingual.mp3"), "-shortest", "-c:v", "libx264",
                    "-c:a", "aac", str(video)], check=True)
    server = start_server(api_keys=KEYS)
    page = browser.page
    page.goto(server.url)
    _upload(page, video, ["subtitles"], language="auto")
    lines = page.locator("#transcript li")
    expect(lines.first).to_contain_text("Permission")
    marked = page.locator("#transcript li:has(.lang)")
    expect(marked.first).to_contain_text("spoken in de")
    assert lines.first.locator(".lang").count() == 0
    assert 3 <= marked.count() < lines.count()
    assert marked.first.locator(".text").get_attribute("lang") == "de"
    # No language is doubted with the language left to Whisper. (Speech left without text may be:
    # at the switch, in some runs, Whisper's fallback sampling hears nothing in 2.3 s of it.)
    warning = page.locator("#transcript-warning")
    assert warning.is_hidden() or "sound" not in warning.inner_text()
    # In English only (the default), the German half has no text, and the page says why.
    english = _upload(page, video, ["subtitles"], language="en")
    with server.client(KEY) as c:
        assert c.get(f"/v1/jobs/{english}").json()["options"]["subtitles"]["language"] == "en"
    warning = page.locator("#transcript-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("sounds like de")  # left without text, or written as English words
    assert page.locator("#transcript .lang").count() == 0
    assert browser.errors == []


@pytest.mark.slow
def test_speech_surely_not_in_the_language_asked_is_said_so_on_the_page(start_server: StartServer, browser: Browser,
                                                                        testdata: Path) -> None:
    """Real speech, a 4 s Korean drama line, transcribed in English (the default): whisper-base is
    unsure which language it is but sure it is not English, and the page says so."""
    from playwright.sync_api import expect

    server = start_server(api_keys=KEYS)
    page = browser.page
    page.goto(server.url)
    _upload(page, testdata / "video" / "emk_kdrama_en.mp4", ["subtitles"], language="en")
    warning = page.locator("#transcript-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("does not sound like en")
    expect(warning).to_contain_text("spoken language set to Detect")
    # Detected, it is a guess (Polish at 0.27), and the page says that too
    _upload(page, testdata / "video" / "emk_kdrama_en.mp4", ["subtitles"], language="auto")
    expect(warning).to_contain_text("unsure which language this is")
    assert browser.errors == []


@pytest.mark.slow
def test_on_screen_text_partly_hidden_is_marked_and_says_why(start_server: StartServer, browser: Browser,
                                                             testdata: Path) -> None:
    """The real JupyterHub recording: the launcher's labels, their lower third under a bar, are
    marked "cut" in the on-screen text table, with why on hover; whole lines are not marked."""
    from playwright.sync_api import expect

    server = start_server(api_keys=KEYS)
    page = browser.page
    page.goto(server.url)
    _upload(page, testdata / "video" / "screencast_jupyterhub_quota.mp4", ["ocr"])
    rows = page.locator("#ocr-events tr")
    expect(rows.first).to_be_visible()
    marked = page.locator("#ocr-events tr:has(.flags:text('cut'))")
    assert marked.count() >= 4
    assert "hidden on screen" in (marked.first.locator(".flags").get_attribute("title") or "")
    whole = page.locator("#ocr-events tr:has(.text:text-is('Compute memory quota limit exceeded.'))")
    expect(whole).to_have_count(1)
    assert whole.locator(".flags").count() == 0
    assert browser.errors == []


@pytest.mark.slow
def test_captions_asked_for_but_not_found_say_why(start_server: StartServer, browser: Browser, tmp_path: Path) -> None:
    """A job that asked for burned-in captions (``hardsubs`` ``on``, through the API) of a video
    that has none: the page says none were read and why, not that a stage did not finish."""
    import subprocess

    from playwright.sync_api import expect

    clip = tmp_path / "plain.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=10", "-t", "2",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)], check=True)
    server = start_server(api_keys=KEYS)
    with server.client(KEY) as c:
        with clip.open("rb") as f:
            job_id = c.post("/v1/jobs", files={"file": ("plain.mp4", f)},
                            data={"stages": "ocr", "options": json.dumps({"ocr": {"hardsubs": "on"}})}).json()["id"]
        job = server.wait_job(c, job_id, lambda j: j["status"] in ("succeeded", "failed"))
        reason = c.get(f"/v1/jobs/{job_id}/files/ocr.json").raise_for_status().json()["hardsubs"]["reason"]
    summary = job["stage_states"]["ocr"]["summary"]  # the job itself says why, not "hardsubs: 0" alone
    assert reason and summary["hardsubs"] == 0 and summary["hardsubs_reason"] == reason
    page = browser.page
    page.goto(server.url)
    page.get_by_label("API key").fill(KEY)
    page.get_by_role("button", name="Save key").click()
    page.goto(f"{server.url}/#job/{job_id}")
    expect(page.locator("#job-panel")).to_have_attribute("data-ready", "true")
    expect(page.locator("#transcript")).to_contain_text(f"No burned-in captions were read: {reason}.")
    expect(page.locator("#ocr-summary")).to_contain_text(f"no burned-in captions ({reason})")
    assert browser.errors == []
