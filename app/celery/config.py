"""Celery settings, configuration, task names and the app factory (``LESSONLENS_QUEUE=celery``).

Long video jobs shape the configuration: a message is acknowledged only after its job ended
(``acks_late``), each worker process reserves one message at a time (prefetch 1), and the Redis
visibility timeout, after which an unacknowledged message is handed to another worker, is set
above the longest job. A worker process that dies mid-job therefore loses nothing: the broker
delivers the job again and ``app.celery.worker`` takes it over.

Jobs are routed by stage: ``LESSONLENS_CELERY_STAGE_QUEUES=subtitles=speech,ocr=cpu`` sends a job
to the queue of its first mapped stage, so speech can run on GPU workers and OCR on CPU workers;
everything else (and webhook deliveries) goes to ``LESSONLENS_CELERY_DEFAULT_QUEUE``.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from celery import Celery
from kombu.entity import Queue as KombuQueue
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.jobs import Job
from app.settings import Settings

log = logging.getLogger(__name__)

# The task names: what the producer sends and the workers register.
RUN_JOB_TASK = "lessonlens.run_job"
WEBHOOK_TASK = "lessonlens.deliver_webhook"
BATCH_WEBHOOK_TASK = "lessonlens.deliver_batch_webhook"


class CelerySettings(BaseSettings):
    """Settings of the Celery queue only (prefix ``LESSONLENS_CELERY_``); the rest is ``Settings``."""

    model_config = SettingsConfigDict(env_prefix="LESSONLENS_CELERY_", env_file=".env", extra="ignore")

    default_queue: str = Field(default="lessonlens", description="Queue of jobs with no mapped stage.")
    stage_queues: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="Stage -> queue, `subtitles=speech,ocr=cpu`; a job goes to its first mapped stage's queue.")
    visibility_timeout_s: int = Field(
        default=12 * 3600, ge=1,
        description="Redis: seconds before an unacknowledged job is delivered again. Keep it above the "
                    "longest job, or a running job is handed to a second worker.")
    restore_interval_s: int = Field(
        default=10, ge=1, description="Redis: how often workers look for messages past the visibility timeout.")
    key_prefix: str = Field(default="", description="Redis: prefix of every broker key (several setups, one Redis).")
    preload_models: bool = Field(default=True, description="Load the default ASR model when a worker process starts.")

    @field_validator("stage_queues", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().startswith("{"):
            return json.loads(value)
        if isinstance(value, str):
            mapping: dict[str, str] = {}
            for part in filter(str.strip, value.split(",")):
                stage, sep, queue = part.partition("=")
                if not sep or not stage.strip() or not queue.strip():
                    raise ValueError(f"expected stage=queue pairs such as subtitles=speech,ocr=cpu; got {part!r}")
                mapping[stage.strip()] = queue.strip()
            return mapping
        return value

    def all_queues(self) -> list[str]:
        """Every queue name in use, the default first."""
        names = [self.default_queue]
        names += [q for q in self.stage_queues.values() if q not in names]
        return names

    def queue_for(self, stages: tuple[str, ...] | list[str]) -> str:
        """The queue of a job running ``stages``: its first stage that has a queue of its own."""
        for stage in stages:
            if stage in self.stage_queues:
                return self.stage_queues[stage]
        return self.default_queue


def celery_config(settings: Settings, options: CelerySettings) -> dict[str, Any]:
    """The Celery configuration for ``settings`` (exposed for tests and ``docs/scaling.md``)."""
    transport: dict[str, Any] = {}
    if settings.broker_url.startswith(("redis://", "rediss://", "sentinel://")):
        transport = {"visibility_timeout": options.visibility_timeout_s,
                     "unacked_restore_interval": options.restore_interval_s,
                     "unacked_restore_throttle": 1}
        if options.key_prefix:
            transport["global_keyprefix"] = options.key_prefix
    return {
        "broker_url": settings.broker_url,
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,  # a killed pool process: the job goes back to the queue
        "task_acks_on_failure_or_timeout": True,
        "task_ignore_result": True,  # the job store is the result; no result backend
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_prefetch_multiplier": 1,
        "worker_send_task_events": False,
        "worker_hijack_root_logger": False,
        "task_default_queue": options.default_queue,
        "task_queues": [KombuQueue(name) for name in options.all_queues()],  # type: ignore[no-untyped-call]
        "task_routes": {name: {"queue": options.default_queue} for name in (WEBHOOK_TASK, BATCH_WEBHOOK_TASK)},
        "task_create_missing_queues": True,
    }


def make_celery(settings: Settings, options: CelerySettings) -> Celery:
    """A Celery app configured from settings, without tasks: enough to send them (the API's
    ``CeleryQueue``); ``app.celery.worker.make_worker_app`` adds the tasks."""
    app = Celery("lessonlens", set_as_current=False)
    app.config_from_object(celery_config(settings, options))
    return app


def send_job(app: Celery, options: CelerySettings, job: Job) -> None:
    """Send one job's message (its id) to the queue of its stages; raises when the broker cannot
    take it (``app.lifecycle.Upkeep`` keeps it in the outbox and tries again)."""
    app.send_task(RUN_JOB_TASK, args=[job.id], queue=options.queue_for(job.stages),
                  retry=False)  # fail fast: the outbox retries, a blocked sender would stall the others
