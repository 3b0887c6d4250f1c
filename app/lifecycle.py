"""The job lifecycle, written once for both queues: a job ends, is announced, lost, recovered.

- **Ending** (``JobLifecycle.finished``): after a job's end is stored, count it, send its webhook
  and, when it was the last job of a batch, mark the batch finished and send ``batch.finished``.
  The in-process queue and the API call it from their threads; a Celery worker from its tasks.
- **Webhooks** (``WebhookPolicy``): which attempt is next, one signed attempt recorded on the job
  (``WebhookState``) and counted, and the backoff before the next: attempt ``n + 1`` waits
  ``backoff_s * 2 ** (n - 1)`` after attempt ``n``, so with the defaults (6 tries, 20 s) retries
  come after 20, 40, 80, 160 and 320 s, about 10 minutes in all. The wait is counted from the
  last attempt in the job's delivery log, so a process that resumes an event after a restart
  waits out what is left of it. Only the way an attempt is
  scheduled differs: ``LocalWebhooks`` runs them on the API process's threads, the Celery
  worker (``app.celery.worker``) as tasks with a countdown; both are a ``Notifier``.
- **Recovery** (``JobLifecycle.recover``): a job left ``running`` by a dead process (the server at
  start-up, or a lost Celery worker whose message came back) is queued again within
  ``LESSONLENS_MAX_ATTEMPTS``, else failed with the reason, or cancelled if that was asked for.
- **Leases** (``JobLifecycle.reap``, run by ``Upkeep`` in every process of the distributed setup):
  a running job holds a lease its worker renews (``app.worker``); one that lapses is recovered
  the same way, and the late worker's writes are refused by the store (fencing by token), so no
  job ends twice. ``Upkeep`` also sends the outbox: queued jobs with no broker message yet.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from app.exceptions import UrlNotAllowed
from app.jobs import (
    Batch,
    BatchStatus,
    BatchSummary,
    Job,
    JobStatus,
    StageState,
    StageStatus,
    WebhookDeliveryRecord,
    WebhookState,
    aggregate,
    not_run,
    now_iso,
)
from app.webhooks import (
    PendingEvent,
    WebhookDelivery,
    WebhookDispatcher,
    WebhookEvent,
    batch_event,
    job_event,
)

if TYPE_CHECKING:
    from app.metrics import JobMetrics
    from app.settings import Settings
    from app.store import JobStore

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- webhooks


@dataclass(frozen=True)
class WebhookAttempt:
    """What one attempt came to: its record (None: the URL was refused), the job's webhook state
    after it, and the seconds before the next attempt (None: no next attempt)."""

    record: WebhookDeliveryRecord | None
    state: WebhookState
    retry_in: float | None

    @property
    def outcome(self) -> str:
        """``delivered``, the error, or ``not allowed`` (what a Celery task reports)."""
        if self.record is None:
            return "not allowed"
        return "delivered" if self.record.ok else self.record.error or "failed"


class WebhookPolicy:
    """Attempts, retries and backoff of webhook events, and their record on the job."""

    def __init__(self, store: JobStore, metrics: JobMetrics, secret: str, *, tries: int = 6,
                 backoff_s: float = 20, timeout_s: float = 10, allow_private: bool = False) -> None:
        self._store = store
        self._metrics = metrics
        self._secret = secret
        self.tries = tries
        self.backoff_s = backoff_s
        self._timeout = timeout_s
        self._allow_private = allow_private

    @classmethod
    def from_settings(cls, store: JobStore, metrics: JobMetrics, settings: Settings) -> WebhookPolicy:
        """The policy of ``LESSONLENS_WEBHOOK_*`` settings."""
        return cls(store, metrics, settings.webhook_secret.get_secret_value(), tries=settings.webhook_tries,
                   backoff_s=settings.webhook_backoff_s, timeout_s=settings.webhook_timeout_s,
                   allow_private=settings.allow_private_urls)

    def delay(self, attempt: int) -> float:
        """Seconds between attempt ``attempt`` (failed) and the next."""
        return self.backoff_s * 2.0 ** (attempt - 1)

    def due(self, job: Job) -> PendingEvent | None:
        """The job's end event and its next attempt, or None: no webhook, not ended, already
        delivered, or out of tries. Tries and backoff are counted from the job's delivery log, so
        they survive restarts: the next attempt is not due before the backoff after the last one
        (``not_before``) has passed."""
        if not job.webhook_url or not job.status.terminal:
            return None
        event = job_event(job)
        tried = [d for d in job.deliveries if d.event_id == event.id]
        if any(d.ok for d in tried) or len(tried) >= self.tries:
            return None
        not_before = 0.0
        if tried:
            # A last attempt stamped in the future (the clock was set back) waits one backoff, no more.
            last = min(datetime.fromisoformat(tried[-1].at).timestamp(), time.time())
            not_before = last + self.delay(len(tried))
        return PendingEvent(event, job.webhook_url, len(tried) + 1, not_before)

    def batch_due(self, batch: Batch, summary: BatchSummary, attempt: int = 1) -> PendingEvent | None:
        """Attempt ``attempt`` of a finished batch's event, or None: no webhook, or not finished
        (a batch keeps no delivery log: the attempt number travels with the caller)."""
        if not batch.webhook_url or summary.status == BatchStatus.RUNNING:
            return None
        return PendingEvent(batch_event(batch, summary), batch.webhook_url, attempt)

    def attempt(self, pending: PendingEvent) -> WebhookAttempt:
        """One signed POST of the event: recorded on its job (a batch event is only logged),
        counted, and followed by the delay before the next attempt when one is left."""
        event, attempt = pending.event, pending.attempt
        try:
            delivery = WebhookDelivery(pending.url, self._secret, allow_private=self._allow_private,
                                       timeout_s=self._timeout, resolve=False)
        except UrlNotAllowed as e:  # no signing secret on this process: nothing can be sent
            log.warning("webhook %s not sent: %s", event.id, e.message)
            return WebhookAttempt(None, WebhookState.FAILED, None)
        record = delivery.attempt(event, attempt)
        final = record.ok or attempt >= self.tries
        state = (WebhookState.DELIVERED if record.ok else
                 WebhookState.FAILED if final else WebhookState.PENDING)
        if event.job_id:
            self._store.add_delivery(event.job_id, record, state)
        self._metrics.webhook_attempt(record)
        if record.ok:
            log.info("webhook %s delivered (attempt %d, HTTP %s) to %s", event.id, attempt, record.status_code,
                     pending.url)
            return WebhookAttempt(record, state, None)
        if final:
            log.warning("webhook %s to %s failed for good after %d attempts: %s", event.id, pending.url,
                        attempt, record.error)
            return WebhookAttempt(record, state, None)
        delay = self.delay(attempt)
        log.info("webhook %s attempt %d failed (%s); retry in %.1f s", event.id, attempt, record.error, delay)
        return WebhookAttempt(record, state, delay)


class Notifier(Protocol):
    """How a process has a job's or a batch's webhook sent (the caller checked there is a URL)."""

    def job_ended(self, job: Job) -> None: ...

    def batch_ended(self, batch: Batch, summary: BatchSummary) -> None: ...


class LocalWebhooks:
    """``Notifier`` of an API process: attempts run on a ``WebhookDispatcher``'s threads, and
    events still pending in the store (a previous process stopped) resume on ``start`` or
    ``resume``."""

    def __init__(self, store: JobStore, policy: WebhookPolicy, *, threads: int = 4) -> None:
        self._store = store
        self.policy = policy
        self._dispatcher = WebhookDispatcher(lambda pending: policy.attempt(pending).retry_in, threads=threads)

    def start(self, *, resume: bool = True) -> None:
        """Start sending; with ``resume``, also the events left pending in the store."""
        self._dispatcher.start()
        if resume:
            self.resume()

    def resume(self) -> None:
        """Send the events still pending in the store (a previous process stopped before it could):
        the process that runs the embedded queue's jobs does it when it takes that role."""
        for job in self._store.pending_webhooks():
            self.job_ended(job)

    def stop(self) -> None:
        self._dispatcher.stop()

    def job_ended(self, job: Job) -> None:
        pending = self.policy.due(job)
        if pending is not None:
            wait = pending.not_before - time.time()
            if wait > 0:
                log.info("webhook %s attempt %d resumes in %.1f s (the backoff after attempt %d)",
                         pending.event.id, pending.attempt, wait, pending.attempt - 1)
            self._dispatcher.send(pending)

    def batch_ended(self, batch: Batch, summary: BatchSummary) -> None:
        pending = self.policy.batch_due(batch, summary)
        if pending is not None:
            self._dispatcher.send(pending)

    def send(self, event: WebhookEvent, url: str) -> None:
        """Send an event that ends neither a job nor a batch (``translation.merged``): attempted
        now and retried by the same policy (a job's event is recorded on its job). Never raises."""
        self._dispatcher.send(PendingEvent(event, url))


