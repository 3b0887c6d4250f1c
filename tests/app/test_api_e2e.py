"""End to end through a real uvicorn server on loopback: the real pipeline, a real webhook receiver,
a real crash (SIGKILL) and restart, every bad input, auth and limits, and schemathesis."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.receiver import Receiver
from tests.app.server_proc import ServerProcess, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # real servers: not in the unit tier (-m "not slow")
SECRET = "e2e-secret"
StartServer = Callable[..., ServerProcess]


def _terminal(job: dict[str, Any]) -> bool:
    return job["status"] in ("succeeded", "failed", "cancelled")


def _error(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "detail"}, body
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


def _events(client: httpx.Client, job_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Read the job's Server-Sent Events until ``end``."""
    events: list[tuple[str, dict[str, Any]]] = []
    name = ""
    with client.stream("GET", f"/v1/jobs/{job_id}/events", timeout=120) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line.split(":", 1)[1])))
                if name == "end":
                    break
    return events


def test_lifecycle_real_pipeline_with_signed_webhook_retry(start_server: StartServer, media_dir: Path) -> None:
    server = start_server(webhook_secret=SECRET, allow_private_urls="true", webhook_backoff_s="0.2")
    data = (media_dir / "speech.mp4").read_bytes()
    form = {"stages": "subtitles", "options": json.dumps({"subtitles": {"language": "en"}}),
            "metadata": json.dumps({"course": "safety-101"})}
    with server.client() as c, Receiver(SECRET, statuses=[500]) as receiver:
        form["webhook_url"] = receiver.url
        r = c.post("/v1/jobs", files={"file": ("speech.mp4", data, "video/mp4")}, data=form,
                   headers={"Idempotency-Key": "lesson-1"})
        assert r.status_code == 201, r.text
        job_id = r.json()["id"]
        assert r.headers["location"] == f"/v1/jobs/{job_id}"
        assert r.json()["source"]["location"] is None  # no server paths leak
        replay = c.post("/v1/jobs", files={"file": ("speech.mp4", data, "video/mp4")}, data=form,
                        headers={"Idempotency-Key": "lesson-1"})
        assert replay.status_code == 200 and replay.json()["id"] == job_id

        events = _events(c, job_id)
        assert events[-1] == ("end", {"status": "succeeded", "error": None})
        assert events[-2][1]["status"] == "succeeded"

        job = c.get(f"/v1/jobs/{job_id}").json()
        stage = job["stage_states"]["subtitles"]
        assert stage["status"] == "succeeded" and stage["seconds"] > 0 and job["progress"] == 1.0
        assert stage["summary"]["cues"] >= 1 and job["attempts"] == 1
        result = c.get(f"/v1/jobs/{job_id}/result").json()
        names = [f["name"] for f in result["stages"]["subtitles"]["files"]]
        assert {"subtitles.srt", "subtitles.vtt", "transcript.txt"} <= set(names)
        srt = c.get(f"/v1/jobs/{job_id}/files/subtitles.srt")
        assert srt.status_code == 200 and "-->" in srt.text
        assert any(w in srt.text.lower() for w in ("safety", "helmet", "factory"))
        assert c.get(f"/v1/jobs/{job_id}/files/subtitles.vtt").text.startswith("WEBVTT")
        _error(c.get(f"/v1/jobs/{job_id}/files/jobs.db"), 404, "not_found")
        listed = c.get("/v1/jobs", params={"status": "succeeded"}).json()
        assert [j["id"] for j in listed["jobs"]] == [job_id]

        delivered = server.wait_job(c, job_id, lambda j: j["webhook_state"] == "delivered", 30)
        assert [d["status_code"] for d in delivered["deliveries"]] == [500, 200]
        assert len(receiver.received) == 2 and all(r["valid"] for r in receiver.received)
        assert {r["headers"]["X-Lessonlens-Event-Id"] for r in receiver.received} == {f"evt_{job_id}_succeeded"}
        assert receiver.received[1]["body"]["data"]["metadata"] == {"course": "safety-101"}

        metrics = c.get("/metrics").text
        assert 'lessonlens_jobs_finished_total{status="succeeded"} 1.0' in metrics
        assert c.get("/readyz").json()["status"] == "ready"

        assert c.delete(f"/v1/jobs/{job_id}").status_code == 204
        _error(c.get(f"/v1/jobs/{job_id}"), 404, "not_found")
    assert not (server.data_dir / "results" / job_id).exists()
    assert not (server.data_dir / "inputs" / job_id).exists()


def _submit_lesson_and_kill_when_running(server: ServerProcess, lesson: Path, graceful: bool = False) -> str:
    with server.client() as c:
        r = c.post("/v1/jobs", files={"file": ("lesson.mp4", lesson.read_bytes(), "video/mp4")})
        assert r.status_code == 201, r.text
        job_id: str = r.json()["id"]
        server.wait_job(c, job_id, lambda j: j["stage_states"]["subtitles"]["status"] == "running")
    if graceful:
        server.stop()  # SIGTERM: the worker hands the job back
    else:
        server.kill()  # SIGKILL: a crash
    return job_id


