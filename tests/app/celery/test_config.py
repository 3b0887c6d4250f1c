"""Celery configuration from settings (no broker needed; the real one: test_distributed.py)."""

from __future__ import annotations

import pytest

from app.celery.config import BATCH_WEBHOOK_TASK, WEBHOOK_TASK, CelerySettings, celery_config
from app.settings import Settings


def test_stage_queues_from_the_environment_route_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LESSONLENS_CELERY_STAGE_QUEUES", "subtitles=speech, ocr=cpu")
    options = CelerySettings()
    assert options.stage_queues == {"subtitles": "speech", "ocr": "cpu"}
    assert options.all_queues() == ["lessonlens", "speech", "cpu"]
    assert options.queue_for(("subtitles", "ocr")) == "speech"
    assert options.queue_for(["ocr", "classify"]) == "cpu"
    assert options.queue_for(("classify",)) == "lessonlens"


def test_config_for_long_jobs_on_redis() -> None:
    options = CelerySettings(visibility_timeout_s=7200, key_prefix="t:")
    conf = celery_config(Settings(broker_url="redis://127.0.0.1:6379/3"), options)
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["broker_transport_options"]["visibility_timeout"] == 7200
    assert conf["broker_transport_options"]["global_keyprefix"] == "t:"
    assert conf["task_routes"][WEBHOOK_TASK] == conf["task_routes"][BATCH_WEBHOOK_TASK] == {"queue": "lessonlens"}


def test_rabbitmq_gets_no_redis_transport_options() -> None:
    conf = celery_config(Settings(broker_url="amqp://guest:guest@127.0.0.1:5672//"), CelerySettings())
    assert conf["broker_transport_options"] == {}


def test_a_bad_stage_queue_mapping_says_what_is_expected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LESSONLENS_CELERY_STAGE_QUEUES", "subtitles")
    with pytest.raises(ValueError, match="expected stage=queue pairs"):
        CelerySettings()
