"""Job routes: submit (upload, path or URL), follow (JSON or Server-Sent Events), cancel, delete,
fetch results.

Routes never run models; every blocking call (store, probing, DNS, file copies) goes to a worker
thread through ``anyio.to_thread`` so the event loop keeps answering.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from anyio import to_thread
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile
from starlette.types import Message

from app import limits
from app.api import OwnerDep, Services, ServicesDep
from app.api.errors import ErrorBody
from app.api.submit import Submission, submit_job
from app.exceptions import AppError, Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from app.jobs import Job, JobStatus, StageStatus
from app.settings import megabytes
from app.stages import subtitles
from app.stages.graph import DEFAULT_STAGES

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

_JOB_ID = re.compile(r"job_[0-9a-f]{20}")  # app.jobs.new_job_id


async def _job_id(job_id: Annotated[str, Path(description="A job id: job_ and 20 hexadecimal digits.",
                                             json_schema_extra={"pattern": f"^{_JOB_ID.pattern}$"})],
                  _: OwnerDep) -> str:
    """The path's job id. One that cannot be a job's names no job: 404 (as for an unknown id), saying
    what an id looks like. Checked after the caller's key (OwnerDep, resolved once a request)."""
    if not _JOB_ID.fullmatch(job_id):
        shown = job_id if len(job_id) <= 64 else job_id[:64] + "..."
        raise NotFound(f"no job {shown!r}: a job id is 'job_' and 20 hexadecimal digits "
                       "(e.g. job_0123456789abcdef0123), as POST /v1/jobs answered.",
                       detail={"job_id": shown, "pattern": f"^{_JOB_ID.pattern}$"})
    return job_id


JobId = Annotated[str, Depends(_job_id)]
_MEDIA_TYPES = {".srt": "application/x-subrip", ".vtt": "text/vtt", ".json": "application/json",
                ".txt": "text/plain; charset=utf-8", ".mp4": "video/mp4", ".xlf": "application/xliff+xml"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 413, 415, 422, 429, 503)}


