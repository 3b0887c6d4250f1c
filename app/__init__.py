"""The lessonlens service: settings, CLI, job API, workers, webhooks, web page."""

from __future__ import annotations

import pydantic

# Start-up: pydantic builds each model's validator as its class is made, all at import: FastAPI's
# OpenAPI models (which only /openapi.json and /docs use) 76-90 ms of one core, 46-56 ms deferred
# (FastAPI rebuilds a few at once), ~0.09 s of the ~0.7 s import in all (a tenth of a server's
# start). Deferred, a model is built on its first use; the app, when made, builds ours before any
# request (``app.main._build_models``). Imported before FastAPI (``python -m app`` is), so that
# FastAPI's own are deferred too.
pydantic.BaseModel.model_config["defer_build"] = True
