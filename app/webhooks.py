"""Signed webhook delivery: URL rules, HMAC-SHA256 signatures, the events, one attempt at a time.

A ``WebhookDelivery`` validates its URL when built (http/https only; private, loopback,
link-local and reserved addresses refused unless allowed) and makes one signed attempt at a
time, never raising. ``WebhookDispatcher`` runs attempts in the background of one process and
repeats them after the delay each one asks for. When to retry, how long to wait and what is
recorded is the policy of ``app.lifecycle``, the same for both queues. Delivery is at least
once; the event id stays the same across retries and restarts so a receiver can drop duplicates.

Headers of every POST (body: the JSON event)::

    X-Lessonlens-Event-Id:  evt_<job id>_<status>   (same on every retry)
    X-Lessonlens-Event:     job.succeeded | job.failed | job.cancelled
    X-Lessonlens-Timestamp: <unix seconds at sending>
    X-Lessonlens-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from app.exceptions import UrlNotAllowed
from app.jobs import Batch, BatchSummary, Job, WebhookDeliveryRecord, now_iso
from app.urls import check_url, pinned_client

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Lessonlens-Signature"
TIMESTAMP_HEADER = "X-Lessonlens-Timestamp"
EVENT_ID_HEADER = "X-Lessonlens-Event-Id"
EVENT_HEADER = "X-Lessonlens-Event"


# ---------------------------------------------------------------- signing


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: ``v1=`` + hex HMAC-SHA256 over ``"<timestamp>." + body``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(secret: str, timestamp: str, signature: str, body: bytes, *, tolerance_s: float = 300,
           now: float | None = None) -> bool:
    """Check a received webhook (what a receiver does; see the README snippet)."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


# ---------------------------------------------------------------- events and delivery


@dataclass(frozen=True)
class WebhookEvent:
    """One event: its id (stable across retries), type, job and the exact body sent."""

    id: str
    type: str
    job_id: str
    body: bytes


def job_event(job: Job) -> WebhookEvent:
    """The event announcing that ``job`` finished (succeeded, failed or cancelled)."""
    event_id = f"evt_{job.id}_{job.status.value}"
    etype = f"job.{job.status.value}"
    payload: dict[str, Any] = {
        "id": event_id, "type": etype, "created_at": job.finished_at or now_iso(),
        "data": {
            "job_id": job.id, "status": job.status.value, "error": job.error,
            "attempts": job.attempts, "metadata": job.metadata,
            "stages": {k: {"status": v.status.value, "seconds": v.seconds, "files": list(v.files),
                           "reason": v.reason, "error": v.error}
                       for k, v in job.stage_states.items()},
            "links": {"job": f"/v1/jobs/{job.id}", "result": f"/v1/jobs/{job.id}/result"},
        },
    }
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return WebhookEvent(event_id, etype, job.id, body)


def batch_event(batch: Batch, summary: BatchSummary) -> WebhookEvent:
    """The one event announcing that every job of a batch ended."""
    event_id = f"evt_{batch.id}_finished"
    payload: dict[str, Any] = {
        "id": event_id, "type": "batch.finished", "created_at": batch.finished_at or now_iso(),
        "data": {
            "batch_id": batch.id, "status": str(summary.status), "progress": summary.progress,
            "counts": summary.counts, "jobs": list(batch.job_ids),
            "rejected": [{"path": r.path, "reason": r.reason} for r in batch.rejected],
            "metadata": batch.metadata, "links": {"batch": f"/v1/batches/{batch.id}"},
        },
    }
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return WebhookEvent(event_id, "batch.finished", "", body)


@dataclass(frozen=True)
class PendingEvent:
    """An event to send: where to, the number of its next attempt (1-based), and the time (unix
    seconds) before which that attempt must not be made (0: now), the end of the backoff after
    the last attempt when that one was made by an earlier process."""

    event: WebhookEvent
    url: str
    attempt: int = 1
    not_before: float = 0.0


