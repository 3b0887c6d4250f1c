"""Submitting a job: validate everything first, then store the media, then create and enqueue.

Order matters for "bad input leaves nothing behind": stages, options, metadata, the webhook URL
and the queue limit are checked before any byte is stored; an upload is received into
``incoming/`` and probed, and moved under the job only once it is known to be media.

An ``Idempotency-Key`` stands for one request (as Stripe's and the IETF draft's keys do): the
same request again answers with the job it made; another request with the same key is refused
(422 ``idempotency_key_reused``), compared by ``request_fingerprint``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from anyio import to_thread
from starlette.datastructures import FormData, UploadFile

from app import limits
from app.api import SMALL_UPLOAD_BYTES, Services
from app.exceptions import InvalidInput, TooManyJobs
from app.jobs import Job, Source, StageState, new_job_id
from app.settings import Settings
from app.sources import (
    check_source_url,
    fd_path,
    identity,
    is_url,
    media_dict,
    open_path_source,
    probe_or_415,
    receive_upload,
    resolve_path,
)
from app.stages.graph import STAGES, normalise_options, plan
from app.storage import safe_filename
from app.webhooks import WebhookDelivery
from pipelines.models import model_path

log = logging.getLogger(__name__)


@dataclass
class Submission:
    """A parsed request, before validation: exactly one of ``source`` and ``upload`` is set."""

    stages: list[str]
    options: Any
    metadata: Any
    webhook_url: str | None
    source: str | None = None
    upload: UploadFile | None = None
    form: FormData | None = None


# Options JSON up to this size are remembered with what they normalise to (most clients send the
# same few requests); a larger one (a fit's whole subtitle file) is worked out each time.
_REMEMBERED_OPTIONS_CHARS = 4096
# How long a model found installed is taken to be there without looking again.
_INSTALLED_TTL_S = 10.0
_installed: dict[tuple[str, str], float] = {}


def _normalise_and_models(planned: list[str], options: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """The stored form of ``options`` (JSON text) and the models the stages will load."""
    normalised = normalise_options(planned, options)
    models = tuple(dict.fromkeys(m for name in planned for m in STAGES[name].required_models(normalised[name])))
    return json.dumps(normalised), models


@functools.lru_cache(maxsize=256)
def _remembered(key: str) -> tuple[str, tuple[str, ...]]:
    planned, options = json.loads(key)
    return _normalise_and_models(planned, options)


def _check_models(models: tuple[str, ...], settings: Settings) -> None:
    """Refuse a job whose stages need a model this server has not installed (the worker could
    only fail it later). A model found is not looked for again for ``_INSTALLED_TTL_S``: the
    look costs a quarter of a millisecond of files to stat on every submit.

    Raises:
        ModelNotInstalledError: naming the model and its install command (503).
    """
    now = time.monotonic()
    for model in models:
        key = (model, str(settings.model_dir))
        if now - _installed.get(key, -_INSTALLED_TTL_S) < _INSTALLED_TTL_S:
            continue
        model_path(model, settings.model_dir)
        _installed[key] = now


def validate_request(sub: Submission, settings: Settings) -> tuple[list[str], dict[str, dict[str, object]]]:
    """Planned stages (dependencies added, in order) and their options, normalised: every option
    of every planned stage, defaults filled in, as the job stores them and the worker reads them.

    Raises:
        OptionsError / InvalidInput: unknown stages or options, options for stages not requested,
        bad metadata.
        ModelNotInstalledError: a stage would need a model that is not installed.
    """
    if not isinstance(sub.stages, list) or not all(isinstance(s, str) for s in sub.stages):
        raise InvalidInput("stages must be a list of stage names.", code="validation_error")
    planned = plan(sub.stages)
    if not isinstance(sub.options, dict) or not all(isinstance(v, dict) for v in sub.options.values()):
        raise InvalidInput("options must be an object of objects: {\"stage name\": {option: value}}.",
                           code="validation_error")
    limits.check_options(sub.options, settings)
    stray = sorted(set(sub.options) - set(planned))
    if stray:
        raise InvalidInput(f"options given for stage(s) not requested: {', '.join(stray)}. "
                           f"Requested: {', '.join(planned)}.", code="invalid_options")
    # Parsing every option of every stage is a fifth of a submit's time on the event loop: a
    # request's options are worked out once and remembered (the same text, the same result).
    key = json.dumps([planned, sub.options], ensure_ascii=False)
    stored, models = (_remembered(key) if len(key) <= _REMEMBERED_OPTIONS_CHARS
                      else _normalise_and_models(planned, sub.options))
    options = json.loads(stored)
    _check_models(models, settings)
    if not isinstance(sub.metadata, dict):
        raise InvalidInput("metadata must be a JSON object.", code="validation_error")
    limits.check_json(sub.metadata, "metadata", max_bytes=settings.max_metadata_bytes,
                      max_depth=settings.max_json_depth)
    return planned, options


def check_webhook_url(url: str, settings: Settings) -> None:
    """Refuse a webhook URL that could never be delivered to: no signing secret on the server, or
    a private or loopback host unless allowed (resolves the host; blocking).

    Raises:
        UrlNotAllowed: naming the problem and the setting that changes it.
    """
    WebhookDelivery(url, settings.webhook_secret.get_secret_value(), allow_private=settings.allow_private_urls)


def request_fingerprint(sub: Submission, planned: list[str],
                        options: dict[str, dict[str, object]]) -> dict[str, str]:
    """What an idempotency key stands for: a SHA-256 of each part of the request. ``media`` is the
    upload's content (not its name) or the source as given; stages and options as the job stores
    them (planned, normalised), so two spellings of one job are one request. Blocking: reads the
    upload (then rewinds it)."""
    def digest(value: object) -> str:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    if sub.upload is not None:
        media = hashlib.sha256()
        stream = sub.upload.file
        stream.seek(0)
        while chunk := stream.read(1 << 20):
            media.update(chunk)
        stream.seek(0)
        media_digest = media.hexdigest()
    else:
        media_digest = digest({"source": sub.source})
    return {"media": media_digest, "stages": digest(planned), "options": digest(options),
            "webhook_url": digest(sub.webhook_url), "metadata": digest(sub.metadata)}


def _prepare_source(services: Services, sub: Submission) -> tuple[Source, Path | None]:
    """Blocking: the job's source, and the received upload (a temporary file) if any."""
    s = services.settings
    if sub.upload is not None:
        filename = safe_filename(sub.upload.filename, "upload")
        tmp, info = receive_upload(services.storage, sub.upload.file, filename, int(s.max_upload_mb * 1e6))
        described = media_dict(info)
        try:
            limits.check_media(described, s, filename)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return Source("upload", str(tmp), filename, info.size_bytes, described), tmp
    assert sub.source is not None
    if is_url(sub.source):
        url = check_source_url(sub.source, allow_private=s.allow_private_urls)
        name = safe_filename(url.split("?")[0].rstrip("/").rsplit("/", 1)[-1], "media")
        return Source("url", url, name), None
    path = resolve_path(sub.source, s.allowed_roots)
    fd = open_path_source(str(path), s.allowed_roots)  # what is probed is what the job will read
    try:
        info = probe_or_415(fd_path(fd), sub.source)
        described = media_dict(info)
        limits.check_media(described, s, sub.source)
        return Source("path", str(path), path.name, info.size_bytes, described, identity(fd)), None
    finally:
        os.close(fd)


