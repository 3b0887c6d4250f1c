"""Service settings, read from the environment (prefix ``LESSONLENS_``) or a ``.env`` file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from pipelines.models import DEFAULT_MODEL_DIR


def _split(value: object) -> object:
    """Comma-separated environment values -> list (a JSON list or a Python list also works)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def megabytes(n_bytes: float) -> str:
    """A size in MB for messages, as precise as a limit is set: ``2048``, ``1.5``, ``0.03``."""
    return f"{n_bytes / 1e6:.6g}"


class Settings(BaseSettings):
    """All settings of the service. Built once (CLI entry or app factory) and passed down."""

    model_config = SettingsConfigDict(env_prefix="LESSONLENS_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Job inputs, results and the SQLite store.")
    model_dir: Path = Field(default=DEFAULT_MODEL_DIR, description="Assembled model folders.")
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    cpu_threads: int = Field(default=0, description="Threads per model; 0 lets the engine decide.")
    # ---- a job's stages at the same time (issue 19)
    stage_overlap: bool = Field(
        default=True, description="Run a job's stages that do not need each other (subtitles and ocr) at once.")
    job_threads: int = Field(
        default=0, ge=0, description="CPU threads of one job, shared out between its stages running at once "
                                     "(Whisper's and OCR's); 0: the cores divided by the worker count.")
    malloc_mmap_threshold_kb: int = Field(
        default=32768, ge=0, le=32768,
        description="glibc's mmap threshold, KB, fixed (which keeps its heap trimmed; app.allocator); "
                    "0: glibc's sliding threshold.")
    ocr_runtime: Literal["onnxruntime", "openvino"] = Field(
        default="onnxruntime", description="What runs the OCR models on the CPU: openvino gives the same readings "
                                           "for ~15 % less CPU a job and ~200 MB more memory "
                                           "(pipelines.ocr.onnx_sessions).")
    lm_runtime: Literal["auto", "llama.cpp", "ctranslate2"] = Field(
        default="auto", description="Runtime of the fit stage's LM: auto is llama.cpp when it is built, "
                                    "else CTranslate2 (pipelines.fit.lm_ctranslate2).")

    # ---- job service (issue 3)
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the job store; default sqlite:///DATA_DIR/jobs.db. "
                    "postgresql+psycopg://... for the distributed setup.")
    queue: Literal["local", "celery"] = Field(default="local", description="Job queue implementation.")
    broker_url: str = Field(default="redis://localhost:6379/0", description="Celery broker (queue=celery).")
    workers: int = Field(default=1, ge=1, le=64, description="In-process worker threads (queue=local).")
    job_nice: int = Field(
        default=10, ge=0, le=19, description="Niceness of the in-process job threads and of every thread and "
                                             "program they start (queue=local): HTTP answers first; 0: as the server.")
    http_workers: int = Field(
        default=0, ge=0, le=64, description="HTTP processes of `lessonlens serve` (its --workers); 0: one per "
                                            "core, at most 8. Embedded: the job workers run in a process of "
                                            "their own.")
    leader_grace_s: float = Field(
        default=0, ge=0, le=60, description="How long a process that finds the leader lock free leaves it to "
                                            "another before taking it; `serve` sets 3 s for its HTTP processes, "
                                            "so the job process it restarts runs the jobs again.")
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Accepted bearer keys, comma-separated, each `key` or `id:key`; empty = no auth.")
    webhook_secret: SecretStr = Field(
        default=SecretStr(""), description="HMAC-SHA256 secret for webhook signatures; required for webhooks.")
    allowed_roots: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="Folders whose files may be submitted by path, comma-separated.")
    allow_private_urls: bool = Field(
        default=False, description="Allow webhook and source URLs on private/loopback addresses.")
    max_upload_mb: float = Field(default=2048, gt=0, description="Largest upload or URL download, MB.")
    url_timeout_s: float = Field(default=300, gt=0, description="Time limit for downloading a URL source.")
    queue_limit_per_key: int = Field(default=100, ge=1, description="Queued+running jobs per API key (429).")
    max_attempts: int = Field(default=3, ge=1, description="Tries of a job interrupted by a crash/restart.")
    webhook_tries: int = Field(default=6, ge=1, description="Delivery attempts per webhook event.")
    webhook_backoff_s: float = Field(
        default=20, ge=0, description="First retry delay; doubles each try (6 tries ~ 10 min).")
    webhook_timeout_s: float = Field(default=10, gt=0, description="Time limit of one webhook POST.")

    # ---- leases and the outbox (issue 18)
    lease_s: float = Field(
        default=60, gt=0, description="Life of a running job's lease; its worker renews it every third of it. "
                                      "A job whose lease lapses is queued again (its worker is presumed dead).")
    upkeep_every_s: float = Field(
        default=5, gt=0, description="How often a process reaps lapsed leases and sends unpublished jobs.")

    # ---- input limits (issue 18): checked at submit, answered with a 4xx naming the field
    max_duration_s: float = Field(default=4 * 3600, gt=0, description="Longest media accepted, seconds.")
    max_frame_pixels: int = Field(default=7680 * 4320, gt=0, description="Largest video frame, pixels (8K).")
    max_json_body_bytes: int = Field(default=1_000_000, gt=0, description="Largest JSON request body.")
    max_json_depth: int = Field(default=32, ge=2, description="Deepest nesting of any JSON input.")
    max_options_bytes: int = Field(default=65_536, gt=0, description="Largest `options` object, as JSON.")
    max_metadata_bytes: int = Field(default=16_384, gt=0, description="Largest `metadata` object, as JSON.")
    max_hotwords: int = Field(default=200, ge=0, description="Most hotwords per stage.")
    max_hotword_chars: int = Field(default=64, ge=1, description="Longest hotword, characters.")
    max_prompt_chars: int = Field(default=2000, ge=0, description="Longest initial_prompt, characters.")
    body_idle_timeout_s: float = Field(
        default=30, gt=0, description="A request body that sends nothing for this long ends with 408.")
    body_timeout_s: float = Field(default=3600, gt=0, description="Longest time to receive one request body.")

    @field_validator("api_keys", "allowed_roots", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _split(value)

    def threads_per_job(self) -> int:
        """``job_threads``, or the cores shared out between the in-process workers."""
        return self.job_threads or max(1, (os.cpu_count() or 1) // self.workers)

    def resolved_database_url(self) -> str:
        """The job store URL: ``database_url`` or a SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'jobs.db').resolve()}"

    def resolved_http_workers(self) -> int:
        """``http_workers``, or one per core (at most 8) when 0."""
        return self.http_workers or max(1, min(8, os.cpu_count() or 1))

    def api_key_ids(self) -> dict[str, str]:
        """Accepted keys -> their id (the job owner). Keys given without an id get a hash id."""
        ids: dict[str, str] = {}
        for entry in self.api_keys:
            key_id, sep, key = entry.partition(":")
            if not sep:
                key, key_id = entry, "key-" + hashlib.sha256(entry.encode()).hexdigest()[:8]
            ids[key] = key_id
        return ids