# ---------------------------------------------------------------- recovery


@dataclass(frozen=True)
class Interruption:
    """What stopped a running job, in the words of what it leaves on the job."""

    cause: str  # "... during attempt 2", "interrupted: ... while this stage ran"
    cancel_note: str  # "cancelled by request (...)"
    by: str  # "interrupted 3 time(s) by ..."


SERVER_STOPPED = Interruption("the server stopped", "the server stopped meanwhile", "a server stop or crash")
WORKER_LOST = Interruption("its worker was lost", "its worker was lost", "a lost worker")
LEASE_LAPSED = Interruption("its worker stopped renewing its lease", "its worker was lost",
                            "a lost worker (lease lapsed)")


def interrupted(job: Job, how: Interruption, max_attempts: int) -> Job:
    """``job``, found ``running`` after its process died, as it is to be stored: queued again
    while attempts are left, else failed with the reason (cancelled if that was asked for); no
    stage is left ``running``, nor, once it ends, ``pending`` (``app.jobs.not_run``)."""
    retry = not job.cancel_requested and job.attempts < max_attempts
    if job.cancel_requested:
        status, error = JobStatus.CANCELLED, f"cancelled by request ({how.cancel_note})"
    elif retry:
        status, error = JobStatus.QUEUED, f"attempt {job.attempts} was interrupted ({how.cause}); retrying"
    else:
        status, error = JobStatus.FAILED, (f"interrupted {job.attempts} time(s) by {how.by} "
                                           f"(limit LESSONLENS_MAX_ATTEMPTS={max_attempts}); submit it again")
    stages = {}
    halted = None  # the stage that was running
    for name, state in job.stage_states.items():
        if state.status == StageStatus.RUNNING:
            halted = halted or name
            state = (StageState() if retry else
                     StageState(StageStatus.FAILED, state.progress, state.started_at, now_iso(),
                                error=f"interrupted: {how.cause} while this stage ran"))
        stages[name] = state
    if retry:
        return job.with_changes(status=status, error=error, stage_states=stages, started_at=None)
    why = ("the job was cancelled" if status == JobStatus.CANCELLED else
           f"stage {halted} failed" if halted else f"the job was interrupted ({how.cause})")
    return job.with_changes(status=status, error=error, stage_states=not_run(stages, why), finished_at=now_iso(),
                            webhook_state=WebhookState.PENDING if job.webhook_url else job.webhook_state)


