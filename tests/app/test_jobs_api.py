"""Job routes (app.api.jobs) through FastAPI's test client: a finished job's files on disk, a real
LocalStorage, the store faked."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api import jobs as job_routes
from app.api.errors import install_error_handlers
from app.jobs import Job, JobStatus, Source, StageState, StageStatus
from app.settings import Settings
from app.storage import LocalStorage
from tests.app.test_translations_api import Store

JOB_ID = "job_" + "a" * 20
SRT = "1\n00:00:01,000 --> 00:00:03,000\nHello there.\n"


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    storage = LocalStorage(tmp_path / "data")
    (storage.results_dir(JOB_ID) / "subtitles.srt").write_text(SRT)
    job = Job(id=JOB_ID, owner="anonymous", source=Source("url", "https://example.invalid/lesson.mp4"),
              stages=("subtitles",), options={}, status=JobStatus.SUCCEEDED,
              stage_states={"subtitles": StageState(status=StageStatus.SUCCEEDED, files=("subtitles.srt",))})
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(job_routes.router)
    app.state.services = SimpleNamespace(settings=Settings(), key_ids={}, storage=storage, store=Store(job))
    return TestClient(app)


# defect: HEAD of a result file answered 405
def test_head_of_a_result_file_is_get_without_the_body(client: TestClient) -> None:
    url = f"/v1/jobs/{JOB_ID}/files/subtitles.srt"
    head, get = client.head(url), client.get(url)
    assert (head.status_code, get.status_code) == (200, 200), head.text
    assert head.content == b"" and get.text == SRT
    for name in ("content-type", "content-length", "etag", "last-modified"):
        assert head.headers[name] == get.headers[name], name
    assert client.head(f"/v1/jobs/{JOB_ID}/files/jobs.db").status_code == 404


# defect: a malformed job id answered 422 (a validation error) where an unknown one answers 404
@pytest.mark.parametrize("job_id", ["nope", "job_123", "JOB_" + "a" * 20, "job_" + "a" * 20 + "%0A", "x" * 500])
def test_a_malformed_job_id_is_no_job_and_says_what_an_id_looks_like(client: TestClient, job_id: str) -> None:
    for r in (client.get(f"/v1/jobs/{job_id}"), client.get(f"/v1/jobs/{job_id}/files/subtitles.srt"),
              client.post(f"/v1/jobs/{job_id}/cancel")):
        assert r.status_code == 404, r.text
        error = r.json()["error"]
        assert error["code"] == "not_found" and "a job id is 'job_' and 20 hexadecimal digits" in error["message"]
        assert len(error["detail"]["job_id"]) <= 67
    assert client.get(f"/v1/jobs/{JOB_ID}").status_code == 200
