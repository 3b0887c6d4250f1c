"""Batches: ``POST /v1/batches`` (a folder under an allowed root, one job per media file) and reads.

Each file found by ``app.folders.discover`` goes through ``submit_job`` as a path source; a file
that is not usable media is listed in the batch as rejected, with the reason, and never stops it.
A batch is made whole or not at all: when its media would not fit in the API key's queue room
(``QUEUE_LIMIT_PER_KEY``), it is refused with 429 before any job is made, never cut short.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.api import OwnerDep, Services, ServicesDep
from app.api.jobs import job_view
from app.api.submit import Submission, check_webhook_url, probe_path_source, submit_job, validate_request
from app.exceptions import AppError, Forbidden, InvalidInput, NotFound, TooManyJobs
from app.folders import discover
from app.jobs import Batch, Job, Rejected, aggregate, new_batch_id
from app.stages.graph import DEFAULT_STAGES

router = APIRouter(prefix="/v1/batches", tags=["batches"])


class BatchRequest(BaseModel):
    """The body of ``POST /v1/batches``."""

    folder: str
    stages: list[str] = Field(default_factory=lambda: list(DEFAULT_STAGES))
    options: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    webhook_url: str | None = None
    per_job_webhooks: bool = False


def resolve_folder(folder: str, roots: list[Path]) -> Path:
    """The real path of ``folder``, which must be a directory under one of ``roots``.

    Raises:
        Forbidden: no roots, or the folder leaves them. InvalidInput: no such folder.
    """
    if not roots:
        raise Forbidden("path sources are disabled on this server (LESSONLENS_ALLOWED_ROOTS is empty).",
                        code="path_not_allowed")
    if "\x00" in folder or not Path(folder).is_absolute():
        raise InvalidInput("folder must be an absolute path.", code="invalid_source")
    try:
        folder.encode("utf-8")  # lone surrogates cannot name a file
        real = Path(folder).resolve()
    except (ValueError, OSError) as e:
        raise InvalidInput(f"folder is not a usable path ({e}).", code="invalid_source") from None
    if not any(real.is_relative_to(r.resolve()) for r in roots):
        raise Forbidden(f"folder {folder!r} is outside the allowed folders; put it under one of "
                        "LESSONLENS_ALLOWED_ROOTS.", code="path_not_allowed", detail={"folder": folder})
    if not real.is_dir():
        raise InvalidInput(f"folder {folder!r} does not exist or is not a folder.", code="source_not_found",
                           detail={"folder": folder})
    return real


def batch_view(batch: Batch, jobs: list[Job]) -> dict[str, Any]:
    """The JSON form of a batch: its request, aggregate status and progress, jobs and rejects."""
    summary = aggregate(jobs, made_jobs=bool(batch.job_ids))
    data = asdict(batch)
    data.update(status=summary.status.value, progress=summary.progress, counts=summary.counts,
                jobs=[job_view(j) for j in jobs])
    return data


def _refuse_overflow(media: int, active: int, limit: int) -> TooManyJobs:
    room = max(0, limit - active)
    parts = f"submit the folder in parts of at most {room} file(s), " if room else ""
    return TooManyJobs(
        f"the folder holds {media} media file(s) but this API key has room for {room} more job(s) "
        f"({active} queued or running, limit {limit}); no job was made. Wait for jobs to finish, {parts}"
        "or raise LESSONLENS_QUEUE_LIMIT_PER_KEY.",
        detail={"media_files": media, "active": active, "limit": limit, "room": room})


def media_in_room(services: Services, owner: str, files: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Blocking: the files to submit and those already known not to be usable media (with the
    reason); refuses a batch whose media would not fit in the key's queue room. The files are
    probed here only when there are more of them than the room (a probe costs ~10 ms a file); the
    ones found not to be media are not submitted (with the queue full, a submit would answer 429
    before it probed them).

    Raises:
        TooManyJobs: naming the media count, the key's queued and running jobs and the limit.
    """
    limit = services.settings.queue_limit_per_key
    active = services.store.count_active(owner)
    if len(files) <= limit - active:
        return files, []
    media: list[Path] = []
    rejected: list[tuple[Path, str]] = []
    for path in files:
        try:
            probe_path_source(services, str(path))
        except AppError as e:  # not media, or over a media limit: takes no room
            rejected.append((path, e.message))
            continue
        media.append(path)
    if len(media) > limit - active:
        raise _refuse_overflow(len(media), active, limit)
    return media, rejected


