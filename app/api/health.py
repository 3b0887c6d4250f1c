"""Liveness, readiness (store reachable, workers alive, default models installed) and metrics."""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.api import Services, ServicesDep
from app.api.errors import ErrorBody, error_response
from app.metrics import exposition_registry
from pipelines.asr import AsrOptions
from pipelines.exceptions import PipelineError
from pipelines.models import model_path

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _readiness(services: Services) -> dict[str, str]:
    problems: dict[str, str] = {}
    try:
        services.store.ping()
    except Exception as e:
        problems["store"] = f"job store unreachable: {type(e).__name__}: {e}"
    reason = services.queue.unready()
    if reason is not None:
        problems["broker" if services.settings.queue == "celery" else "workers"] = reason
    name = AsrOptions().resolved_model()  # the model a default request runs on
    try:
        model_path(name, services.settings.model_dir)
    except PipelineError as e:
        problems[f"model:{name}"] = str(e)
    return problems


@router.get("/readyz", summary="Readiness: store reachable, workers alive, models installed",
            responses={503: {"model": ErrorBody}})
async def readyz(services: ServicesDep) -> Response:
    problems = await to_thread.run_sync(_readiness, services)
    if problems:
        return error_response(503, "not_ready", "; ".join(problems.values()), problems)
    return JSONResponse({"status": "ready", "workers": services.settings.workers,
                         "queue": services.settings.queue})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    m = services.metrics
    m.queue_depth.set(services.queue.depth())
    m.workers_busy.set(services.queue.busy())
    return Response(generate_latest(exposition_registry(m.registry)), media_type=CONTENT_TYPE_LATEST)