class WebhookDelivery:
    """Signed POSTs of events to one URL. The constructor validates the URL (``UrlNotAllowed``)."""

    def __init__(self, url: str, secret: str, *, allow_private: bool = False, timeout_s: float = 10,
                 resolve: bool = True) -> None:
        if not secret:
            raise UrlNotAllowed("webhooks need a signing secret: set LESSONLENS_WEBHOOK_SECRET on the server.",
                                code="webhooks_disabled")
        self.url = check_url(url, allow_private=allow_private, what="webhook_url") if resolve else url
        self._secret = secret
        self._allow_private = allow_private
        self._timeout = timeout_s

    def headers(self, event: WebhookEvent, attempt: int, timestamp: int | None = None) -> dict[str, str]:
        ts = int(time.time()) if timestamp is None else timestamp
        return {
            "Content-Type": "application/json", "User-Agent": "lessonlens-webhooks/1",
            EVENT_ID_HEADER: event.id, EVENT_HEADER: event.type, TIMESTAMP_HEADER: str(ts),
            SIGNATURE_HEADER: sign(self._secret, ts, event.body), "X-Lessonlens-Attempt": str(attempt),
        }

    def attempt(self, event: WebhookEvent, attempt: int) -> WebhookDeliveryRecord:
        """One POST; a 2xx answer is success. Never raises: failures are in the record."""
        import httpx  # imported on first use: keeps the server's start fast

        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            with pinned_client(allow_private=self._allow_private, what="webhook_url", timeout=self._timeout) as client:
                resp = client.post(self.url, content=event.body, headers=self.headers(event, attempt))
            status = resp.status_code
            if not 200 <= status < 300:
                error = f"receiver answered HTTP {status}"
        except UrlNotAllowed as e:
            error = e.message
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: {e}"
        except Exception as e:  # never let delivery break the job or the dispatcher
            log.exception("webhook %s: unexpected error", event.id)
            error = f"{type(e).__name__}: {e}"
        return WebhookDeliveryRecord(event_id=event.id, event=event.type, attempt=attempt, at=now_iso(),
                                     ok=error is None, status_code=status, error=error,
                                     seconds=round(time.monotonic() - started, 3))


class WebhookDispatcher:
    """Runs webhook attempts in the background of this process (the embedded queue's way).

    ``attempt(pending)`` makes one attempt and returns the seconds to wait before the next one,
    or None when the event is done (delivered, or given up). One chain of attempts per event id
    at a time: sending an event already on its way again is a no-op.
    """

    def __init__(self, attempt: Callable[[PendingEvent], float | None], *, threads: int = 4) -> None:
        self._attempt = attempt
        self._heap: list[tuple[float, int, PendingEvent]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._active: set[str] = set()  # event ids scheduled or in flight
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhook")
        self._thread = threading.Thread(target=self._loop, name="webhook-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def send(self, pending: PendingEvent) -> None:
        """Schedule ``pending`` (now, or at its ``not_before``), unless its event is already on its
        way. Never raises."""
        with self._cond:
            if pending.event.id in self._active:
                return
            self._active.add(pending.event.id)
        self._schedule(pending, max(0.0, pending.not_before - time.time()))

    def _schedule(self, pending: PendingEvent, delay: float) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), pending))
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopping:
                    return
                _, _, pending = heapq.heappop(self._heap)
            self._pool.submit(self._run, pending)

    def _run(self, pending: PendingEvent) -> None:
        try:
            delay = self._attempt(pending)
        except Exception:  # the attempt's bookkeeping broke (a store outage): the event stays pending
            log.exception("webhook %s: delivery bookkeeping failed", pending.event.id)
            delay = None
        if delay is None:
            with self._cond:
                self._active.discard(pending.event.id)
        else:
            self._schedule(replace(pending, attempt=pending.attempt + 1), delay)
