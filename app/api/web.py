"""The web page (``/``, its static files under ``/web/``) and the source media of a job.

The page is plain HTML, CSS and ES modules in ``app/web`` (no build step). It talks to the job
API like any other client. ``GET /v1/jobs/{id}/source`` gives the uploaded media back to the job's
owner (same auth as the job's other files) so the page can play it with the subtitles over it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from anyio import to_thread
from fastapi import APIRouter
from fastapi.responses import FileResponse

from app import stages as stage_graph
from app.api import OwnerDep, ServicesDep
from app.api.errors import ErrorBody
from app.api.jobs import JobId, load_job
from app.exceptions import NotFound
from pipelines.subtitles import PROFILES

router = APIRouter()

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
_ASSET_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}\.(js|css)$")
_ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# The page loads only its own files; media may also come from a job's URL source, tracks from blob:.
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "media-src 'self' blob: http: https:; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'none'")
_NO_CACHE = {"Cache-Control": "no-cache"}
_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 403, 404)}


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    """The page itself."""
    return FileResponse(WEB_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers={**_NO_CACHE, "Content-Security-Policy": _CSP,
                                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})


@router.get("/web/config.json", include_in_schema=False)
async def web_config() -> dict[str, Any]:
    """What the upload form offers: the stage graph's stages and the subtitle style profiles."""
    return {
        "stages": [{"name": s.name, "description": s.description, "needs": list(s.needs)}
                   for s in stage_graph.STAGES.values()],
        "profiles": [{"name": p.name, "description": p.description} for p in PROFILES.values()],
        "default_profile": "netflix-en",
    }


@router.get("/web/{name}", include_in_schema=False)
async def asset(name: str) -> FileResponse:
    """A script or style sheet of the page (plain names only: nothing outside ``app/web``)."""
    path = WEB_DIR / name
    if not _ASSET_NAME.match(name) or not await to_thread.run_sync(path.is_file):
        raise NotFound(f"no web asset {name!r}.")
    return FileResponse(path, media_type=_ASSET_TYPES[path.suffix],
                        headers={**_NO_CACHE, "X-Content-Type-Options": "nosniff"})


_SOURCE_OK = {"description": "The media file; HTTP range requests are supported (players seek with them).",
              "content": {"video/*": {}, "audio/*": {}, "application/octet-stream": {}}}


@router.get("/v1/jobs/{job_id}/source", tags=["jobs"], operation_id="getSource",
            response_class=FileResponse, responses={200: _SOURCE_OK, **_ERRORS},
            summary="The job's source media (an upload or a path; a URL source is at its URL)")
async def get_source(job_id: JobId, services: ServicesDep, owner: OwnerDep) -> FileResponse:
    """Stream the media the job was made from to the job's owner (same auth as its result files)."""
    job = await load_job(services, job_id, owner)
    src = job.source
    if src.kind == "url":
        raise NotFound(f"job {job_id} was made from a URL; fetch the media from there.",
                       detail={"url": src.location})
    path = Path(src.location)
    if not await to_thread.run_sync(path.is_file):
        raise NotFound(f"the source media of job {job_id} is no longer stored.", detail={"job_id": job_id})
    return FileResponse(path, filename=src.filename or path.name, content_disposition_type="inline")
