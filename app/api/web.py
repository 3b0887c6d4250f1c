"""The web page (``/``, its static files under ``/web/``) and the source media of a job.

The page is plain HTML, CSS and ES modules in ``app/web`` (no build step). It talks to the job
API like any other client. ``GET /v1/jobs/{id}/source`` gives the uploaded media back to the job's
owner (same auth as the job's other files) so the page can play it with the subtitles over it;
``POST /v1/jobs/{id}/source-link`` gives a signed, expiring URL of it for a ``<video>``, which
cannot send the key (``app.api.links``), so it streams with range requests as it plays.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from anyio import to_thread
from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from app.api import OwnerDep, ServicesDep
from app.api.errors import ErrorBody
from app.api.jobs import JobId, load_job
from app.api.links import EVENTS_LINK_TTL_S, source_link
from app.exceptions import NotFound
from app.sources import fd_path, open_path_source
from app.stages import subtitles
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
    """What the upload form offers beside the stages (``GET /v1/stages``): the subtitle style
    profiles, and the stage its language and profile choices are options of."""
    return {
        "subtitle_stage": subtitles.NAME,
        "profiles": [{"name": subtitles.AUTO_PROFILE, "description": "Netflix's rules for the language heard "
                      "(Chinese, Japanese, Korean: their own; others: English's)."},
                     *({"name": p.name, "description": p.description} for p in PROFILES.values())],
        "default_profile": subtitles.AUTO_PROFILE,
    }


@router.get("/web/{name}", include_in_schema=False)
async def asset(name: str) -> FileResponse:
    """A script or style sheet of the page (plain names only: nothing outside ``app/web``)."""
    path = WEB_DIR / name
    if not _ASSET_NAME.match(name) or not await to_thread.run_sync(path.is_file):
        raise NotFound(f"no web asset {name!r}.")
    return FileResponse(path, media_type=_ASSET_TYPES[path.suffix],
                        headers={**_NO_CACHE, "X-Content-Type-Options": "nosniff"})


# The probe's container format (FFmpeg's demuxer name) -> the media type with video, and without.
_SOURCE_TYPES = {
    "mov,mp4,m4a,3gp,3g2,mj2": ("video/mp4", "audio/mp4"),
    "matroska,webm": ("video/x-matroska", "audio/x-matroska"),
    "ogg": ("video/ogg", "audio/ogg"),
    "avi": ("video/x-msvideo", "video/x-msvideo"),
    "mpegts": ("video/mp2t", "video/mp2t"),
    "mpeg": ("video/mpeg", "audio/mpeg"),
    "flv": ("video/x-flv", "video/x-flv"),
    "asf": ("video/x-ms-asf", "audio/x-ms-wma"),
    "mp3": ("audio/mpeg", "audio/mpeg"),
    "wav": ("audio/wav", "audio/wav"),
    "flac": ("audio/flac", "audio/flac"),
    "aac": ("audio/aac", "audio/aac"),
}
_WEBM_CODECS = {"vp8", "vp9", "av1", "opus", "vorbis", None}


def source_media_type(media: dict[str, Any] | None) -> str:
    """The media type of a job's source from what the probe found, never from its name (an MP4
    uploaded as ``lesson.txt`` is ``video/mp4``); ``application/octet-stream`` when unknown."""
    if not media:
        return "application/octet-stream"
    fmt = str(media.get("format") or "")
    if fmt == "matroska,webm" and {media.get("video_codec"), media.get("audio_codec")} <= _WEBM_CODECS:
        return "video/webm" if media.get("has_video") else "audio/webm"
    types = _SOURCE_TYPES.get(fmt)
    if types is None:
        return "application/octet-stream"
    return types[0] if media.get("has_video") else types[1]


_SOURCE_OK = {"description": "The media file; HTTP range requests are supported (players seek with them).",
              "content": {"video/*": {}, "audio/*": {}, "application/octet-stream": {}}}


class SourceLink(BaseModel):
    """A URL of the job's source media that needs no ``Authorization`` header until it expires."""

    url: str
    expires_at: str | None


@router.post("/v1/jobs/{job_id}/source-link", tags=["jobs"], operation_id="createSourceLink",
             response_model=SourceLink, responses=_ERRORS,
             summary="A signed, expiring URL of the job's source media (for a <video> element)")
async def create_source_link(job_id: JobId, services: ServicesDep, owner: OwnerDep) -> SourceLink:
    """With API keys off the plain URL (it needs no key); with keys on a signed one (6 hours)."""
    job = await load_job(services, job_id, owner)
    if job.source.kind == "url":
        raise NotFound(f"job {job_id} was made from a URL; fetch the media from there.",
                       detail={"url": job.source.location})
    if not services.key_ids:
        return SourceLink(url=f"/v1/jobs/{job_id}/source", expires_at=None)
    url, expires_at = source_link(services.key_ids, job_id, owner)
    return SourceLink(url=url, expires_at=expires_at)


@router.post("/v1/jobs/{job_id}/events-link", tags=["jobs"], operation_id="createEventsLink",
             response_model=SourceLink, responses=_ERRORS,
             summary="A signed URL of the job's event stream, valid 5 minutes (for an EventSource)")
async def create_events_link(job_id: JobId, services: ServicesDep, owner: OwnerDep) -> SourceLink:
    """With API keys off the plain URL; with keys on a signed one, so no key goes in a URL."""
    await load_job(services, job_id, owner)
    if not services.key_ids:
        return SourceLink(url=f"/v1/jobs/{job_id}/events", expires_at=None)
    url, expires_at = source_link(services.key_ids, job_id, owner, ttl_s=EVENTS_LINK_TTL_S, resource="events")
    return SourceLink(url=url, expires_at=expires_at)


@router.get("/v1/jobs/{job_id}/source", tags=["jobs"], operation_id="getSource",
            response_class=FileResponse, responses={200: _SOURCE_OK, **_ERRORS},
            summary="The job's source media (an upload or a path; a URL source is at its URL)")
async def get_source(job_id: JobId, services: ServicesDep, owner: OwnerDep) -> FileResponse:
    """Stream the media the job was made from to the job's owner (same auth as its result files, or
    a signed link from ``POST /v1/jobs/{id}/source-link``: ``?owner=&expires=&signature=``)."""
    job = await load_job(services, job_id, owner)
    src = job.source
    if src.kind == "url":
        raise NotFound(f"job {job_id} was made from a URL; fetch the media from there.",
                       detail={"url": src.location})
    if src.kind == "path":  # served only if it is still the file checked at submit (no symlink swap)
        fd = await to_thread.run_sync(open_path_source, src.location, services.settings.allowed_roots,
                                      src.identity)
    else:
        path = Path(src.location)
        if not await to_thread.run_sync(path.is_file):
            raise NotFound(f"the source media of job {job_id} is no longer stored.", detail={"job_id": job_id})
        fd = await to_thread.run_sync(os.open, path, os.O_RDONLY | os.O_NOFOLLOW)
    return _OpenedFileResponse(fd, filename=src.filename or Path(src.location).name,
                               media_type=source_media_type(src.media))


class _OpenedFileResponse(FileResponse):
    """A file response over a descriptor opened (and checked) before answering; closed at the end."""

    def __init__(self, fd: int, filename: str, media_type: str) -> None:
        self._fd = fd
        super().__init__(fd_path(fd), filename=filename, media_type=media_type, content_disposition_type="inline")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            os.close(self._fd)
