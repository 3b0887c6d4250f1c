"""The API starts fast: importing it loads no heavy library (models and their runtimes load in
the workers, on first use)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "httpx", "torch", "transformers", "ctranslate2", "faster_whisper", "av", "cv2",
         "pipelines.fit.sentence", "pipelines.classify.classifier", "celery", "rapidfuzz", "lxml",
         "app.translations")


def test_importing_the_app_loads_no_heavy_library() -> None:
    code = ("import json, sys, app.main; "
            f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == [], f"importing app.main loads {loaded}: import them where they are first used"


def test_once_started_the_first_submission_s_modules_and_statements_are_warmed_off_the_request_path() -> None:
    code = """
import json, logging, os, sys, tempfile, threading, time
logging.basicConfig(level=logging.INFO)
os.environ["LESSONLENS_DATA_DIR"] = tempfile.mkdtemp()
from fastapi.testclient import TestClient
from app.main import create_app
before = "av" in sys.modules
with TestClient(create_app()) as client:
    assert client.get("/healthz").status_code == 200
    deadline = time.monotonic() + 20
    while any(t.name == "warm-up" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    print(json.dumps([before, "av" in sys.modules, [m for m in HEAVY if m in sys.modules]]))
""".replace("HEAVY", repr(HEAVY))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    before, after, heavy = json.loads(out.stdout.strip().splitlines()[-1])
    assert [before, after] == [False, True]
    # Checking the stages' options loads no model runtime: faster-whisper for its language list cost
    # every HTTP process ~0.4 s of CPU and ~30 MB just after start, and the job process its first job.
    assert heavy == ["av"], f"the warm-up loads {heavy}: only PyAV (the upload probe) belongs there"
    assert "warm-up done" in out.stderr and "warm-up failed" not in out.stderr


def test_the_command_line_loads_rich_only_to_print() -> None:
    code = "import json, sys, app.cli; print(json.dumps('rich' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) is False, "app.cli imports rich: `serve` pays for it"
