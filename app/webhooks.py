"""Signed webhook delivery: URL rules, HMAC-SHA256 signatures, retries with backoff, a delivery log.

A ``WebhookDelivery`` validates its URL when built (http/https only; private, loopback,
link-local and reserved addresses refused unless allowed) and makes one signed attempt at a
time, never raising. ``WebhookDispatcher`` runs in the background: it schedules attempts with
exponential backoff, records each one on the job, and resumes pending events after a restart.
Delivery is at least once; the event id stays the same across retries and restarts so a
receiver can drop duplicates.

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
from dataclasses import dataclass
from typing import Any

from app.exceptions import UrlNotAllowed
from app.jobs import Job, WebhookDeliveryRecord, now_iso
from app.store import JobStore
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


def batch_event(batch: Any, summary: Any) -> WebhookEvent:
    """The one event announcing that every job of a batch ended (``app.batches``)."""
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
    """Background delivery with exponential backoff; records every attempt on the job.

    Attempt ``n`` (1-based) waits ``backoff_s * 2 ** (n - 2)`` after attempt ``n - 1``: with the
    defaults (6 tries, 20 s) retries come after 20, 40, 80, 160 and 320 s, about 10 minutes in all.
    """

    def __init__(self, store: JobStore, secret: str, *, tries: int = 6, backoff_s: float = 20,
                 timeout_s: float = 10, allow_private: bool = False, threads: int = 4,
                 on_attempt: Callable[[WebhookDeliveryRecord], None] = lambda r: None) -> None:
        self._store = store
        self._secret = secret
        self._tries = tries
        self._backoff = backoff_s
        self._timeout = timeout_s
        self._allow_private = allow_private
        self._on_attempt = on_attempt
        self._heap: list[tuple[float, int, WebhookEvent, str, int]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._active: set[str] = set()  # event ids scheduled or in flight: one delivery chain each
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhook")
        self._thread = threading.Thread(target=self._loop, name="webhook-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()
        for job in self._store.pending_webhooks():  # events a previous process did not finish
            self.job_finished(job)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def job_finished(self, job: Job) -> None:
        """Schedule the job's end event (no-op without a webhook). Never raises."""
        if not job.webhook_url or not job.status.terminal:
            return
        event = job_event(job)
        done = sum(1 for d in job.deliveries if d.event_id == event.id)
        if any(d.ok for d in job.deliveries if d.event_id == event.id) or done >= self._tries:
            return
        with self._cond:
            if event.id in self._active:
                return
            self._active.add(event.id)
        self._schedule(event, job.webhook_url, done + 1, 0.0)

    def send(self, event: WebhookEvent, url: str) -> None:
        """Schedule an event that belongs to no single job (a batch's end). Never raises."""
        with self._cond:
            if event.id in self._active:
                return
            self._active.add(event.id)
        self._schedule(event, url, 1, 0.0)

    def _schedule(self, event: WebhookEvent, url: str, attempt: int, delay: float) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), event, url, attempt))
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopping:
                    return
                _, _, event, url, attempt = heapq.heappop(self._heap)
            self._pool.submit(self._deliver, event, url, attempt)

    def _deliver(self, event: WebhookEvent, url: str, attempt: int) -> None:
        try:
            delivery = WebhookDelivery(url, self._secret, allow_private=self._allow_private,
                                       timeout_s=self._timeout, resolve=False)
            record = delivery.attempt(event, attempt)
            final = record.ok or attempt >= self._tries
            state = "delivered" if record.ok else ("failed" if final else "pending")
            if event.job_id:  # a batch event has no job to log on; its outcome is in the log
                self._store.add_delivery(event.job_id, record, state)
            self._on_attempt(record)
            if final:
                with self._cond:
                    self._active.discard(event.id)
            if record.ok:
                log.info("webhook %s delivered to %s (attempt %d)", event.id, url, attempt)
            elif final:
                log.warning("webhook %s to %s failed for good after %d attempts: %s",
                            event.id, url, attempt, record.error)
            else:
                delay = self._backoff * 2 ** (attempt - 1)
                log.info("webhook %s attempt %d failed (%s); retry in %.1f s", event.id, attempt,
                         record.error, delay)
                self._schedule(event, url, attempt + 1, delay)
        except Exception:
            log.exception("webhook %s: delivery bookkeeping failed", event.id)
