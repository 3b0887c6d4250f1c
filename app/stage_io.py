"""What stages share: their context, their outcome, and atomic file writing."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.media import MediaInfo

if TYPE_CHECKING:
    from app.model_cache import ModelCache

Progress = Callable[[float], None]


@dataclass(frozen=True)
class StageOutcome:
    """What a stage did: ``succeeded`` or ``skipped`` (with a reason), a JSON-able summary, files."""

    status: str
    summary: dict[str, Any]
    files: tuple[str, ...] = ()
    reason: str | None = None
    seconds: float = 0.0


@dataclass
class StageContext:
    """Everything a stage may use. ``outputs`` holds the outcomes of earlier stages by name."""

    media_path: Path
    out_dir: Path
    models: ModelCache  # the worker's loaded models
    progress: Progress = lambda fraction: None
    outputs: dict[str, StageOutcome] = field(default_factory=dict)
    info: MediaInfo | None = None


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file under a temporary name and rename it into place (never half written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