# ---------------------------------------------------------------- the lifecycle


class JobLifecycle:
    """Ends, announces and recovers the jobs of one process, the same way for every queue."""

    def __init__(self, store: JobStore, metrics: JobMetrics, webhooks: Notifier, max_attempts: int) -> None:
        self._store = store
        self._metrics = metrics
        self._webhooks = webhooks
        self._max_attempts = max_attempts

    def finished(self, job: Job) -> None:
        """After ``job``'s end was stored: count it, send its webhook, finish its batch if it was
        the batch's last job. Never raises: the job's end stands whatever happens here."""
        try:
            self._metrics.job_finished(job)
        except Exception:
            log.exception("%s: could not be counted", job.id)
        if job.webhook_url:
            try:
                self._webhooks.job_ended(job)
            except Exception:  # the broker is down: the batch bookkeeping below must still run
                log.exception("%s: could not send or queue its webhook", job.id)
        if job.batch_id:
            self.settle_batch(job.batch_id)

    def settle_batch(self, batch_id: str) -> bool:
        """Mark the batch finished if every job of it has ended, and send ``batch.finished``.

        Runs after each job of a batch ends, and after the API stores a batch (its jobs may all
        have ended before it was stored). ``store.finish_batch`` succeeds for one caller only, so
        the event goes once per batch, even when two workers end its last jobs at the same moment
        (each reads the jobs after its own job's end is stored, so the later one sees both ended).
        Never raises.

        Returns:
            True for the one call that finished the batch.
        """
        try:
            batch = self._store.get_batch(batch_id)
            if batch is None or batch.finished_at:
                return False
            summary = aggregate(self._store.get_many(batch.job_ids), made_jobs=bool(batch.job_ids))
            if summary.status == BatchStatus.RUNNING or not self._store.finish_batch(batch_id):
                return False
        except Exception:
            log.exception("batch %s: finishing bookkeeping failed", batch_id)
            return False
        log.info("batch %s finished: %s %s", batch_id, summary.status.value, summary.counts)
        if batch.webhook_url:
            try:
                self._webhooks.batch_ended(batch, summary)
            except Exception:  # the batch stays finished; its webhook is lost, and the log says so
                log.exception("batch %s: finished, but its webhook could not be sent or queued", batch_id)
        return True

    def reap(self) -> list[Job]:
        """Jobs whose worker stopped renewing their lease (killed, frozen, cut off): queued again
        (and marked for the outbox) or ended, as ``recover`` does. Any process may call it; the
        store lets one reaper at a time take each job. Returns them as stored."""
        reaped = self._store.reap(lambda job: interrupted(job, LEASE_LAPSED, self._max_attempts))
        self._announce(reaped, LEASE_LAPSED)
        return reaped

    def recover(self, how: Interruption, job_id: str | None = None) -> list[Job]:
        """Jobs left ``running`` by a dead process (every one, or only ``job_id``): queued again
        or ended (``interrupted``); the ended ones go through ``finished``. Returns them as stored."""
        recovered = self._store.recover(lambda job: interrupted(job, how, self._max_attempts), job_id)
        self._announce(recovered, how)
        return recovered

    def _announce(self, jobs: list[Job], how: Interruption) -> None:
        for job in jobs:
            if job.status == JobStatus.QUEUED:
                log.warning("%s: %s during attempt %d; queued again", job.id, how.cause, job.attempts)
            else:
                log.warning("%s: %s: %s", job.id, job.status.value, job.error)
                self.finished(job)


