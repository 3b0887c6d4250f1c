"""The API starts fast: importing it loads no heavy library (models and their runtimes load in
the workers, on first use)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "httpx", "torch", "transformers", "ctranslate2", "faster_whisper", "av", "cv2",
         "pipelines.fit.sentence", "pipelines.classify.classifier", "celery")


def test_importing_the_app_loads_no_heavy_library() -> None:
    code = ("import json, sys, app.main; "
            f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == [], f"importing app.main loads {loaded}: import them where they are first used"
