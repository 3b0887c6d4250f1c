"""Service settings, read from the environment (prefix ``LESSONLENS_``) or a ``.env`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.models import DEFAULT_MODEL_DIR


class Settings(BaseSettings):
    """All settings of the service. Built once (CLI entry or app factory) and passed down."""

    model_config = SettingsConfigDict(env_prefix="LESSONLENS_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Job inputs, results and the SQLite store.")
    model_dir: Path = Field(default=DEFAULT_MODEL_DIR, description="Assembled model folders.")
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    cpu_threads: int = Field(default=0, description="Threads per model; 0 lets the engine decide.")

