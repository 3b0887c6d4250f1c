"""``CeleryQueue``: the ``Queue`` of the API process with ``LESSONLENS_QUEUE=celery``.

It sends job ids to the broker (a message carries only the id; the store stays the truth) and
reads the broker's queue depths. It runs no jobs and builds no worker: ``lessonlens worker``
processes (``app.celery.worker``) do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from celery import Celery
from kombu.exceptions import ChannelError

from app.celery.config import RUN_JOB_TASK, CelerySettings, make_celery
from app.jobs import JobStatus
from app.settings import Settings
from app.store import JobStore

log = logging.getLogger(__name__)

_CACHE_S = 2.0


class CeleryQueue:
    """``Queue`` that sends job ids to Celery. The API process runs no workers."""

    def __init__(self, settings: Settings, store: JobStore, options: CelerySettings | None = None,
                 app: Celery | None = None) -> None:
        self._settings = settings
        self._store = store
        self._options = options or CelerySettings()
        self._app = app or make_celery(settings, self._options)
        # Sending blocks on the broker; callers include async routes, so one thread sends, in order.
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="celery-send")
        self._cached: dict[str, tuple[float, Any]] = {}

    def start(self) -> None:
        log.info("jobs go to Celery at %s, queues %s", _redact(self._settings.broker_url),
                 ",".join(self._options.all_queues()))

    def stop(self, timeout_s: float = 10.0) -> None:
        self._sender.shutdown(wait=True)
        self._app.close()

    def enqueue(self, job_id: str) -> None:
        self._sender.submit(self._send, job_id)

    def _send(self, job_id: str) -> None:
        try:
            job = self._store.get(job_id)
            if job is None:
                return
            queue = self._options.queue_for(job.stages)
            self._app.send_task(RUN_JOB_TASK, args=[job_id], queue=queue)
            log.debug("%s: sent to queue %s", job_id, queue)
        except Exception:  # the job stays queued in the store; the error must be seen
            log.exception("%s: could not be sent to the broker; it stays queued", job_id)

    def _cached_value(self, key: str, compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        hit = self._cached.get(key)
        if hit is not None and now - hit[0] < _CACHE_S:
            return hit[1]
        value = compute()
        self._cached[key] = (now, value)
        return value

    def depth(self) -> int:
        def count() -> int:
            total = 0
            try:
                with self._app.connection_for_read() as conn:
                    # RabbitMQ: passive, or it would declare the queue with other flags than Celery's.
                    # Redis: a declare only records a binding, and kombu's passive check misses prefixed keys.
                    passive = conn.transport.driver_type != "redis"
                    for name in self._options.all_queues():
                        with conn.channel() as channel:  # a failed declare closes its channel
                            try:
                                total += int(channel.queue_declare(queue=name, passive=passive).message_count)
                            except ChannelError:  # not declared yet by any worker: nothing waits
                                continue
            except Exception as e:
                log.warning("queue depth unknown: %s: %s", type(e).__name__, e)
                return -1
            return total

        return int(self._cached_value("depth", count))

    def alive(self) -> bool:
        """Whether the broker answers (workers are separate processes, scaled on their own)."""
        def ping() -> bool:
            try:
                with self._app.connection_for_write() as conn:
                    conn.ensure_connection(max_retries=1, timeout=2)
                return True
            except Exception as e:
                log.warning("broker unreachable: %s: %s", type(e).__name__, e)
                return False

        return bool(self._cached_value("alive", ping))

    def busy(self) -> int:
        """Jobs running on any worker (from the store, the one place all workers report to)."""
        return int(self._store.count_by_status().get(JobStatus.RUNNING.value, 0))


def _redact(url: str) -> str:
    head, at, tail = url.rpartition("@")
    return f"{head.split('://')[0]}://***@{tail}" if at else url
