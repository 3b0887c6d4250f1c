"""HTTP API: routers by resource (jobs, health) and the dependencies they share."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated

from anyio import CapacityLimiter
from fastapi import Depends, Request

from app.api.links import verify
from app.exceptions import Unauthorized
from app.jobs import Job
from app.lifecycle import JobLifecycle, LocalWebhooks
from app.metrics import Metrics
from app.model_cache import ModelCache
from app.queue import Queue
from app.settings import Settings
from app.storage import Storage
from app.store import JobStore

ANONYMOUS = "anonymous"
SMALL_UPLOAD_BYTES = 1 << 20  # Starlette keeps an upload this small in memory


@dataclass
class Services:
    """What the routes use, built once in the app's lifespan and kept on ``app.state.services``."""

    settings: Settings
    store: JobStore
    storage: Storage
    queue: Queue
    webhooks: LocalWebhooks
    metrics: Metrics
    key_ids: dict[str, str]
    models: ModelCache  # the synchronous routes' models (/v1/classify, /v1/fit), loaded on first use
    lifecycle: JobLifecycle  # jobs and batches that end in this process: counted, announced
    on_finished: Callable[[Job], None]  # ``lifecycle.finished``: a job ended here
    media_slots: int = field(default=2)  # receiving and probing media at once

    @cached_property
    def media_limiter(self) -> CapacityLimiter:
        """Threads receiving and probing media: kept apart from the store's. Made on first use:
        making it imports anyio's event-loop backend, which nothing before the first submission
        needs (about 30 ms more before the first /healthz answer)."""
        return CapacityLimiter(self.media_slots)

    @cached_property
    def small_upload_limiter(self) -> CapacityLimiter:
        """The one thread that admits small uploads (``SMALL_UPLOAD_BYTES``, received in memory),
        one after another. Their admission is Python holding the GIL (the probe, the store's
        statements) more than waiting on the disk: four at once made a burst of 50 submissions cost
        the HTTP process ~40 % more CPU than one at a time, in GIL hand-offs; a large upload
        copied to disk keeps ``media_limiter``'s threads and never holds a small one up."""
        return CapacityLimiter(1)


# The dependencies are ``async def``: FastAPI runs a plain ``def`` dependency in the thread pool,
# two thread hops per request for what takes microseconds (a fifth of a status poll's CPU, and
# under load each hop waits for a thread and the GIL). Neither blocks.


async def get_services(request: Request) -> Services:
    return _services(request)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_owner(request: Request) -> str:
    """The caller's key id from ``Authorization: Bearer <key>``; ``anonymous`` when auth is off.

    Raises:
        Unauthorized: keys are configured and the request has none or an unknown one.
    """
    key_ids = _services(request).key_ids
    if not key_ids:
        return ANONYMOUS
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    resource = request.url.path.rsplit("/", 1)[-1]
    if not scheme and resource in ("source", "events") and "signature" in request.query_params:
        # A <video> or an EventSource cannot send headers: a signed, expiring link stands in.
        return verify(key_ids, str(request.path_params.get("job_id", "")), request.query_params,
                      resource="source" if resource == "source" else "events")
    if not scheme and "access_token" in request.query_params:
        raise Unauthorized("an API key never goes in a URL (it would be logged): send `Authorization: Bearer "
                           "<key>`, or for an EventSource use the link from POST /v1/jobs/{id}/events-link.")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("this server needs an API key: send `Authorization: Bearer <key>`.")
    token = token.strip()
    owner = None
    for key, key_id in key_ids.items():  # compare against all keys, in constant time
        if hmac.compare_digest(key.encode(), token.encode()):
            owner = key_id
    if owner is None:
        raise Unauthorized("unknown API key.", code="invalid_api_key")
    return owner


ServicesDep = Annotated[Services, Depends(get_services)]
OwnerDep = Annotated[str, Depends(get_owner)]
