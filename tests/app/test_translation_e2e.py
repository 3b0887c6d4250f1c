"""The translation round trip through a real server: export, import, a signed ``translation.merged``
webhook to a real receiver, and the preview rendered after the answer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from translate.storage import xliff2

from pipelines.translation.pseudo import pseudo_translate
from tests.app.receiver import Receiver
from tests.app.server_proc import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SECRET = "e2e-secret"


def test_import_announces_the_merge_and_renders_the_preview(
        start_server: Callable[..., ServerProcess], samples: Path) -> None:
    server = start_server(webhook_secret=SECRET, allow_private_urls="true")
    data = (samples / "lesson.mp4").read_bytes()
    with server.client() as c, Receiver(SECRET) as receiver:
        r = c.post("/v1/jobs", files={"file": ("lesson.mp4", data, "video/mp4")},
                   data={"stages": "subtitles", "webhook_url": receiver.url})
        assert r.status_code == 201, r.text
        job_id = r.json()["id"]
        server.wait_job(c, job_id, lambda j: j["status"] == "succeeded" and j["webhook_state"] == "delivered", 240)

        exported = c.get(f"/v1/jobs/{job_id}/files/translation.xlf", params={"target": "fr"})
        assert exported.status_code == 200, exported.text
        store = xliff2.Xliff2File.parsestring(exported.content)
        for unit in store.units:
            if not unit.isheader():
                unit.target = pseudo_translate(unit.source, "fr", 1.3, seed=unit.getid())
        r = c.post(f"/v1/jobs/{job_id}/translations", files={"file": ("fr.xlf", bytes(store))},
                   data={"target_language": "fr"}, timeout=240)
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["preview"] == f"rendering: /v1/jobs/{job_id}/files/preview.fr.mp4"

        deadline = time.monotonic() + 60
        while not any(e["body"]["type"] == "translation.merged" for e in receiver.received):
            assert time.monotonic() < deadline, receiver.received
            time.sleep(0.2)
        event = next(e for e in receiver.received if e["body"]["type"] == "translation.merged")
        assert event["valid"] and event["body"]["data"]["language"] == "fr"
        assert event["body"]["data"]["counts"] == body["counts"]

        deadline = time.monotonic() + 180
        while True:
            files = {f["name"] for f in c.get(f"/v1/jobs/{job_id}/translations").json()["languages"]["fr"]["files"]}
            if "preview.fr.mp4" in files:
                break
            assert time.monotonic() < deadline, files
            time.sleep(1)
        preview = c.get(f"/v1/jobs/{job_id}/files/preview.fr.mp4")
        assert preview.status_code == 200 and preview.headers["content-type"] == "video/mp4"
        assert preview.content[4:8] == b"ftyp" and len(preview.content) > 10_000
        report = c.get(f"/v1/jobs/{job_id}/files/translation.fr.json").json()
        assert json.dumps(report["counts"]) == json.dumps(body["counts"])