def probe_path_source(services: Services, path: str) -> Source:
    """Blocking: the source a job of ``path`` would have, checked as its submit checks it (under
    an allowed root, usable media within the media limits); a batch counts its media with it.

    Raises:
        Forbidden / InvalidInput / UnsupportedMedia: what submitting ``path`` would answer.
    """
    source, _ = _prepare_source(services, Submission(stages=[], options={}, metadata={}, webhook_url=None,
                                                     source=path))
    return source


def _create(services: Services, job: Job, tmp: Path | None,
            fingerprint: dict[str, str] | None) -> tuple[Job, bool]:
    """Blocking: commit the upload under the job, insert the job; undo the files on any failure."""
    try:
        if tmp is not None:
            stored = services.storage.commit_input(job.id, tmp, job.source.filename or "upload")
            job = job.with_changes(source=replace(job.source, location=str(stored)))
        saved, created = services.store.create(job, services.settings.queue_limit_per_key, fingerprint)
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        services.storage.delete(job.id)
        raise
    if not created:  # an idempotent replay raced us: keep the first job only
        services.storage.delete(job.id)
    return saved, created


def _admit(services: Services, owner: str, sub: Submission, planned: list[str],
           options: dict[str, dict[str, object]], idempotency_key: str | None) -> tuple[Job, bool]:
    """Blocking, in one worker thread (one hop instead of four): the idempotent replay (or the
    refusal of a key reused for another request), the queue limit, the webhook URL, the source
    (received and probed), then the job row."""
    s = services.settings
    fingerprint = None
    if idempotency_key:
        fingerprint = request_fingerprint(sub, planned, options)
        existing = services.store.find_idempotent(owner, idempotency_key, fingerprint)
        if existing is not None:
            return existing, False
    # Checked again, atomically, with the insert; this early check spares receiving the media.
    active = services.store.count_active(owner)
    if active >= s.queue_limit_per_key:
        raise TooManyJobs(f"{active} jobs are queued or running for this API key (limit "
                          f"{s.queue_limit_per_key}); wait for some to finish.",
                          detail={"active": active, "limit": s.queue_limit_per_key})
    if sub.webhook_url:
        check_webhook_url(sub.webhook_url, s)
    started = time.perf_counter()
    source, tmp = _prepare_source(services, sub)
    services.metrics.source_seconds.labels("upload" if sub.upload else "json").observe(
        time.perf_counter() - started)
    job = Job(id=new_job_id(), owner=owner, source=source, stages=tuple(planned), options=options,
              stage_states={name: StageState() for name in planned}, webhook_url=sub.webhook_url,
              idempotency_key=idempotency_key, metadata=sub.metadata)
    return _create(services, job, tmp, fingerprint)


async def submit_job(services: Services, owner: str, sub: Submission,
                     idempotency_key: str | None) -> tuple[Job, bool]:
    """Validate, store and enqueue a submission; returns the job and whether it is new."""
    try:
        planned, options = validate_request(sub, services.settings)
        small = sub.upload is not None and sub.upload.size is not None and sub.upload.size <= SMALL_UPLOAD_BYTES
        limiter = services.small_upload_limiter if small else services.media_limiter
        job, created = await to_thread.run_sync(_admit, services, owner, sub, planned, options, idempotency_key,
                                                limiter=limiter)
    finally:
        if sub.form is not None:
            await sub.form.close()
    if created:
        services.queue.enqueue(job.id)
        services.metrics.submitted.labels(job.source.kind).inc()
        log.info("%s: submitted by %s (%s %s), stages %s", job.id, owner, job.source.kind,
                 job.source.filename, ",".join(job.stages))
    return job, created
