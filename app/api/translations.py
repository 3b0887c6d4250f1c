"""Translation routes: the XLIFF export of a finished job, the import of its translation, the list of
imported translations.

``GET /v1/jobs/{id}/files/translation.xlf?version=2.1&target=de`` is registered before the job
routes' ``/files/{name}`` so that it is not taken for a stored file. An import is checked first
(a 4xx names every unit and problem, nothing written), then fitted in a worker thread with the
API process's sentence fitter (as ``POST /v1/fit`` does) and announced with a
``translation.merged`` webhook event; the preview video is rendered after the answer is sent.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from anyio import to_thread
from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from app.api import OwnerDep, Services, ServicesDep
from app.api.errors import ErrorBody, error_response
from app.api.fit import fitter_lock
from app.api.jobs import JobId, load_job
from app.exceptions import Conflict, InvalidInput, PayloadTooLarge
from app.jobs import Job, StageStatus
from app.stages import ocr, subtitles
from app.webhooks import WebhookEvent
from pipelines.exceptions import PipelineError, TranslationFileError

if TYPE_CHECKING:
    from app import translations  # imported where used: lxml, RapidFuzz... at the API's start-up
    from pipelines.fit.sentence import SentenceFitter
    from pipelines.subtitles import StyleProfile

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/jobs", tags=["translations"])

MAX_TRANSLATION_BYTES = 20_000_000
XLIFF_MEDIA_TYPE = "application/xliff+xml"
TEXT_STAGES = (subtitles.NAME, ocr.NAME)  # the stages whose text is translated
_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 403, 404, 409, 413, 422)}


def _profile(job: Job, language: str | None) -> StyleProfile:
    """The job's subtitle profile for text in ``language`` (the translation's): with ``auto``, Netflix's
    for that language (a Chinese job's English translation gets 42 characters a line, not 16)."""
    return subtitles.STAGE.parse(job.options.get(subtitles.NAME, {})).style(language or "")


def _results(services: Services, job: Job) -> Path:
    """The results folder of a job whose text stages (subtitles: speech, ocr: on-screen text) have
    ended, one of them with results; which units it holds is ``translations.load_document``'s to say."""
    states = {name: job.stage_states.get(name) for name in TEXT_STAGES}
    said = ", ".join(f"the {n} stage {'did not run' if st is None else st.status.value}" for n, st in states.items())
    if any(st is not None and st.status in (StageStatus.PENDING, StageStatus.RUNNING) for st in states.values()):
        raise Conflict(f"job {job.id} has no text to translate yet ({said}); results come when it ends: "
                       f"/v1/jobs/{job.id}/events.", code="nothing_to_translate")
    if not any(st is not None and st.status == StageStatus.SUCCEEDED for st in states.values()):
        raise Conflict(f"job {job.id} has no text to translate ({said}); run it with the subtitles stage on "
                       "media with speech, or the ocr stage on a video with text.", code="nothing_to_translate")
    return services.storage.results_dir(job.id)


def _links(job_id: str, names: list[str]) -> list[dict[str, str]]:
    return [{"name": n, "url": f"/v1/jobs/{job_id}/files/{n}"} for n in names]


@router.get("/{job_id}/files/translation.xlf", response_class=Response, responses=_ERRORS,
            operation_id="getTranslationExport",
            summary="The job's cues and on-screen texts as XLIFF for translators")
async def export_translation(
    job_id: JobId, services: ServicesDep, owner: OwnerDep,
    version: Annotated[Literal["2.1", "1.2"], Query(description="XLIFF version (1.2 for older tools).")] = "2.1",
    target: Annotated[str | None, Query(max_length=16, description="Target language, e.g. de.")] = None,
) -> Response:
    """One unit per cue, per burned-in caption and per distinct on-screen text, with stable ids, context
    notes and a length limit (XLIFF 2.1: ``slr:sizeRestriction``; 1.2: ``maxwidth`` with ``size-unit="char"``)."""
    from app import translations

    job = await load_job(services, job_id, owner)
    folder = _results(services, job)
    data = await to_thread.run_sync(translations.export_xliff, folder, job.id, _profile(job, target), target, version)
    name = f"translation.{target}.xlf" if target else "translation.xlf"
    return Response(data, media_type=XLIFF_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def translation_event(job: Job, outcome: translations.ImportOutcome) -> WebhookEvent:
    """``translation.merged``: a translation of ``job`` was imported (one event per import)."""
    event_id = f"evt_{job.id}_translation_{outcome.language}_{outcome.imported_at.replace(':', '')}"
    payload = {
        "id": event_id, "type": "translation.merged", "created_at": outcome.imported_at,
        "data": {"job_id": job.id, "language": outcome.language, "mode": outcome.mode,
                 "format": outcome.format, "counts": outcome.counts, "files": outcome.files,
                 "links": {"translations": f"/v1/jobs/{job.id}/translations",
                           "files": [f"/v1/jobs/{job.id}/files/{f}" for f in outcome.files]}},
    }
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return WebhookEvent(event_id, "translation.merged", job.id, body)


async def _read_form(request: Request) -> tuple[bytes, dict[str, str]]:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_TRANSLATION_BYTES + 100_000:
        raise PayloadTooLarge(f"a translation file may be at most {MAX_TRANSLATION_BYTES // 1_000_000} MB.")
    try:
        form = await request.form(max_files=1, max_fields=8)
    except Exception as e:
        raise InvalidInput(f"could not read the multipart form: {e}.", code="validation_error") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("send the translated file in a multipart field named 'file'.",
                               code="validation_error")
        data = await upload.read(MAX_TRANSLATION_BYTES + 1)
        if len(data) > MAX_TRANSLATION_BYTES:
            raise PayloadTooLarge(f"a translation file may be at most {MAX_TRANSLATION_BYTES // 1_000_000} MB.")
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        return data, fields
    finally:
        await form.close()


def _import(services: Services, folder: Path, job: Job, data: bytes, language: str | None,
            mode: translations.Mode) -> translations.ImportOutcome:
    from app import translations

    profile = _profile(job, language or translations.file_language(data))
    doc = translations.load_document(folder, job.id, profile, language)

    def fitter(lang: str) -> SentenceFitter:
        return translations.fitter_for(services.models, lang)

    # One fit at a time on the process's fitter (it is shared with POST /v1/fit).
    with fitter_lock:
        return translations.import_translation(folder, doc, profile, data, language, fitter, mode=mode)


def _render_preview(folder: Path, job: Job, language: str) -> None:
    from app import translations

    media = Path(job.source.location)
    has_audio = bool((job.source.media or {}).get("has_audio", True))
    try:
        translations.render_translation_preview(folder, media, language, has_audio)
    except Exception:  # the translation is merged; a preview that fails is logged, not fatal
        log.exception("preview of %s in %s failed", job.id, language)


@router.post("/{job_id}/translations", status_code=201, responses=_ERRORS, operation_id="importTranslation",
             summary="Merge a translated XLIFF (or SRT/WebVTT aligned by cue number) into the job",
             openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                 "type": "object", "required": ["file"], "properties": {
                     "file": {"type": "string", "format": "binary",
                              "description": "Translated XLIFF 2.x/1.2, or SRT/WebVTT with the job's cues."},
                     "target_language": {"type": "string", "description": "e.g. de (default: the file's)."},
                     "mode": {"type": "string", "enum": ["reading", "speaking"], "default": "reading"},
                     "preview": {"type": "boolean", "default": True}}}}}}})
