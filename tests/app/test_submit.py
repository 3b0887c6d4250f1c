"""Submit-time validation of stages, options, models and metadata (before any byte is stored)."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api import SMALL_UPLOAD_BYTES
from app.api import jobs as job_routes
from app.api.errors import install_error_handlers
from app.api.submit import Submission, validate_request
from app.exceptions import InvalidInput
from app.main import create_app
from app.settings import Settings
from app.stages import subtitles
from app.stages.graph import plan
from pipelines.exceptions import ModelNotInstalledError, OptionsError, UnsupportedLanguageError


def sub(stages: object = None, options: object = None, metadata: object = None) -> Submission:
    return Submission(stages=["subtitles"] if stages is None else stages,  # type: ignore[arg-type]
                      options={} if options is None else options,
                      metadata={} if metadata is None else metadata, webhook_url=None, source="x")


def test_plan_orders_and_rejects_unknown() -> None:
    assert plan(["subtitles"]) == ["subtitles"]
    with pytest.raises(OptionsError, match="Valid stages"):
        plan(["nope"])
    with pytest.raises(OptionsError):
        plan([])


def test_valid_request_is_stored_normalised() -> None:
    planned, options = validate_request(sub(options={"subtitles": {"language": "en", "beam_size": "3"}}),
                                        Settings())
    assert planned == ["subtitles"]
    # Every option of every planned stage, defaults filled in, as the worker will read them.
    assert options == {"subtitles": subtitles.STAGE.normalise({"language": "en", "beam_size": 3})}
    assert options["subtitles"]["beam_size"] == 3 and options["subtitles"]["profile"] == "auto"
    planned, options = validate_request(sub(stages=["classify"]), Settings())
    assert planned == ["subtitles", "classify"] and set(options) == {"subtitles", "classify"}


@pytest.fixture
def tiny_only(tmp_path: Path, model_dir: Path, require_model: object) -> Settings:
    """Settings whose model folder holds whisper-tiny.en only (whisper-base is absent)."""
    only = tmp_path / "models"
    only.mkdir()
    shutil.copytree(require_model("whisper-tiny.en"), only / "whisper-tiny.en")  # type: ignore[operator]
    return Settings(data_dir=tmp_path / "data", model_dir=only)


def test_a_job_needing_a_missing_model_is_refused(tiny_only: Settings) -> None:
    validate_request(sub(options={"subtitles": {"language": "en"}}), tiny_only)  # tiny.en is there
    with pytest.raises(ModelNotInstalledError, match="lessonlens models install whisper-base"):
        validate_request(sub(options={"subtitles": {"language": "de"}}), tiny_only)
    with pytest.raises(ModelNotInstalledError, match="whisper-base"):
        validate_request(sub(stages=["fit"], options={"subtitles": {"model": "whisper-base"}}), tiny_only)


def test_remembered_options_are_a_copy_each_time_and_a_missing_model_is_looked_for_again(
        tiny_only: Settings, require_model: Any) -> None:
    """The options a request normalises to are worked out once and remembered (a fifth of a submit's
    time on the event loop): each job still gets a dict of its own. A model refused as missing is
    looked for again at the next submission: installing it is enough, no restart."""
    request = sub(options={"subtitles": {"language": "en"}})
    _, first = validate_request(request, tiny_only)
    first["subtitles"]["beam_size"] = 99
    _, again = validate_request(request, tiny_only)
    assert again["subtitles"]["beam_size"] == 5 and again is not first
    german = sub(options={"subtitles": {"language": "de"}})
    with pytest.raises(ModelNotInstalledError):
        validate_request(german, tiny_only)
    shutil.copytree(require_model("whisper-base"), tiny_only.model_dir / "whisper-base")
    planned, options = validate_request(german, tiny_only)
    assert planned == ["subtitles"] and options["subtitles"]["language"] == "de"


def post_job(settings: Settings, options: dict[str, object]) -> Any:
    """POST /v1/jobs to the jobs router alone (no queue: a refusal at submit answers first)."""
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(job_routes.router)
    app.state.services = SimpleNamespace(settings=settings, key_ids={})
    with TestClient(app) as client:
        return client.post("/v1/jobs", json={"source": "lesson.mp4", "options": options})


def test_openai_whisper_without_its_converted_model_is_refused(tiny_only: Settings) -> None:
    """The CTranslate2 folder is there, its openai-whisper conversion is not."""
    with pytest.raises(ModelNotInstalledError, match=r"lessonlens models install whisper-tiny\.en-openai"):
        validate_request(sub(options={"subtitles": {"engine": "openai-whisper"}}), tiny_only)
    r = post_job(tiny_only, {"subtitles": {"engine": "openai-whisper"}})
    assert r.status_code == 503, r.text
    assert "lessonlens models install whisper-tiny.en-openai" in r.json()["error"]["message"]


def test_the_api_answers_503_with_the_install_command(tiny_only: Settings) -> None:
    """Not 201 and a failure in the worker later: the README promises the refusal at submit."""
    r = post_job(tiny_only, {"subtitles": {"language": "de"}})
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["error"]["code"] == "model_not_installed"
    assert "lessonlens models install whisper-base" in body["error"]["message"]


@pytest.mark.parametrize(("submission", "error", "match"), [
    (sub(stages=["ocr-nope"]), OptionsError, "Unknown stage"),
    (sub(options={"other": {}}), InvalidInput, "not requested"),
    (sub(options={"subtitles": {"colour": "red"}}), OptionsError, "Unknown subtitles option"),
    (sub(options={"subtitles": {"beam_size": 99}}), OptionsError, "beam_size"),
    (sub(options={"subtitles": {"profile": "nope"}}), OptionsError, "profile"),
    (sub(options={"subtitles": "fast"}), InvalidInput, "object of objects"),
    (sub(metadata=["x"]), InvalidInput, "metadata"),
    (sub(metadata={"x": "y" * 20000}), InvalidInput, "larger"),
    (sub(stages="subtitles"), InvalidInput, "list of stage names"),
    (sub(options={"subtitles": {"beam_size": 5.7}}), OptionsError, "subtitles.beam_size must be an integer"),
    (sub(stages=["fit"], options={"fit": {"language": "zz"}}), UnsupportedLanguageError,
     "Unknown fit language"),
    (sub(stages=["fit"], options={"fit": {"subtitles": "this is not srt"}}), OptionsError,
     "fit.subtitles: Could not read the subtitles as SRT or WebVTT"),
])
def test_invalid_requests(submission: Submission, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        validate_request(submission, Settings())


@pytest.fixture
def api(tmp_path: Path, media_dir: Path) -> Iterator[TestClient]:
    """The whole API in-process (embedded queue, SQLite store), with ``media_dir`` as allowed root."""
    with TestClient(create_app(Settings(data_dir=tmp_path / "data", allowed_roots=[media_dir]))) as client:
        yield client


def test_a_small_upload_is_not_held_up_by_large_ones_being_received(api: TestClient, media_dir: Path,
                                                                    tmp_path: Path) -> None:
    """Small uploads (in memory) are admitted by one thread of their own, one after another (four
    at once cost a burst ~40 % more CPU in GIL hand-offs); larger ones keep the media threads, and
    with all of those busy a small one still goes through."""
    big = tmp_path / "big.mpg"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "nullsrc=s=320x240:d=2:r=25,geq=random(1)*255:128:128",
                    "-c:v", "mpeg2video", "-q:v", "2", str(big)], check=True, timeout=60)
    assert big.stat().st_size > SMALL_UPLOAD_BYTES
    services = api.app.state.services  # type: ignore[attr-defined]
    limiter = api.portal.call(lambda: services.media_limiter)  # type: ignore[union-attr]
    held = [object() for _ in range(services.media_slots)]
    for token in held:  # every media thread busy (large uploads being received)
        api.portal.call(limiter.acquire_on_behalf_of_nowait, token)  # type: ignore[union-attr]
    answers: dict[str, int] = {}

    def post(name: str, path: Path) -> threading.Thread:
        def send() -> None:
            answers[name] = api.post("/v1/jobs", files={"file": (path.name, path.read_bytes(), "video/mp4")}).status_code
        thread = threading.Thread(target=send, daemon=True)
        thread.start()
        return thread

    large = post("large", big)
    small = post("small", media_dir / "silent.mp4")
    small.join(timeout=30)
    assert answers.get("small") == 201, answers
    large.join(timeout=1)
    assert "large" not in answers, "a large upload waits for a media thread"
    for token in held:
        api.portal.call(limiter.release_on_behalf_of, token)  # type: ignore[union-attr]
    large.join(timeout=30)
    assert answers.get("large") == 201, answers


def test_an_idempotency_key_stands_for_one_request(api: TestClient, media_dir: Path) -> None:
    """The same request again answers with its job (200); another request with the same key is
    refused, 422 ``idempotency_key_reused`` saying what differs and to use a new key."""
    silent = (media_dir / "silent.mp4").read_bytes()

    def post(data: bytes, stages: str = "subtitles", key: str = "k1", **form: str) -> Any:
        return api.post("/v1/jobs", files={"file": ("speech.mp4", data, "video/mp4")},
                        data={"stages": stages, **form}, headers={"Idempotency-Key": key})

    first = post(silent)
    assert first.status_code == 201, first.text
    job_id = first.json()["id"]
    replay = post(silent, stages='["subtitles"]')  # the same stages, spelled as a JSON list
    assert replay.status_code == 200 and replay.json()["id"] == job_id
    for other, differs in ((post((media_dir / "speech.wav").read_bytes(), stages="subtitles,classify"),
                            ["media", "options", "stages"]),
                           (post(silent, options='{"subtitles": {"beam_size": 3}}'), ["options"]),
                           (post(silent, metadata='{"course": "c2"}'), ["metadata"]),
                           (api.post("/v1/jobs", json={"source": "silent.mp4"}, headers={"Idempotency-Key": "k1"}),
                            ["media"])):
        assert other.status_code == 422, other.text
        error = other.json()["error"]
        assert error["code"] == "idempotency_key_reused"
        assert error["detail"] == {"job_id": job_id, "differs": differs}
        assert "new Idempotency-Key" in error["message"] and job_id in error["message"]
    assert [j["id"] for j in api.get("/v1/jobs").json()["jobs"]] == [job_id]  # nothing else stored
    assert post(silent, key="k2").status_code == 201  # a new key: a new job