def _undo(services: Services, owner: str, jobs: list[Job]) -> int:
    """Blocking: take back the jobs of a batch refused part-way (another request took the room
    meanwhile): each is cancelled, and deleted unless a worker is already running it (that one
    ends ``cancelled``). Returns the key's queued and running jobs afterwards."""
    for job in jobs:
        updated = services.store.request_cancel(job.id)
        if updated is not None and updated.status.terminal:
            services.store.delete(job.id)
            services.storage.delete(job.id)
    return services.store.count_active(owner)


async def _load(services: Services, owner: str, batch_id: str) -> tuple[Batch, list[Job]]:
    batch = await to_thread.run_sync(services.store.get_batch, batch_id)
    if batch is None:
        raise NotFound(f"no batch {batch_id}.", detail={"batch_id": batch_id})
    if batch.owner != owner:
        raise Forbidden(f"batch {batch_id} belongs to another API key.", detail={"batch_id": batch_id})
    return batch, await to_thread.run_sync(services.store.get_many, batch.job_ids)


@router.post("", status_code=201, summary="Submit a folder: one job per media file")
async def create_batch(body: BatchRequest, services: ServicesDep, owner: OwnerDep) -> JSONResponse:
    """Create a batch; files that are not media are listed as rejected."""
    folder = resolve_folder(body.folder, services.settings.allowed_roots)
    validate_request(Submission(stages=body.stages, options=body.options, metadata=body.metadata,
                                webhook_url=None), services.settings)
    if body.webhook_url:  # refused now, not as failed deliveries once the batch has ended
        await to_thread.run_sync(check_webhook_url, body.webhook_url, services.settings)
    refused: list[tuple[Path, str]] = []
    files = await to_thread.run_sync(lambda: list(discover(folder, refused)))
    if not files:
        raise InvalidInput(f"folder {body.folder!r} has no files (hidden files and links leaving it "
                           "are skipped); put the media files in it first.", code="empty_folder")
    media, not_media = await to_thread.run_sync(media_in_room, services, owner, files,
                                                limiter=services.media_limiter)
    batch = Batch(id=new_batch_id(), owner=owner, folder=str(folder), stages=list(body.stages),
                  options=body.options, webhook_url=body.webhook_url, per_job_webhooks=body.per_job_webhooks,
                  metadata=body.metadata,
                  rejected=[Rejected(path=str(p.relative_to(folder)), reason=r) for p, r in refused + not_media])
    jobs: list[Job] = []
    for path in media:
        sub = Submission(stages=body.stages, options=body.options,
                         metadata={**body.metadata, "batch_id": batch.id},
                         webhook_url=body.webhook_url if body.per_job_webhooks else None, source=str(path))
        try:
            job, _ = await submit_job(services, owner, sub, None)
        except TooManyJobs:  # another request took the room meanwhile: the whole batch or nothing
            active = await to_thread.run_sync(_undo, services, owner, jobs)
            rejected = len(batch.rejected) - len(refused)  # the files left untried count as media
            raise _refuse_overflow(len(files) - rejected, active,
                                   services.settings.queue_limit_per_key) from None
        except AppError as e:  # not media, corrupt, unreadable: reported per file
            batch.rejected.append(Rejected(path=str(path.relative_to(folder)), reason=e.message))
            continue
        jobs.append(job)
        batch.job_ids.append(job.id)
    await to_thread.run_sync(services.store.create_batch, batch)
    # Its jobs may all have ended before it was stored, with nobody to finish it; a batch with no
    # job (every file rejected) ends here, failed, and sends its ``batch.finished``.
    if await to_thread.run_sync(services.lifecycle.settle_batch, batch.id):
        ended = await to_thread.run_sync(services.store.get_batch, batch.id)
        batch = ended or batch
    return JSONResponse(batch_view(batch, jobs), status_code=201)


@router.get("", summary="List batches, newest first")
async def list_batches(services: ServicesDep, owner: OwnerDep,
                       limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """The caller's batches (without their jobs)."""
    batches = await to_thread.run_sync(services.store.list_batches, owner, limit)
    return {"batches": [asdict(b) for b in batches]}


@router.get("/{batch_id}", summary="A batch: aggregate status and progress, its jobs and rejected files")
async def get_batch(batch_id: str, services: ServicesDep, owner: OwnerDep) -> dict[str, Any]:
    """Aggregate a batch's jobs."""
    batch, jobs = await _load(services, owner, batch_id)
    return batch_view(batch, jobs)
