"""``CeleryQueue``: the ``Queue`` of the API process with ``LESSONLENS_QUEUE=celery``.

It sends job ids to the broker through the outbox (a message carries only the id; the store
stays the truth), reaps lapsed leases, and reads the broker's queue depths. It runs no jobs and builds no worker: ``lessonlens worker``
processes (``app.celery.worker``) do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from celery import Celery
from kombu.exceptions import ChannelError

from app.celery.config import CelerySettings, make_celery, send_job
from app.jobs import JobStatus
from app.lifecycle import JobLifecycle, Upkeep
from app.settings import Settings
from app.store import JobStore

log = logging.getLogger(__name__)

_CACHE_S = 2.0


class CeleryQueue:
    """``Queue`` that sends job ids to Celery through the outbox. The API process runs no workers.

    A submitted job's row carries its "to publish" mark (``store.create``); ``enqueue`` only wakes
    the process's ``Upkeep``, which sends it, clears the mark, retries while the broker is down
    and reaps lapsed leases. So a crash after the 201, or a broker outage, loses no job.
    """

    def __init__(self, settings: Settings, store: JobStore, lifecycle: JobLifecycle,
                 options: CelerySettings | None = None, app: Celery | None = None) -> None:
        self._settings = settings
        self._store = store
        self._options = options or CelerySettings()
        self._app = app or make_celery(settings, self._options)
        self._upkeep = Upkeep(store, lifecycle, lambda job: send_job(self._app, self._options, job),
                              every_s=settings.upkeep_every_s)
        self._cached: dict[str, tuple[float, Any]] = {}

    def start(self) -> None:
        log.info("jobs go to Celery at %s, queues %s", _redact(self._settings.broker_url),
                 ",".join(self._options.all_queues()))
        self._upkeep.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._upkeep.stop()
        self._app.close()

    def enqueue(self, job_id: str) -> None:
        self._upkeep.poke()

    def unready(self) -> str | None:
        error = self._upkeep.broker_error
        if error is None and self.alive():
            return None
        waiting = len(self._store.unpublished())
        return (f"the broker at {_redact(self._settings.broker_url)} is unreachable"
                f"{f' ({error})' if error else ''}; {waiting} accepted job(s) wait in the outbox and are "
                "sent when it answers")

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
