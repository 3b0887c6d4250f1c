"""The API starts fast: importing it loads no heavy library (models and their runtimes load in
the workers, on first use)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

HEAVY = ("numpy", "httpx", "torch", "transformers", "ctranslate2", "faster_whisper", "av", "cv2",
         "pipelines.fit.sentence", "pipelines.classify.classifier", "celery", "rapidfuzz", "lxml",
         "app.translations")

# The start of a script that serves the app in-process: a fresh data folder, and
# ``warm_up_ended(seconds)``: whether the warm-up thread has ended (waiting up to ``seconds``).
PRELUDE = """
import json, logging, os, sys, tempfile, threading, time
os.environ["LESSONLENS_DATA_DIR"] = tempfile.mkdtemp()
from fastapi.testclient import TestClient
import app.main
from app.main import create_app

def warm_up_ended(seconds):
    deadline = time.monotonic() + seconds
    while any(t.name == "warm-up" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not any(t.name == "warm-up" for t in threading.enumerate())
"""


def _run(code: str, timeout: int = 120) -> tuple[Any, str]:
    """Run ``code`` in a new interpreter: the JSON of its last line of output, and its stderr."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


def test_importing_the_app_loads_no_heavy_library() -> None:
    loaded, _ = _run("import json, sys, app.main; "
                     f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))", timeout=60)
    assert loaded == [], f"importing app.main loads {loaded}: import them where they are first used"


def test_once_started_the_first_submission_s_modules_and_statements_are_warmed_off_the_request_path() -> None:
    code = PRELUDE + """
logging.basicConfig(level=logging.INFO)
before = "av" in sys.modules
with TestClient(create_app()) as client:
    assert client.get("/healthz").status_code == 200
    warm_up_ended(20)
    print(json.dumps([before, "av" in sys.modules, [m for m in HEAVY if m in sys.modules]]))
""".replace("HEAVY", repr(HEAVY))
    (before, after, heavy), stderr = _run(code)
    assert [before, after] == [False, True]
    # Checking the stages' options loads no model runtime: faster-whisper for its language list cost
    # every HTTP process ~0.4 s of CPU and ~30 MB just after start, and the job process its first job.
    assert heavy == ["av"], f"the warm-up loads {heavy}: only PyAV (the upload probe) belongs there"
    assert "warm-up done" in stderr and "warm-up failed" not in stderr


def test_models_are_built_on_first_use_ours_before_any_request() -> None:
    """Importing the app builds few pydantic validators (most of FastAPI's 36 OpenAPI models, which
    only /openapi.json and /docs use, wait); creating the app builds ours, so that no
    request pays for one, and /openapi.json still answers whole."""
    # As ``python -m app serve`` does: ``app`` (which defers them) before FastAPI.
    code = "import app.main\n" + PRELUDE + """
import warnings
warnings.simplefilter("error")  # a model built inside a request's validation warned (FastAPI's body alias)
from pydantic import BaseModel

def models(module_prefix):
    seen, pending = [], [BaseModel]
    while pending:
        for cls in pending.pop().__subclasses__():
            pending.append(cls)
            if cls.__module__.startswith(module_prefix) and cls not in seen:
                seen.append(cls)
    return seen

def unbuilt(module_prefix):
    return [cls.__name__ for cls in models(module_prefix) if not cls.__pydantic_complete__]

openapi_unbuilt = len(unbuilt("fastapi.openapi"))
ours_before = len(unbuilt("app."))
app_ = create_app()
ours_after = unbuilt("app.")
with TestClient(app_) as client:
    r = client.post("/v1/jobs", json={"source": "/nowhere/a.mp4"})
    schema = client.get("/openapi.json")
    print(json.dumps([openapi_unbuilt, len(models("fastapi.openapi")), ours_before, ours_after,
                      r.status_code, schema.status_code, "/v1/jobs" in schema.json()["paths"]]))
"""
    (openapi_unbuilt, openapi_all, ours_before, ours_after, submitted, schema, listed), _ = _run(code)
    assert openapi_unbuilt >= openapi_all // 2, f"{openapi_all - openapi_unbuilt} of FastAPI's OpenAPI models built at import"
    assert ours_before > 0 and ours_after == [], f"create_app left {ours_after} to a request"
    assert submitted in (400, 403, 404, 422) and schema == 200 and listed


def test_the_command_line_loads_rich_only_to_print() -> None:
    loaded, _ = _run("import json, sys, app.cli; print(json.dumps('rich' in sys.modules))", timeout=60)
    assert loaded is False, "app.cli imports rich: `serve` pays for it"


def test_the_first_healthz_builds_only_its_own_routes_and_the_warm_up_the_others() -> None:
    # FastAPI (0.165) builds an included router's routes when a request first walks past them;
    # ``_EffectiveRouteContext.from_api_route`` is where (should FastAPI rename it, this test says
    # so: then check where the first requests' time goes again, e.g. with py-spy).
    code = PRELUDE + """
from unittest import mock
import fastapi.routing as routing
built = []
build = routing._EffectiveRouteContext.from_api_route
def counted(*args, **kwargs):
    built.append(kwargs["original_route"].path)
    return build(*args, **kwargs)
with mock.patch.object(routing._EffectiveRouteContext, "from_api_route", side_effect=counted):
    with TestClient(create_app()) as client:
        assert client.get("/healthz").status_code == 200
        first = list(built)
        warm_up_ended(20)
        warmed = len(built)
        assert client.get("/v1/jobs/no-such-job").status_code == 404
        assert client.get("/v1/stages").status_code == 200
        print(json.dumps([first, built[warmed:], "/v1/jobs" in built[:warmed]]))
"""
    (first, after_warm_up, submit_built), _ = _run(code)
    # with the health router last, the first /healthz built every route before its own (~40 ms)
    assert first == ["/healthz", "/readyz", "/metrics"], first
    assert submit_built, "the warm-up did not build the submission's route"
    assert after_warm_up == [], f"requests after the warm-up still built routes: {after_warm_up}"


def test_the_warm_up_waits_for_the_first_answer_or_a_while() -> None:
    # Run beside the first /healthz, it delayed it by ~0.1 s (of ~1 s) on 2 cores.
    code = PRELUDE + """
app.main.WARM_UP_WAIT_S = 60.0
with TestClient(create_app()) as client:
    pass
stopped_first = warm_up_ended(0) and "av" not in sys.modules  # stopped within the wait: no warm-up
with TestClient(create_app()) as client:
    time.sleep(0.5)
    waiting = "av" not in sys.modules and not warm_up_ended(0)
    assert client.get("/healthz").status_code == 200
    after_answer = warm_up_ended(20) and "av" in sys.modules
app.main.WARM_UP_WAIT_S = 0.2
with TestClient(create_app()) as client:  # no request: it starts after WARM_UP_WAIT_S
    unasked = warm_up_ended(20)
print(json.dumps([stopped_first, waiting, after_answer, unasked]))
"""
    (stopped_first, waiting, after_answer, unasked), _ = _run(code)
    assert stopped_first, "an app stopped before the warm-up began still warmed up (its store closed)"
    assert waiting, "the warm-up ran before the process had answered anything"
    assert after_answer, "the warm-up did not run once the first request was answered"
    assert unasked, "with no request, the warm-up never ran"