async def import_translation(job_id: JobId, request: Request, services: ServicesDep, owner: OwnerDep,
                             background: BackgroundTasks) -> JSONResponse:
    """Check every target against its unit and slot, fit the over-long ones in the target language
    (reading mode: the job's subtitle profile; speaking mode for voice-over) and write
    ``subtitles.<lang>.srt/.vtt`` (a job with cues), ``hardsubs.<lang>.srt/.vtt`` (with burned-in
    captions), ``translation.<lang>.json`` (a report per cue and caption) and ``screen_text.<lang>.json``. The job's timings are kept: ``warnings`` names the cues an
    SRT/WebVTT (or XLIFF) file timed otherwise.

    Errors: 422 ``invalid_translation`` with ``detail.problems`` (``unit``, ``problem``) for a file
    that is not XLIFF/SRT/WebVTT, another job's, in another language, or with unknown, missing or
    empty units; nothing is written then. 409 while the job's subtitles or ocr stage runs, or when it
    has no text to translate.
    """
    from app import translations

    job = await load_job(services, job_id, owner)
    folder = _results(services, job)
    data, fields = await _read_form(request)
    language = fields.get("target_language") or fields.get("target") or None
    asked = fields.get("mode", "reading")
    if asked not in ("reading", "speaking"):
        raise InvalidInput(f"mode must be 'reading' or 'speaking', not {asked!r}.", code="validation_error")
    mode: translations.Mode = "speaking" if asked == "speaking" else "reading"
    try:
        outcome = await to_thread.run_sync(_import, services, folder, job, data, language, mode)
    except TranslationFileError as e:
        return error_response(422, "invalid_translation", str(e),
                              {"problems": [{"unit": p.unit, "problem": p.problem} for p in e.problems]})
    except PipelineError:
        raise
    if job.webhook_url:
        services.webhooks.send(translation_event(job, outcome), job.webhook_url)
    preview = "not available: the job's media is a URL source"
    if not outcome.previewable:
        preview = "not available: the translation has on-screen texts only, no subtitles to show"
    elif job.source.kind != "url" and (job.source.media or {}).get("has_video", True) and \
            fields.get("preview", "true").lower() not in ("false", "0", "no"):
        background.add_task(_render_preview, folder, job, outcome.language)
        preview = f"rendering: /v1/jobs/{job.id}/files/{translations.files_for(outcome.language)['preview']}"
    log.info("translation %s of %s merged: %s", outcome.language, job.id, outcome.counts)
    for warning in outcome.warnings:
        log.warning("translation %s of %s: %s", outcome.language, job.id, warning)
    return JSONResponse({"job_id": job.id, "language": outcome.language, "mode": outcome.mode,
                         "format": outcome.format, "counts": outcome.counts, "seconds": outcome.seconds,
                         "warnings": outcome.warnings, "files": _links(job.id, outcome.files), "preview": preview,
                         "links": {"translations": f"/v1/jobs/{job.id}/translations"}}, status_code=201)


@router.get("/{job_id}/translations", responses=_ERRORS, operation_id="listTranslations",
            summary="The translations imported into the job, with their files")
async def list_translations(job_id: JobId, services: ServicesDep, owner: OwnerDep) -> dict[str, Any]:
    from app import translations

    job = await load_job(services, job_id, owner)
    folder = services.storage.results_dir(job.id)
    index = await to_thread.run_sync(translations.read_index, folder)
    return {"job_id": job.id, "languages": {
        lang: {**entry, "files": _links(job.id, entry.get("files", []))}
        for lang, entry in sorted(index["languages"].items())}}