def test_graceful_stop_hands_the_job_back_without_using_an_attempt(start_server: StartServer,
                                                                   long_lesson: Path) -> None:
    server = start_server(max_attempts="1")
    job_id = _submit_lesson_and_kill_when_running(server, long_lesson, graceful=True)
    assert f"{job_id}: handed back to the queue" in server.log()
    server.start()
    with server.client() as c:
        job = server.wait_job(c, job_id, _terminal)
    assert job["status"] == "succeeded" and job["attempts"] == 1, job


def test_job_killed_mid_run_is_retried_after_restart(start_server: StartServer, long_lesson: Path) -> None:
    server = start_server(max_attempts="3")
    job_id = _submit_lesson_and_kill_when_running(server, long_lesson)
    server.start()
    with server.client() as c:
        job = server.wait_job(c, job_id, _terminal)
    assert job["status"] == "succeeded" and job["attempts"] == 2, job
    assert job["stage_states"]["subtitles"]["summary"]["cues"] > 0


def test_job_killed_mid_run_fails_with_reason_when_out_of_attempts(start_server: StartServer,
                                                                   long_lesson: Path) -> None:
    server = start_server(max_attempts="1")
    job_id = _submit_lesson_and_kill_when_running(server, long_lesson)
    server.start()
    with server.client() as c:
        job = c.get(f"/v1/jobs/{job_id}").json()  # recovery runs before the server answers
    assert job["status"] == "failed" and "interrupted 1 time(s)" in job["error"], job


def _nothing_left(server: ServerProcess, c: httpx.Client) -> None:
    assert c.get("/v1/jobs").json()["jobs"] == []
    for sub in ("incoming", "inputs", "results"):
        assert list((server.data_dir / sub).iterdir()) == [], sub


def test_bad_inputs_get_clear_errors_and_leave_nothing(start_server: StartServer, media_dir: Path) -> None:
    server = start_server(api_keys="alice:ka,bob:kb", allowed_roots=str(media_dir), max_upload_mb="0.03",
                          webhook_secret=SECRET)
    up = lambda name: {"file": (name, (media_dir / name).read_bytes(), "video/mp4")}  # noqa: E731
    with server.client("ka") as c:
        _error(c.post("/v1/jobs", files=up("text.mp4")), 415, "unsupported_media")
        _error(c.post("/v1/jobs", files=up("truncated.mp4")), 415, "unsupported_media")
        _error(c.post("/v1/jobs", files=up("empty.mp4")), 422, "empty_file")
        too_large = _error(c.post("/v1/jobs", files=up("speech.mp4")), 413, "payload_too_large")
        assert "limit of 0.03 MB" in too_large["message"]  # said "0 MB"
        head = (b'--xx\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
                b"Content-Type: video/mp4\r\n\r\n")
        chunked = iter([head, *([b"\0" * 65536] * 24), b"\r\n--xx--\r\n"])  # 1.5 MB, no Content-Length
        _error(c.post("/v1/jobs", content=chunked, headers={"content-type": "multipart/form-data; boundary=xx"}),
               413, "payload_too_large")
        _error(c.post("/v1/jobs", json={"source": "../../etc/passwd"}), 403, "path_not_allowed")
        _error(c.post("/v1/jobs", json={"source": "/etc/passwd"}), 403, "path_not_allowed")
        _error(c.post("/v1/jobs", json={"source": "text.mp4"}), 415, "unsupported_media")
        _error(c.post("/v1/jobs", json={"source": "empty.mp4"}), 422, "empty_file")  # as the upload's (was 415)
        _error(c.post("/v1/jobs", json={"source": "http://127.0.0.1:9/x.mp4"}), 422, "url_not_allowed")
        _error(c.post("/v1/jobs", json={"source": "tone.mp4", "webhook_url": "http://127.0.0.1:9/h"}),
               422, "url_not_allowed")
        _error(c.post("/v1/jobs", json={"source": "tone.mp4", "stages": ["nope"]}), 422, "invalid_options")
        _error(c.post("/v1/jobs", json={"source": "tone.mp4", "options": {"subtitles": {"beam_size": 0}}}),
               422, "invalid_options")
        _error(c.post("/v1/jobs", json={"sauce": "tone.mp4"}), 422, "validation_error")
        _error(c.post("/v1/jobs", content=b"{not json", headers={"content-type": "application/json"}),
               422, "validation_error")
        _error(c.post("/v1/jobs", content=b"x", headers={"content-type": "text/plain"}), 415)
        _error(c.put("/v1/jobs"), 405, "method_not_allowed")
        _error(c.get("/v1/nothing-here"), 404, "not_found")
        _error(c.get("/v1/jobs/job_00000000000000000000"), 404, "not_found")
        assert "a job id is 'job_' and 20 hexadecimal digits" in _error(c.get("/v1/jobs/nope"), 404)["message"]
        bad_cursor = _error(c.get("/v1/jobs", params={"cursor": "garbage"}), 422, "invalid_cursor")
        assert "next_cursor of the previous page" in bad_cursor["message"]
        _nothing_left(server, c)
    with server.client() as anonymous, server.client("wrong") as wrong:
        _error(anonymous.get("/v1/jobs"), 401, "unauthorized")
        _error(wrong.post("/v1/jobs", json={"source": "tone.mp4"}), 401, "invalid_api_key")