class JobRequest(BaseModel):
    """JSON submission: ``source`` is a path under an allowed root or an http(s) URL."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"source": "lesson.mp4", "stages": list(DEFAULT_STAGES), "options": {subtitles.NAME: {"language": "en"}},
         "metadata": {"course": "safety-101"}}]})

    source: str = Field(min_length=1, max_length=4096, description="Path under an allowed root, or URL.")
    stages: list[str] = Field(default_factory=lambda: list(DEFAULT_STAGES), min_length=1, max_length=16,
                              description="Stage names (GET /v1/stages lists them).")
    options: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Options by stage name.")
    webhook_url: str | None = Field(default=None, max_length=2048)
    metadata: dict[str, Any] = Field(default_factory=dict, description="Returned as given (≤ 16 KB).")


_MULTIPART_SCHEMA = {
    "type": "object", "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "The media file."},
        "stages": {"type": "string", "description": "Comma-separated stages or a JSON list.",
                   "default": ",".join(DEFAULT_STAGES)},
        "options": {"type": "string", "description": "JSON object: options by stage name."},
        "webhook_url": {"type": "string"},
        "metadata": {"type": "string", "description": "JSON object."},
    },
}
_SUBMIT_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": JobRequest.model_json_schema(ref_template="#/components/schemas/{model}")},
    "multipart/form-data": {"schema": _MULTIPART_SCHEMA},
}}}


_LINKS = {
    name: {"operationId": op, "parameters": {"job_id": "$response.body#/id"}}
    for name, op in (("GetJob", "getJob"), ("CancelJob", "cancelJob"), ("GetResult", "getResult"),
                     ("DeleteJob", "deleteJob"), ("JobEvents", "jobEvents"))
}


def job_view(job: Job) -> dict[str, Any]:
    """The API form of a job: internal paths hidden, links added."""
    data = job.to_dict()
    src = data["source"]  # a shallow copy of the job's (Job.to_record): ours to change
    if job.source.kind == "upload":
        src["location"] = None
    src.pop("identity", None)
    data["links"] = {"self": f"/v1/jobs/{job.id}", "events": f"/v1/jobs/{job.id}/events",
                     "result": f"/v1/jobs/{job.id}/result", "cancel": f"/v1/jobs/{job.id}/cancel"}
    return data


async def read_job(services: Services, job_id: str) -> Job | None:
    """The job or None: on the event loop where the store's reads never wait (local SQLite in WAL
    mode), else in a worker thread."""
    if services.store.local_reads:
        return services.store.get(job_id)
    return await to_thread.run_sync(services.store.get, job_id)


async def load_job(services: Services, job_id: str, owner: str) -> Job:
    """The job, if it exists and belongs to ``owner`` (any job when auth is off)."""
    job = await read_job(services, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}; it may have been deleted.", detail={"job_id": job_id})
    if services.key_ids and job.owner != owner:
        raise Forbidden(f"job {job_id} belongs to another API key.", detail={"job_id": job_id})
    return job


def _json_field(raw: Any, name: str, default: Any, max_depth: int) -> Any:
    if raw is None or raw == "":
        return default
    if not isinstance(raw, str):
        raise InvalidInput(f"form field {name!r} must be text (JSON).")
    return limits.loads(raw, name, max_depth)


def _stages_field(raw: Any, max_depth: int) -> list[str]:
    if raw is None or raw == "":
        return list(DEFAULT_STAGES)
    if isinstance(raw, str) and raw.strip().startswith("["):
        value = _json_field(raw, "stages", None, max_depth)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidInput("form field 'stages' must be a JSON list of names or comma-separated names.")
        return value
    if not isinstance(raw, str):
        raise InvalidInput("form field 'stages' must be text.")
    return [s.strip() for s in raw.split(",") if s.strip()]


async def _from_multipart(request: Request, services: Services) -> Submission:
    limit = int(services.settings.max_upload_mb * 1e6)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + 1_000_000:  # refuse early, before reading it
        raise PayloadTooLarge(f"the upload is larger than the limit of {megabytes(limit)} MB "
                              "(LESSONLENS_MAX_UPLOAD_MB).", detail={"limit_bytes": limit})
    received = 0

    async def limited_receive() -> Message:
        # A chunked upload has no Content-Length: stop reading it once it passes the limit.
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit + 1_000_000:
            raise PayloadTooLarge(f"the upload is larger than the limit of {megabytes(limit)} MB "
                                  "(LESSONLENS_MAX_UPLOAD_MB).", detail={"limit_bytes": limit})
        return message

    try:
        form = await Request(request.scope, limited_receive).form(max_files=1, max_fields=16)
    except AppError:  # too large, or the body stopped arriving (app.limits)
        raise
    except Exception as e:  # malformed multipart
        raise InvalidInput(f"could not read the multipart form: {e}.", code="validation_error") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        await form.close()
        raise InvalidInput("multipart submissions need the media in a file field named 'file'.",
                           code="validation_error")
    try:
        depth = services.settings.max_json_depth
        options = _json_field(form.get("options"), "options", {}, depth)
        metadata = _json_field(form.get("metadata"), "metadata", {}, depth)
        webhook = form.get("webhook_url")
        return Submission(stages=_stages_field(form.get("stages"), depth), options=options, metadata=metadata,
                          webhook_url=webhook if isinstance(webhook, str) and webhook else None,
                          upload=upload, form=form)
    except BaseException:
        await form.close()
        raise


async def _from_json(request: Request, services: Services) -> Submission:
    raw = limits.loads(await request.body(), "body", services.settings.max_json_depth)
    try:
        body = JobRequest.model_validate(raw)
    except ValidationError as e:
        raise RequestValidationError([{**err, "loc": ("body", *err["loc"])} for err in e.errors()]) from None
    return Submission(stages=body.stages, options=body.options, metadata=body.metadata,
                      webhook_url=body.webhook_url, source=body.source)


@router.post("", status_code=201, openapi_extra=_SUBMIT_BODY, operation_id="submitJob",
             responses={200: {"description": "Idempotent replay: the job first made with this key"},
                        201: {"description": "Created", "links": _LINKS}, **_ERRORS},
             summary="Submit a job (multipart upload, or JSON with a path or URL source)")
async def submit(request: Request, services: ServicesDep, owner: OwnerDep,
                 idempotency_key: Annotated[str | None, Header(max_length=255)] = None) -> JSONResponse:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        sub = await _from_multipart(request, services)
    elif ctype in ("application/json", ""):
        sub = await _from_json(request, services)
    else:
        raise InvalidInput(f"unsupported content type {ctype!r}: send application/json or "
                           "multipart/form-data.", code="unsupported_content_type", status=415)
    job, created = await submit_job(services, owner, sub, idempotency_key)
    headers = {"Location": f"/v1/jobs/{job.id}"}
    return JSONResponse(job_view(job), status_code=201 if created else 200, headers=headers)


@router.get("", summary="List jobs, newest first", responses=_ERRORS, operation_id="listJobs")
async def list_jobs(services: ServicesDep, owner: OwnerDep,
                    status: JobStatus | None = None,
                    limit: Annotated[int, Query(ge=1, le=100)] = 20,
                    cursor: Annotated[str | None, Query(max_length=64)] = None) -> JSONResponse:
    who = owner if services.key_ids else None
    jobs, next_cursor = await to_thread.run_sync(services.store.list_jobs, who, status, limit, cursor)
    return JSONResponse({"jobs": [job_view(j) for j in jobs], "next_cursor": next_cursor})


@router.get("/{job_id}", summary="Status, per-stage progress and timings, errors", responses=_ERRORS,
            operation_id="getJob")
async def get_job(job_id: JobId, services: ServicesDep, owner: OwnerDep) -> JSONResponse:
    return JSONResponse(job_view(await load_job(services, job_id, owner)))


@router.post("/{job_id}/cancel", status_code=202, summary="Cancel a queued or running job",
             responses=_ERRORS, operation_id="cancelJob")
async def cancel_job(job_id: JobId, services: ServicesDep, owner: OwnerDep) -> JSONResponse:
    job = await load_job(services, job_id, owner)
    if job.status.terminal:
        raise Conflict(f"job {job_id} already ended ({job.status.value}); nothing to cancel.",
                       detail={"status": job.status.value})
    updated = await to_thread.run_sync(services.store.request_cancel, job_id)
    if updated is None:
        raise NotFound(f"no job {job_id}; it may have been deleted.")
    if updated.status == JobStatus.CANCELLED:  # was queued: cancelled at once, ended here
        await to_thread.run_sync(services.on_finished, updated)
    log.info("%s: cancel requested (%s)", job_id, updated.status.value)
    return JSONResponse(job_view(updated), status_code=202)


@router.delete("/{job_id}", status_code=204, summary="Delete a job that is not running, and its files",
               responses=_ERRORS, operation_id="deleteJob")
async def delete_job(job_id: JobId, services: ServicesDep, owner: OwnerDep) -> Response:
    job = await load_job(services, job_id, owner)
    if job.status == JobStatus.QUEUED:
        cancelled = await to_thread.run_sync(services.store.request_cancel, job_id)
        job = cancelled or job
    if job.status == JobStatus.RUNNING:
        raise Conflict(f"job {job_id} is running; cancel it (POST /v1/jobs/{job_id}/cancel) and delete "
                       "it once it has stopped.", detail={"status": job.status.value})
    await to_thread.run_sync(services.store.delete, job_id)
    await to_thread.run_sync(services.storage.delete, job_id)
    return Response(status_code=204)


def _result_doc(job: Job) -> dict[str, Any]:
    stages: dict[str, Any] = {}
    for name, st in job.stage_states.items():
        stages[name] = {"status": st.status.value, "seconds": st.seconds, "summary": st.summary,
                        "reason": st.reason, "error": st.error,
                        "files": [{"name": f, "url": f"/v1/jobs/{job.id}/files/{f}"} for f in st.files]}
    return {"job_id": job.id, "status": job.status.value, "error": job.error,
            "media": job.source.media, "stages": stages, "metadata": job.metadata}


@router.get("/{job_id}/result", summary="Results: per-stage summaries and file links", responses=_ERRORS,
            operation_id="getResult")
async def get_result(job_id: JobId, services: ServicesDep, owner: OwnerDep) -> JSONResponse:
    job = await load_job(services, job_id, owner)
    if not job.status.terminal:
        raise Conflict(f"job {job_id} is {job.status.value}; results come when it ends "
                       f"(follow /v1/jobs/{job_id}/events).", code="not_finished",
                       detail={"status": job.status.value, "progress": job.progress})
    return JSONResponse(_result_doc(job))


@router.head("/{job_id}/files/{name}", include_in_schema=False)  # GET's headers (size, type), no body
@router.get("/{job_id}/files/{name}", summary="A result file (subtitles.srt, subtitles.vtt, ...)",
            response_class=FileResponse, responses=_ERRORS, operation_id="getFile")
async def get_file(job_id: JobId, name: Annotated[str, Path(max_length=128)], services: ServicesDep,
                   owner: OwnerDep) -> FileResponse:
    job = await load_job(services, job_id, owner)
    listed = {f for st in job.stage_states.values()
              if st.status in (StageStatus.SUCCEEDED, StageStatus.SKIPPED) for f in st.files}
    if name not in listed:  # imported translations' files (app.translations) are listed apart
        from app import translations  # on first use: lxml, RapidFuzz... not at the API's start-up

        listed |= await to_thread.run_sync(translations.listed_files, services.storage.results_dir(job_id))
    path = services.storage.result_file(job_id, name) if name in listed else None
    if path is None:
        raise NotFound(f"job {job_id} has no result file {name!r}; see /v1/jobs/{job_id}/result.",
                       detail={"files": sorted(listed)})
    suffix = path.suffix.lower()
    return FileResponse(path, media_type=_MEDIA_TYPES.get(suffix, "application/octet-stream"), filename=name)


class _EventStream(Response):
    """What ``/events`` answers, for the OpenAPI document: sse-starlette's ``EventSourceResponse``,
    imported on first use (40 ms of the API's start-up)."""

    media_type = "text/event-stream"


@router.get("/{job_id}/events", summary="Progress as Server-Sent Events (`job` events, then `end`)",
            response_class=_EventStream, responses=_ERRORS, operation_id="jobEvents")
async def job_events(job_id: JobId, services: ServicesDep, owner: OwnerDep) -> Response:
    from sse_starlette.sse import EventSourceResponse

    await load_job(services, job_id, owner)

    async def stream() -> AsyncIterator[dict[str, str]]:
        last = None
        while True:
            job = await read_job(services, job_id)
            if job is None:
                yield {"event": "end", "data": json.dumps({"status": "deleted"})}
                return
            if job.updated_at != last:
                last = job.updated_at
                yield {"event": "job", "id": job.updated_at, "data": json.dumps(job_view(job))}
            if job.status.terminal:
                yield {"event": "end", "data": json.dumps({"status": job.status.value, "error": job.error})}
                return
            await anyio.sleep(0.5)

    return EventSourceResponse(stream(), ping=15)