# ---------------------------------------------------------------- upkeep: reaper and outbox


class Upkeep:
    """A thread of every API and worker process (distributed setup), and of the leader process of
    the embedded one (``app.queue.EmbeddedQueue``): every ``every_s`` seconds it reaps lapsed
    leases (``JobLifecycle.reap``) and sends the queued jobs no broker message was confirmed for
    (the outbox: a job row and its mark are written in one transaction, so a crash or a broker
    outage after the 201 loses nothing; it is sent once the broker answers).

    ``publish(job)`` sends one message and raises when the broker is unreachable; ``broker_error``
    then says why until a send succeeds (``/readyz`` shows it).
    """

    def __init__(self, store: JobStore, lifecycle: JobLifecycle, publish: Callable[[Job], None], *,
                 every_s: float = 5.0) -> None:
        self._store = store
        self._lifecycle = lifecycle
        self._publish = publish
        self._every_s = every_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.broker_error: str | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="upkeep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def poke(self) -> None:
        """Run a round now (a job was just stored)."""
        self._wake.set()

    def run_once(self) -> int:
        """One round: reap, then publish. Returns how many jobs were published."""
        try:
            self._lifecycle.reap()
        except Exception:
            log.exception("reaping lapsed leases failed; the next round tries again")
        return self.publish_pending()

    def publish_pending(self) -> int:
        """Send every unpublished queued job, oldest first; stops at the first broker failure."""
        sent = 0
        try:
            pending = self._store.unpublished()
        except Exception:
            log.exception("reading the outbox failed; the next round tries again")
            return 0
        for job in pending:
            try:
                self._publish(job)
            except Exception as e:
                if self.broker_error is None:
                    log.warning("broker unreachable (%s: %s): %d job(s) wait in the outbox", type(e).__name__, e,
                                len(pending) - sent)
                self.broker_error = f"{type(e).__name__}: {e}"
                return sent
            self._store.mark_published(job.id)
            sent += 1
        if self.broker_error is not None:
            log.info("broker reachable again: %d job(s) sent from the outbox", sent)
        self.broker_error = None
        return sent

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._wake.wait(self._every_s)
            self._wake.clear()