def test_auth_queue_limit_and_cancel(start_server: StartServer, media_dir: Path, samples: Path,
                                     tmp_path: Path) -> None:
    root = tmp_path / "library"
    root.mkdir()
    shutil.copy(samples / "lesson.mp4", root / "lesson.mp4")
    shutil.copy(media_dir / "tone.mp4", root / "tone.mp4")
    server = start_server(api_keys="alice:ka,bob:kb", allowed_roots=str(root), queue_limit_per_key="1")
    with server.client("ka") as alice, server.client("kb") as bob:
        r = alice.post("/v1/jobs", json={"source": "lesson.mp4"})
        assert r.status_code == 201, r.text
        job_id = r.json()["id"]
        assert r.json()["owner"] == "alice"
        _error(alice.post("/v1/jobs", json={"source": "tone.mp4"}), 429, "too_many_jobs")
        _error(bob.get(f"/v1/jobs/{job_id}"), 403, "forbidden")
        _error(bob.post(f"/v1/jobs/{job_id}/cancel"), 403, "forbidden")
        assert bob.get("/v1/jobs").json()["jobs"] == []
        server.wait_job(alice, job_id, lambda j: j["status"] == "running")
        _error(alice.delete(f"/v1/jobs/{job_id}"), 409, "conflict")
        assert alice.post(f"/v1/jobs/{job_id}/cancel").status_code == 202
        job = server.wait_job(alice, job_id, _terminal, 60)
        assert job["status"] == "cancelled" and job["error"] == "cancelled by request"
        _error(alice.post(f"/v1/jobs/{job_id}/cancel"), 409, "conflict")
        link = alice.post(f"/v1/jobs/{job_id}/events-link").json()["url"]
        _error(bob.post(f"/v1/jobs/{job_id}/events-link"), 403, "forbidden")
        assert "ka" not in link.split("?")[1].split("&")[0] and "signature=" in link
    with server.client() as browser:  # EventSource cannot send headers: a signed link to /events
        events = browser.get(link)
        assert events.status_code == 200 and "event: end" in events.text
        _error(browser.get(link.replace("signature=", "signature=0")), 401, "invalid_link")
        _error(browser.get(link.replace("/events?", "/source?")), 401, "invalid_link")  # one resource only
        _error(browser.get(f"/v1/jobs/{job_id}/events", params={"access_token": "ka"}), 401, "unauthorized")
        _error(browser.get(f"/v1/jobs/{job_id}/events"), 401, "unauthorized")
        _error(browser.get(f"/v1/jobs/{job_id}", params={"access_token": "ka"}), 401, "unauthorized")
    with server.client("ka") as alice:
        assert alice.post("/v1/jobs", json={"source": "tone.mp4"}).status_code == 201  # slot free again


def test_schemathesis_finds_no_server_errors(start_server: StartServer, media_dir: Path,
                                             tmp_path: Path) -> None:
    root = tmp_path / "library"
    root.mkdir()
    shutil.copy(media_dir / "silent.mp4", root / "lesson.mp4")  # the schema's example source: real jobs
    server = start_server(allowed_roots=str(root), webhook_secret=SECRET)
    cli = Path(sys.executable).parent / "schemathesis"
    proc = subprocess.run(
        [str(cli), "run", f"{server.url}/openapi.json", "--checks", "not_a_server_error",
         "--max-examples", "8", "--phases", "examples,coverage,fuzzing,stateful", "--workers", "1",
         "--exclude-path", "/v1/jobs/{job_id}/events", "--suppress-health-check", "all", "--no-color",
         "--request-timeout", "120"],  # /v1/classify and /v1/fit load their models on first use
        capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:] + server.log()[-3000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout.split("SUMMARY")[-1]
    with server.client() as c:  # the schema's example made real jobs (later deleted through the links)
        assert 'lessonlens_jobs_submitted_total{source="path"}' in c.get("/metrics").text


def test_start_time_and_health(start_server: StartServer) -> None:
    server = start_server()
    server.stop()
    seconds = server.start()
    assert seconds < 30  # bench/bench_api.py reports the real figure (this box is shared)
    with server.client() as c:
        wait_for(lambda: c.get("/readyz").status_code == 200, 10, "readiness")
        assert c.get("/healthz").json() == {"status": "ok"}
    assert "loaded model" not in server.log()  # models load in the workers, on their first job
